"""Model answers in (and around) the Hermes tool-call format, shared by the parser tests and the
stream/invoke parity test: each case is an answer text a Qwen model really writes."""

from __future__ import annotations

NAMES = ["get_weather", "add", "screenshot"]

CASES: dict[str, str] = {
    "single_call_with_text_before": (
        'Let me look that up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    ),
    "several_calls_and_text_around": (
        "First the weather, then a sum.\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2.5}}\n</tool_call>\n'
        "Done."
    ),
    "call_with_empty_arguments": '<tool_call>\n{"name": "screenshot", "arguments": {}}\n</tool_call>',
    "call_without_arguments": '<tool_call>\n{"name": "screenshot"}\n</tool_call>',
    "code_fence_inside_tags": '<tool_call>\n```json\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n```\n</tool_call>',
    "code_fence_without_tags": 'I will call the tool:\n```json\n{"name": "add", "arguments": {"a": 3, "b": 4}}\n```',
    "bare_call_object": '{"name": "get_weather", "arguments": {"city": "Oslo"}}',
    "fenced_json_that_is_not_a_call": 'Here is the data:\n```json\n{"city": "Oslo", "temp": 3}\n```',
    "single_quotes_and_trailing_commas": "<tool_call>\n{'name': 'add', 'arguments': {'a': 1, 'b': 2,}, }\n</tool_call>",
    "trailing_commas_in_arguments": '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": [1, 2,],},}\n</tool_call>',
    "python_literals": (
        "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': \"L'Aquila\", 'exact': true, 'x': null}}\n</tool_call>"
    ),
    "arguments_as_a_json_string": '<tool_call>\n{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}\n</tool_call>',
    "unknown_tool": '<tool_call>\n{"name": "delete_everything", "arguments": {}}\n</tool_call>',
    "truncated_json": 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par',
    "missing_closing_tag": '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}',
    "valid_and_invalid_calls": (
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": [1, 2]}\n</tool_call>\n'
        "<tool_call>\nnot json at all\n</tool_call>"
    ),
    "plain_text": "The answer is {probably} 42.",
    "unlisted_name": '<tool_call>\n{"name": "whatever", "arguments": {}}\n</tool_call>',
    "streaming_mix": (
        "Checking.<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>'
        " tail <tool"
    ),
}
