"""The Hermes tool-call parser and renderer (vlkit.models.hermes) on realistic Qwen-style outputs.

The answer texts live in tests/models/hermes_cases.py, which test_tool_call_parity.py also runs through
every entry point of ChatQwenVL."""

from __future__ import annotations

import json

import pytest

from tests.models.hermes_cases import CASES, NAMES
from vlkit.models.backends.base import Backend, GenerationRequest
from vlkit.models.hermes import (
    ArgumentsPiece,
    CallEnd,
    CallStart,
    StreamingToolCallParser,
    TextPiece,
    parse_tool_calls,
    render_tool_call,
    render_tools_system,
    render_turns,
)
from vlkit.models.messages import ToolCallRecord, Turn
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_single_call_with_text_before() -> None:
    text = CASES["single_call_with_text_before"]
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.content == "Let me look that up."
    assert [(c["name"], c["args"]) for c in parsed.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert parsed.tool_calls[0]["id"].startswith("call_")
    assert parsed.invalid_tool_calls == []


def test_several_calls_and_text_around() -> None:
    parsed = parse_tool_calls(CASES["several_calls_and_text_around"], NAMES)
    assert [c["name"] for c in parsed.tool_calls] == ["get_weather", "add"]
    assert parsed.tool_calls[0]["args"] == {"city": "Zürich"}
    assert parsed.tool_calls[1]["args"] == {"a": 1, "b": 2.5}
    assert len({c["id"] for c in parsed.tool_calls}) == 2
    assert "First the weather" in parsed.content and "Done." in parsed.content
    assert "<tool_call>" not in parsed.content


def test_call_without_arguments() -> None:
    parsed = parse_tool_calls(CASES["call_with_empty_arguments"], NAMES)
    assert parsed.tool_calls[0]["args"] == {}
    parsed = parse_tool_calls(CASES["call_without_arguments"], NAMES)
    assert parsed.tool_calls[0]["args"] == {}


def test_code_fence_inside_tags_and_without_tags() -> None:
    inside = CASES["code_fence_inside_tags"]
    assert parse_tool_calls(inside, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}
    bare = CASES["code_fence_without_tags"]
    parsed = parse_tool_calls(bare, NAMES)
    assert parsed.tool_calls[0]["args"] == {"a": 3, "b": 4}
    assert parsed.content == "I will call the tool:"


def test_whole_answer_is_a_bare_call_object() -> None:
    parsed = parse_tool_calls(CASES["bare_call_object"], NAMES)
    assert parsed.tool_calls[0]["args"] == {"city": "Oslo"} and parsed.content == ""


def test_fenced_json_that_is_not_a_call_stays_content() -> None:
    text = CASES["fenced_json_that_is_not_a_call"]
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.tool_calls == [] and parsed.invalid_tool_calls == [] and parsed.content == text


def test_single_quotes_and_trailing_commas() -> None:
    text = CASES["single_quotes_and_trailing_commas"]
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}
    text = CASES["trailing_commas_in_arguments"]
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": [1, 2]}
    text = CASES["python_literals"]
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"city": "L'Aquila", "exact": True, "x": None}


def test_arguments_given_as_a_json_string() -> None:
    text = CASES["arguments_as_a_json_string"]
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}


def test_unknown_tool_is_invalid_and_names_the_available_tools() -> None:
    text = CASES["unknown_tool"]
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.tool_calls == []
    (bad,) = parsed.invalid_tool_calls
    assert bad["name"] == "delete_everything"
    assert "delete_everything" in bad["error"] and "get_weather, add, screenshot" in bad["error"]
    assert "delete_everything" in bad["args"]


def test_truncated_json_is_invalid_with_the_raw_text() -> None:
    text = CASES["truncated_json"]
    parsed = parse_tool_calls(text, NAMES)
    assert parsed.tool_calls == [] and parsed.content == "Sure."
    (bad,) = parsed.invalid_tool_calls
    assert bad["args"].startswith('{"name": "get_weather"') and "truncated" in bad["error"]
    assert bad["name"] == "get_weather"


def test_missing_closing_tag_at_the_end_is_still_a_call() -> None:
    text = CASES["missing_closing_tag"]
    assert parse_tool_calls(text, NAMES).tool_calls[0]["args"] == {"a": 1, "b": 2}


def test_valid_and_invalid_calls_in_one_answer() -> None:
    parsed = parse_tool_calls(CASES["valid_and_invalid_calls"], NAMES)
    assert len(parsed.tool_calls) == 1 and len(parsed.invalid_tool_calls) == 2
    assert "JSON object" in parsed.invalid_tool_calls[0]["error"]
    assert "not valid JSON" in parsed.invalid_tool_calls[1]["error"]


def test_plain_text_has_no_calls() -> None:
    parsed = parse_tool_calls(CASES["plain_text"], NAMES)
    assert parsed.content == "The answer is {probably} 42." and not parsed.tool_calls and not parsed.invalid_tool_calls


