"""Answers that are not a usable action raise InvalidActionError naming what is wrong (server path)."""

from __future__ import annotations

import json
import re

import pytest
from PIL import Image

from vlkit.errors import InvalidActionError, ModelOutputError
from vlkit.tools.gui._actions import DragAction, KeyAction, ScrollAction, TerminateAction, TypeAction
from vlkit.tools.gui._planner import GUIActionPlanner

SCREEN = Image.new("RGB", (1366, 768), "white")  # qwen2_5_vl, default budget: the model sees 588x308


def _call(arguments: dict, name: str = "computer_use") -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


@pytest.mark.parametrize(
    "answer, message",
    [
        (_call({"action": "left_click", "coordinate": [600, 20]}), "off-screen: x must be 0..587 and y 0..307"),
        (_call({"action": "left_click", "coordinate": [-1, 20]}), "off-screen"),
        (_call({"action": "fly", "coordinate": [1, 2]}), "unknown action 'fly' for desktop; valid actions: key, type"),
        (_call({"action": "left_click"}), "action 'left_click' needs coordinate"),
        (_call({"action": "type"}), "action 'type' needs text"),
        (_call({"action": "left_click", "coordinate": [1, 2]}, name="browser"), "unknown function 'browser'; call computer_use"),
        (_call({"action": "left_click", "coordinate": "center"}), "coordinate must be [x, y]"),
        ("I think the button is at the top.", "no computer_use call in the answer"),
        (_call({"action": "swipe", "coordinate": [1, 2], "coordinate2": [3, 4]}), "unknown action 'swipe' for desktop"),
    ],
)
def test_bad_answers_name_the_problem(answer: str, message: str, native_model: type) -> None:
    planner = GUIActionPlanner(model=native_model(family="qwen2_5_vl", answer=answer), family="qwen2_5_vl")
    with pytest.raises(InvalidActionError, match=re.escape(message)) as info:
        planner.plan(SCREEN, "Sign in")
    assert isinstance(info.value, ModelOutputError)  # agent loops feed these back to the model


def test_qwen3_bounds_are_the_relative_grid(native_model: type) -> None:
    answer = _call({"action": "click", "coordinate": [1001, 5]}, name="mobile_use")
    planner = GUIActionPlanner(model=native_model(family="qwen3_vl", answer=answer), family="qwen3_vl", device="mobile")
    with pytest.raises(InvalidActionError, match=r"x must be 0\.\.1000 .*told is 1000x1000"):
        planner.plan(SCREEN, "Tap")


def test_allowed_kinds_limit_the_function_and_the_answers(native_model: type) -> None:
    model = native_model(family="qwen3_vl", answer=_call({"action": "key", "keys": ["ctrl", "w"]}))
    planner = GUIActionPlanner(model=model, family="qwen3_vl", allowed_kinds=("left_click", "scroll"))
    with pytest.raises(InvalidActionError, match="unknown action 'key' for desktop; valid actions: left_click, scroll"):
        planner.plan(SCREEN, "Close the tab")
    tools = json.loads(model.seen[-1]["text"].split("<tools>\n")[1].split("\n</tools>")[0])
    assert tools["function"]["parameters"]["properties"]["action"]["enum"] == ["left_click", "scroll"]


@pytest.mark.parametrize(
    "family, device, arguments, expected",
    [
        ("qwen2_5_vl", "desktop", {"action": "left_click_drag", "coordinate": [294, 168]}, DragAction(kind="left_click_drag", x2=684, y2=420)),
        ("qwen2_5_vl", "desktop", {"action": "scroll", "pixels": -300}, ScrollAction(kind="scroll", amount=-300)),
        ("qwen2_5_vl", "desktop", {"action": "key", "keys": ["ctrl", "a"]}, KeyAction(kind="key", keys=["ctrl", "a"])),
        ("qwen3_vl", "mobile", {"action": "swipe", "coordinate": [500, 800], "coordinate2": [500, 200]}, DragAction(kind="swipe", x=683, y=614, x2=683, y2=153)),
        ("qwen3_vl", "mobile", {"action": "key", "text": "volume_up"}, KeyAction(kind="key", keys=["volume_up"])),
        ("qwen3_vl", "mobile", {"action": "type", "text": "héllo 你好"}, TypeAction(kind="type", text="héllo 你好")),
        ("qwen3_vl", "mobile", {"action": "terminate", "status": "success"}, TerminateAction(kind="terminate", status="success")),
    ],
)
def test_every_action_shape_converts(family: str, device: str, arguments: dict, expected, native_model: type) -> None:
    name = "mobile_use" if device == "mobile" else "computer_use"
    planner = GUIActionPlanner(model=native_model(family=family, answer=_call(arguments, name)), family=family, device=device)
    action = planner.plan(SCREEN, "do it")
    assert action.model_dump(exclude={"raw", "thought"}) == expected.model_dump(exclude={"raw", "thought"})


def test_qwen2_accepts_json_and_native_boxes(native_model: type) -> None:
    for answer in ['{"action": "left_click", "box": "(100,200),(300,400)"}', "<|box_start|>(100,200),(300,400)<|box_end|>"]:
        planner = GUIActionPlanner(model=native_model(family="qwen2_vl", answer=answer), family="qwen2_vl")
        action = planner.plan(SCREEN, "Click")
        assert (action.kind, action.x, action.y) == ("left_click", 273, 230)  # centre (200, 300)/1000 of 1366x768
    planner = GUIActionPlanner(model=native_model(family="qwen2_vl", answer="(100,200),(1300,400)"), family="qwen2_vl")
    with pytest.raises(InvalidActionError, match=r"box \(1300, 400\) is off-screen: x must be 0\.\.1000"):
        planner.plan(SCREEN, "Click")


def test_a_chat_model_without_a_family_is_a_user_error(native_model: type) -> None:
    from vlkit.errors import UnsupportedModelError

    with pytest.raises(UnsupportedModelError, match="pass family='qwen2_vl'"):
        GUIActionPlanner(model=native_model(family="qwen2_vl")).plan(SCREEN, "x")


def test_native_tool_calls_from_a_server_are_validated_too() -> None:
    """A server's native ``tool_calls`` (vLLM --tool-call-parser hermes) go through the same checks."""
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    def served(args: dict) -> FakeMessagesListChatModel:
        call = {"name": "computer_use", "args": args, "id": "call_1", "type": "tool_call"}
        return FakeMessagesListChatModel(responses=[AIMessage(content="", tool_calls=[call])])

    ok = GUIActionPlanner(model=served({"action": "left_click", "coordinate": [294, 154]}), family="qwen2_5_vl")
    assert ok.plan(SCREEN, "x").point == (684, 385)
    bad = GUIActionPlanner(model=served({"action": "left_click", "coordinate": [294, 400]}), family="qwen2_5_vl")
    with pytest.raises(InvalidActionError, match=r"coordinate \(294, 400\) is off-screen"):
        bad.plan(SCREEN, "x")
