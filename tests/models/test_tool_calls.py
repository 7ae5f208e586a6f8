"""The Hermes tool-call parser and renderer on realistic Qwen-style outputs."""

from __future__ import annotations

import json

import pytest

from vlkit.models.families import FAMILIES
from vlkit.models.messages import ToolCallRecord, Turn
from vlkit.models.tool_calls import (
    StreamingToolCallParser,
    TextPiece,
    ToolCallEvent,
    parse_tool_calls,
    prepare_turns_for_template,
    render_tool_call,
    render_tools_system,
)

NAMES = ["get_weather", "add", "screenshot"]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_single_call_with_text_before() -> None:
    text = 'Let me look that up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.content == "Let me look that up."
    assert [(c["name"], c["args"]) for c in parsed.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert parsed.tool_calls[0]["id"].startswith("call_")
    assert parsed.invalid_tool_calls == []


def test_several_calls_and_text_around() -> None:
    text = (
        "First the weather, then a sum.\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2.5}}\n</tool_call>\n'
        "Done."
    )
    parsed = parse_tool_calls(text, NAMES)
    assert [c["name"] for c in parsed.tool_calls] == ["get_weather", "add"]
    assert parsed.tool_calls[0]["args"] == {"city": "Zürich"}
    assert parsed.tool_calls[1]["args"] == {"a": 1, "b": 2.5}
    assert len({c["id"] for c in parsed.tool_calls}) == 2
    assert "First the weather" in parsed.content and "Done." in parsed.content
    assert "<tool_call>" not in parsed.content


def test_call_without_arguments() -> None:
    parsed = parse_tool_calls('<tool_call>\n{"name": "screenshot", "arguments": {}}\n</tool_call>', NAMES)
    assert parsed.tool_calls[0]["args"] == {}
    parsed = parse_tool_calls('<tool_call>\n{"name": "screenshot"}\n</tool_call>', NAMES)
    assert parsed.tool_calls[0]["args"] == {}


def test_code_fence_inside_tags_and_without_tags() -> None:
    inside = '<tool_call>\n```json\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n```\n</tool_call>'
    assert parse_tool_calls(inside, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}
    bare = 'I will call the tool:\n```json\n{"name": "add", "arguments": {"a": 3, "b": 4}}\n```'
    parsed = parse_tool_calls(bare, NAMES)
    assert parsed.tool_calls[0]["args"] == {"a": 3, "b": 4}
    assert parsed.content == "I will call the tool:"


def test_whole_answer_is_a_bare_call_object() -> None:
    parsed = parse_tool_calls('{"name": "get_weather", "arguments": {"city": "Oslo"}}', NAMES)
    assert parsed.tool_calls[0]["args"] == {"city": "Oslo"} and parsed.content == ""


def test_fenced_json_that_is_not_a_call_stays_content() -> None:
    text = 'Here is the data:\n```json\n{"city": "Oslo", "temp": 3}\n```'
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.tool_calls == [] and parsed.invalid_tool_calls == [] and parsed.content == text


def test_single_quotes_and_trailing_commas() -> None:
    text = "<tool_call>\n{'name': 'add', 'arguments': {'a': 1, 'b': 2,}, }\n</tool_call>"
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}
    text = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": [1, 2,],},}\n</tool_call>'
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": [1, 2]}
    text = "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': \"L'Aquila\", 'exact': true, 'x': null}}\n</tool_call>"
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"city": "L'Aquila", "exact": True, "x": None}


def test_arguments_given_as_a_json_string() -> None:
    text = '<tool_call>\n{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}\n</tool_call>'
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}


def test_unknown_tool_is_invalid_and_names_the_available_tools() -> None:
    text = '<tool_call>\n{"name": "delete_everything", "arguments": {}}\n</tool_call>'
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.tool_calls == []
    (bad,) = parsed.invalid_tool_calls
    assert bad["name"] == "delete_everything"
    assert "delete_everything" in bad["error"] and "get_weather, add, screenshot" in bad["error"]
    assert "delete_everything" in bad["args"]


def test_truncated_json_is_invalid_with_the_raw_text() -> None:
    text = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par'
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.tool_calls == [] and parsed.content == "Sure."
    (bad,) = parsed.invalid_tool_calls
    assert bad["args"].startswith('{"name": "get_weather"') and "truncated" in bad["error"]
    assert bad["name"] == "get_weather"