def test_any_name_is_allowed_without_a_list() -> None:
    text = CASES["unlisted_name"]
    assert parse_tool_calls(text).tool_calls[0]["name"] == "whatever"


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_streaming_parser_matches_the_whole_text_parser(step: int) -> None:
    text = CASES["streaming_mix"]
    parser = StreamingToolCallParser(NAMES)
    events = []
    for start in range(0, len(text), step):
        events += parser.feed(text[start : start + step])
    events += parser.finish()
    assert "".join(e.text for e in events if isinstance(e, TextPiece)) == "Checking.\n tail <tool"
    assert [(e.index, e.name) for e in events if isinstance(e, CallStart)] == [(0, "get_weather"), (1, "nope")]
    ends = [e for e in events if isinstance(e, CallEnd)]
    assert [e.index for e in ends] == [0, 1]
    assert ends[0].call["args"] == {"city": "Paris"} and ends[0].streamed == '{"city": "Paris"}'
    assert ends[1].call["type"] == "invalid_tool_call" and "Unknown tool 'nope'" in ends[1].call["error"]
    streamed = "".join(e.text for e in events if isinstance(e, ArgumentsPiece) and e.index == 0)
    assert json.loads(streamed) == {"city": "Paris"}
    # every event of call 0 comes before call 1 starts, and each call starts before its arguments
    kinds = [(type(e).__name__, getattr(e, "index", None)) for e in events if not isinstance(e, TextPiece)]
    assert kinds.index(("CallStart", 0)) < kinds.index(("ArgumentsPiece", 0)) < kinds.index(("CallEnd", 0))
    assert kinds.index(("CallEnd", 0)) < kinds.index(("CallStart", 1))
    assert parser.text == text


def test_streaming_parser_never_emits_part_of_an_opening_tag() -> None:
    parser = StreamingToolCallParser(NAMES)
    assert parser.feed("Hi <tool") == [TextPiece("Hi ")]
    assert parser.feed("_c") == []
    assert parser.feed('all>\n{"name": "add", "argu') == []
    assert parser.feed('ments": {"a": 1') == [CallStart(0, "add"), ArgumentsPiece(0, '{"a": 1')]
    (end,) = parser.finish()
    assert isinstance(end, CallEnd) and end.call["type"] == "invalid_tool_call" and "truncated" in end.call["error"]


def test_streaming_parser_holds_back_the_closing_brace_and_tag() -> None:
    parser = StreamingToolCallParser(NAMES)
    parser.feed('<tool_call>\n{"name": "add", "arguments": ')
    assert parser.feed('{"a": {"b": 1}}') == [ArgumentsPiece(0, '{"a": {"b": 1}')]
    assert parser.feed("}\n</tool_") == [ArgumentsPiece(0, "}")]
    (end,) = parser.feed("call>")
    assert isinstance(end, CallEnd) and end.call["args"] == {"a": {"b": 1}} and end.streamed == '{"a": {"b": 1}}'


def test_a_call_in_another_spelling_is_reported_whole() -> None:
    parser = StreamingToolCallParser(NAMES)
    events = parser.feed(CASES["single_quotes_and_trailing_commas"]) + parser.finish()
    (end,) = events
    assert isinstance(end, CallEnd) and end.streamed is None and end.call["args"] == {"a": 1, "b": 2}


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
    shaped = render_turns(turns, [WEATHER])
    assert [t.role for t in shaped] == ["system", "user", "assistant", "user"]
    assert shaped[0].text.startswith("You are a helpful assistant.\n\n# Tools")
    assert shaped[2].text == (
        'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    )
    assert shaped[3].text == "<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrain\n</tool_response>"


class _Backend(Backend):
    def __init__(self, native: bool) -> None:
        self.native = native

    @property
    def native_tools(self) -> bool:
        return self.native

    def stream(self, request: GenerationRequest):  # pragma: no cover - never generates
        raise NotImplementedError


def test_backends_with_native_tools_get_the_turns_and_tools_as_they_are() -> None:
    turns = [Turn("system", ["Be brief."]), Turn("user", ["hi"])]
    request = GenerationRequest(turns=turns, tools=[WEATHER], tool_choice="auto")
    assert _Backend(native=True).prompt_turns(request) == (turns, [WEATHER])
    shaped, tools = _Backend(native=False).prompt_turns(request)
    assert tools is None and shaped[0].text.startswith("Be brief.\n\n# Tools") and shaped[1:] == turns[1:]
    # tool_choice="none": no tools offered, in either form
    quiet = GenerationRequest(turns=turns, tools=[WEATHER], tool_choice="none")
    assert _Backend(native=True).prompt_turns(quiet) == (turns, None)
    assert _Backend(native=False).prompt_turns(quiet) == (turns, None)
