"""The agent loop's control flow with a scripted chat model: tool choice, feedback, limits, HITL."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from tests.agents.scripted import answer, call
from vlkit.agents import create_vlm_agent, run_summary
from vlkit.errors import ImageUnreadableError, ToolCallError

SCREEN = (1280, 800)


def make_tools(log: list[Any]) -> list[Any]:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        log.append(("add", a, b))
        return a + b

    @tool
    def click(x: int, y: int) -> str:
        """Click at screen pixel (x, y) of the 1280x800 screen."""
        if not (0 <= x < SCREEN[0] and 0 <= y < SCREEN[1]):
            raise ToolCallError(f"({x}, {y}) is off-screen; x must be in 0..{SCREEN[0] - 1}, y in 0..{SCREEN[1] - 1}")
        log.append(("click", x, y))
        return f"clicked ({x}, {y})"

    @tool
    def open_file(path: str) -> str:
        """Open a local image file."""
        raise ImageUnreadableError(f"cannot read {path}; pass a PNG or JPEG file")

    return [add, click, open_file]


def task(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def test_right_tool_with_right_arguments_then_final_answer(scripted) -> None:
    log: list[Any] = []
    model = scripted(call("add", a=2, b=3), answer("2 + 3 = 5"))
    agent = create_vlm_agent(model, make_tools(log))
    state = agent.invoke(task("What is 2 + 3?"))

    assert log == [("add", 2, 3)]
    # every step is bound as "one of these tools or final_answer", forced
    for i in range(2):
        assert model.options[i]["tool_choice"] == "any"
        assert set(model.tool_names(i)) == {"add", "click", "open_file", "final_answer"}
    # the tool result reaches the next call, after the call that asked for it
    second = model.calls[1]
    assert isinstance(second[0].type, str) and second[0].type == "system"
    assert isinstance(second[-1], ToolMessage) and second[-1].content == "5" and second[-1].name == "add"
    assert second[-2].tool_calls[0]["args"] == {"a": 2, "b": 3}

    final = state["messages"][-1]
    assert isinstance(final, AIMessage) and final.text == "2 + 3 = 5" and not final.tool_calls
    summary = run_summary(state)
    assert (summary.answer, summary.steps, summary.stop_reason) == ("2 + 3 = 5", 2, None)
    assert [c["name"] for c in summary.tool_calls] == ["add"]


def test_unknown_tool_bad_arguments_and_off_screen_click_are_fed_back_and_the_run_recovers(scripted) -> None:
    log: list[Any] = []
    model = scripted(
        call("zoom", factor=2),
        call("add", a="two", b=3),
        call("click", x=1500, y=200),
        call("click", x=640, y=200),
        answer("clicked"),
    )
    state = create_vlm_agent(model, make_tools(log), max_retries=3).invoke(task("Click the button."))

    observations = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    unknown, bad_args, off_screen, ok = observations
    assert unknown.status == "error" and "zoom" in unknown.text
    for name in ("add", "click", "open_file"):
        assert name in unknown.text  # the valid choices
    assert bad_args.status == "error" and "a: Input should be a valid integer" in bad_args.text
    assert '"a": "integer"' in bad_args.text  # the schema it must fit
    assert off_screen.status == "error" and "0..1279" in off_screen.text
    assert ok.status != "error" and ok.text == "clicked (640, 200)"
    assert log == [("click", 640, 200)]  # the bad calls ran nothing
    # each error was in front of the model on its next step
    assert model.calls[3][-1].text == off_screen.text
    assert run_summary(state).answer == "clicked" and state.get("stop_reason") is None


def test_unparseable_call_is_fed_back_instead_of_ending_the_run(scripted) -> None:
    broken = AIMessage(
        content="",
        invalid_tool_calls=[{"name": "add", "args": '{"a": 1, "b"', "id": "c1", "error": "arguments are not valid JSON", "type": "invalid_tool_call"}],
    )
    model = scripted(broken, call("add", a=1, b=1), answer("2"))
    state = create_vlm_agent(model, make_tools([])).invoke(task("1+1?"))
    feedback = model.calls[1][-1]
    assert isinstance(feedback, HumanMessage) and "not valid JSON" in feedback.text
    assert run_summary(state).answer == "2" and run_summary(state).steps == 3
    # the unusable reply is kept without its half call (no backend can replay one)
    kept = state["messages"][1]
    assert isinstance(kept, AIMessage) and not kept.invalid_tool_calls and not kept.tool_calls


def test_user_errors_stop_the_run_with_the_error(scripted) -> None:
    model = scripted(call("open_file", path="scan.tiff"), answer("never"))
    with pytest.raises(ImageUnreadableError, match="pass a PNG or JPEG"):
        create_vlm_agent(model, make_tools([])).invoke(task("Read scan.tiff"))
    assert len(model.calls) == 1


def test_max_steps_ends_the_run_clearly(scripted) -> None:
    log: list[Any] = []
    model = scripted(call("add", a=1, b=1), repeat_last=True)
    state = create_vlm_agent(model, make_tools(log), max_steps=3).invoke(task("loop forever"))
    assert len(model.calls) == 3 and len(log) == 3
    summary = run_summary(state)
    assert summary.stop_reason == "max_steps" and summary.steps == 3
    assert "max_steps=3" in summary.answer and "Stopped after 3 steps" in summary.answer


def test_retry_limit_stops_a_model_that_keeps_failing(scripted) -> None:
    model = scripted(call("zoom"), repeat_last=True)
    state = create_vlm_agent(model, make_tools([]), max_retries=2, max_steps=10).invoke(task("zoom"))
    assert len(model.calls) == 3  # the first try and two retries
    summary = run_summary(state)
    assert summary.stop_reason == "retry_limit"
    assert "zoom is not a valid tool" in summary.answer


def test_a_success_resets_the_retry_count(scripted) -> None:
    model = scripted(call("zoom"), call("zoom"), call("add", a=1, b=2), call("zoom"), call("zoom"), answer("3"))
    state = create_vlm_agent(model, make_tools([]), max_retries=2).invoke(task("add"))
    assert run_summary(state).stop_reason is None and run_summary(state).answer == "3"


class Total(BaseModel):
    """The invoice total."""

    amount: float
    currency: str


def test_response_format_makes_the_answer_schema_the_last_step(scripted) -> None:
    model = scripted(call("add", a=40, b=2), call("Total", amount=42.0, currency="EUR"))
    state = create_vlm_agent(model, make_tools([]), response_format=Total).invoke(task("total?"))
    assert state["structured_response"] == Total(amount=42.0, currency="EUR")
    assert model.options[0]["tool_choice"] == "any"
    assert "Total" in model.tool_names(0) and "final_answer" not in model.tool_names(0)


def test_human_in_the_loop_interrupts_before_the_tool_and_resumes(scripted) -> None:
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    log: list[Any] = []
    model = scripted(call("click", x=10, y=10), answer("done"), call("click", x=20, y=20), answer("skipped"))
    agent = create_vlm_agent(
        model,
        make_tools(log),
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"click": True})],
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t1"}}
    first = agent.invoke(task("click it"), config)
    assert "__interrupt__" in first and log == []  # paused before the click ran
    request = first["__interrupt__"][0].value
    assert request["action_requests"][0]["name"] == "click"
    resumed = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
    assert log == [("click", 10, 10)] and run_summary(resumed).answer == "done"

    # a second task on the same thread: rejected, the model is told and answers
    second = agent.invoke(task("click again"), config)
    assert "__interrupt__" in second
    final = agent.invoke(Command(resume={"decisions": [{"type": "reject", "message": "not now"}]}), config)
    assert log == [("click", 10, 10)]
    assert "not now" in model.calls[-1][-1].text and run_summary(final).answer == "skipped"


async def test_the_async_path_runs_the_same_middleware(scripted) -> None:
    log: list[Any] = []
    model = scripted(call("zoom"), call("add", a=1, b=2), answer("3"))
    agent = create_vlm_agent(model, make_tools(log), max_steps=5)
    state = await agent.ainvoke(task("add"))
    assert log == [("add", 1, 2)] and run_summary(state).answer == "3"
    assert model.options[0]["tool_choice"] == "any" and "zoom is not a valid tool" in model.calls[1][-1].text