def test_missing_closing_tag_at_the_end_is_still_a_call() -> None:
    text = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}'
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}


def test_valid_and_invalid_calls_in_one_answer() -> None:
    text = (
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": [1, 2]}\n</tool_call>\n'
        "<tool_call>\nnot json at all\n</tool_call>"
    )
    parsed = parse_tool_calls(text, NAMES)
    assert len(parsed.tool_calls) == 1 and len(parsed.invalid_tool_calls) == 2
    assert "JSON object" in parsed.invalid_tool_calls[0]["error"]
    assert "not valid JSON" in parsed.invalid_tool_calls[1]["error"]


def test_plain_text_has_no_calls() -> None:
    parsed = parse_tool_calls("The answer is {probably} 42.", NAMES)
    assert parsed.content == "The answer is {probably} 42." and not parsed.tool_calls and not parsed.invalid_tool_calls


def test_any_name_is_allowed_without_a_list() -> None:
    text = '<tool_call>\n{"name": "whatever", "arguments": {}}\n</tool_call>'
    assert parse_tool_calls(text).tool_calls[0]["name"] == "whatever"


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_streaming_parser_matches_the_whole_text_parser(step: int) -> None:
    text = (
        "Checking.<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>'
        ' tail <tool'
    )
    parser = StreamingToolCallParser(NAMES)
    events = []
    for start in range(0, len(text), step):
        events += parser.feed(text[start : start + step])
    events += parser.finish()
    assert "".join(e.text for e in events if isinstance(e, TextPiece)) == "Checking.\n tail <tool"
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(e.index, e.valid) for e in calls] == [(0, True), (1, False)]
    chunk = calls[0].chunk()
    assert chunk["name"] == "get_weather" and json.loads(chunk["args"]) == {"city": "Paris"} and chunk["index"] == 0
    assert parser.text == text


def test_streaming_parser_never_emits_part_of_an_opening_tag() -> None:
    parser = StreamingToolCallParser(NAMES)
    assert parser.feed("Hi <tool") == [TextPiece("Hi ")]
    assert parser.feed("_c") == []
    assert parser.feed('all>\n{"name": "add", "arguments": {"a": 1') == []
    (event,) = parser.finish()
    assert isinstance(event, ToolCallEvent) and not event.valid and "truncated" in event.call["error"]


def test_tools_system_block_is_the_qwen_template_text() -> None:
    # The text the Qwen2.5 / Qwen3 / Qwen3-VL chat templates write (vlkit/testing/templates/qwen3_vl.jinja).
    expected = (
        "Be brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + json.dumps(WEATHER, ensure_ascii=False)
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n'
        "</tool_call>"
    )
    assert render_tools_system([WEATHER], "Be brief.") == expected
    assert render_tools_system([WEATHER]).startswith("# Tools\n\n")


def test_render_tool_call_round_trips_through_the_parser() -> None:
    text = render_tool_call("add", {"a": 1, "b": "ü"})
    assert text == '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": "ü"}}\n</tool_call>'
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": "ü"}


def test_turns_for_templates_without_tools_support() -> None:
    turns = [
        Turn("user", ["weather in Paris and Rome?"]),
        Turn(
            "assistant",
            ["Checking."],
            tool_calls=[ToolCallRecord("c1", "get_weather", {"city": "Paris"}), ToolCallRecord("c2", "get_weather", {"city": "Rome"})],
        ),
        Turn("tool", ["sunny"], tool_call_id="c1"),
        Turn("tool", ["rain"], tool_call_id="c2"),
    ]
    shaped, template_tools = prepare_turns_for_template(turns, [WEATHER], FAMILIES["qwen2_vl"])
    assert template_tools is None
    assert [t.role for t in shaped] == ["system", "user", "assistant", "user"]
    assert shaped[0].text.startswith("You are a helpful assistant.\n\n# Tools")
    assert shaped[2].text == (
        'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    )
    assert shaped[3].text == "<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrain\n</tool_response>"


def test_turns_for_qwen3_vl_pass_through() -> None:
    turns = [Turn("system", ["Be brief."]), Turn("user", ["hi"])]
    shaped, template_tools = prepare_turns_for_template(turns, [WEATHER], FAMILIES["qwen3_vl"])
    assert shaped is turns and template_tools == [WEATHER]
