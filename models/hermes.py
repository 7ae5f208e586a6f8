"""The Hermes ("nous") tool-call format the Qwen models are trained on — its one owner in vlkit.

Tools go into the system message as JSON schemas inside ``<tools>…</tools>``; the model answers with
one or more ``<tool_call>\\n{"name": …, "arguments": {…}}\\n</tool_call>`` blocks; results come back in a
user turn as ``<tool_response>…</tool_response>`` (images of a tool result stay inside it). This module
renders that format into the turns for every backend that does not take tools natively (the Qwen2-VL
/ Qwen2.5-VL templates drop ``tools``; OpenAI servers started without a tool parser) and parses it
back, whole (:func:`parse_tool_calls`) or while streaming (:class:`StreamingToolCallParser`, which
reports a call's name as soon as it is written, then its argument text piece by piece). Parsing never
raises: a call that cannot be used becomes an ``invalid_tool_calls`` entry with the raw text and an error.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from dataclasses import dataclass, field
from importlib import resources
from string import Template
from typing import Any, Iterable, Union

from langchain_core.messages.tool import InvalidToolCall, ToolCall, invalid_tool_call, tool_call

from vlkit.errors import ToolCallError

from vlkit.vision.loading import ImageInput
from vlkit.models.messages import Turn

__all__ = [
    "CALL_OPEN",
    "CALL_CLOSE",
    "ArgumentsPiece",
    "CallEnd",
    "CallStart",
    "ParsedToolCalls",
    "StreamingToolCallParser",
    "TextPiece",
    "loads_lenient",
    "new_call_id",
    "parse_tool_calls",
    "render_tool_call",
    "render_tools_system",
    "render_turns",
]

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
RESPONSE_OPEN = "<tool_response>"
RESPONSE_CLOSE = "</tool_response>"


def _prompt(name: str) -> str:
    return resources.files("vlkit.models").joinpath("prompts", name).read_text(encoding="utf-8")


def _dumps(value: Any) -> str:
    # Qwen templates write JSON with transformers' ``tojson``: default separators, non-ASCII kept.
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- rendering


def render_tools_system(tools: list[dict[str, Any]], system_text: str = "") -> str:
    """The system message with the Hermes tools block, as the Qwen2.5 / Qwen3 templates write it.

    ``system_text`` (may be empty) comes first, separated by a blank line, like the templates do.
    """
    block = Template(_prompt("hermes_tools_system.txt")).substitute(tools="\n".join(_dumps(t) for t in tools))
    return f"{system_text}\n\n{block}" if system_text else block


def render_tool_call(name: str, args: dict[str, Any] | str) -> str:
    """One call as the model writes it (the Qwen templates' own spelling)."""
    arguments = args if isinstance(args, str) else _dumps(args)
    return f'{CALL_OPEN}\n{{"name": "{name}", "arguments": {arguments}}}\n{CALL_CLOSE}'


def render_turns(turns: list[Turn], tools: list[dict[str, Any]] | None) -> list[Turn]:
    """Rewrite tools and tool-related turns into plain system/user/assistant turns in the Hermes format.

    The tools go into the system turn, calls into the assistant text, and runs of ``tool`` turns into one
    user turn of ``<tool_response>`` blocks, images of a tool result kept in place inside its block.
    """
    out: list[Turn] = []
    rest = turns
    if tools:
        if turns and turns[0].role == "system":
            system_text, rest = turns[0].text, turns[1:]
        else:
            system_text = _prompt("default_system.txt")
        out.append(Turn(role="system", content=[render_tools_system(tools, system_text)]))
    previous_role = ""
    for turn in rest:
        if turn.role == "tool":
            # Consecutive results share one user turn, as in the Qwen templates.
            opening = RESPONSE_OPEN + "\n" if previous_role != "tool" else "\n" + RESPONSE_OPEN + "\n"
            parts: list[str | ImageInput] = [opening, *turn.content, "\n" + RESPONSE_CLOSE]
            if previous_role == "tool":
                out[-1].content.extend(parts)
            else:
                out.append(Turn(role="user", content=parts))
        elif turn.role == "assistant" and turn.tool_calls:
            calls = "\n".join(render_tool_call(call.name, call.args) for call in turn.tool_calls)
            text = turn.text
            out.append(Turn(role="assistant", content=[f"{text}\n{calls}" if text else calls]))
        else:
            out.append(Turn(role=turn.role, content=list(turn.content), name=turn.name))
        previous_role = turn.role
    return out


# --------------------------------------------------------------------------- parsing


def new_call_id() -> str:
    """A fresh tool-call id in the OpenAI spelling."""
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class ParsedToolCalls:
    """The text outside calls, the usable calls and the unusable ones."""

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    invalid_tool_calls: list[InvalidToolCall] = field(default_factory=list)


_TAGGED = re.compile(re.escape(CALL_OPEN) + r"(.*?)(?:" + re.escape(CALL_CLOSE) + r"|\Z)", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON|tool_call)?[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)


def parse_tool_calls(text: str, allowed_names: Iterable[str] | None = None) -> ParsedToolCalls:
    """Split a Qwen answer into content and tool calls.

    Recognised: ``<tool_call>`` blocks (several, with text around them, a missing closing tag at the
    end, a ```` ```json ```` fence inside); with no tags, a fenced or bare JSON object that is a call
    (``{"name": …, "arguments": …}``). JSON may use single quotes or trailing commas. A call naming a
    tool not in ``allowed_names``, or whose JSON is truncated or malformed, becomes an invalid call.
    """
    allowed = None if allowed_names is None else list(allowed_names)
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    pieces: list[str] = []
    position = 0
    for match in _TAGGED.finditer(text):
        pieces.append(text[position : match.start()])
        position = match.end()
        _add(_parse_body(match.group(1), allowed), calls, invalid)
    pieces.append(text[position:])
    if not calls and not invalid:
        return _parse_untagged(text, allowed)
    return ParsedToolCalls("".join(pieces).strip(), calls, invalid)


def _add(result: ToolCall | InvalidToolCall, calls: list[ToolCall], invalid: list[InvalidToolCall]) -> None:
    if result.get("type") == "invalid_tool_call":
        invalid.append(result)  # type: ignore[arg-type]
    else:
        calls.append(result)  # type: ignore[arg-type]


def _parse_untagged(text: str, allowed: list[str] | None) -> ParsedToolCalls:
    """Calls written without tags: a fenced JSON block or the whole answer as a call object."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    pieces: list[str] = []
    position = 0
    for match in _FENCE.finditer(text):
        value = loads_lenient(match.group(1))
        if _looks_like_call(value):
            pieces.append(text[position : match.start()])
            position = match.end()
            _add(_call_from_value(value, match.group(1).strip(), allowed), calls, invalid)
    pieces.append(text[position:])
    if not calls and not invalid:
        value = loads_lenient(text.strip()) if text.strip().startswith("{") else None
        if _looks_like_call(value):
            _add(_call_from_value(value, text.strip(), allowed), calls, invalid)
            return ParsedToolCalls("", calls, invalid)
        return ParsedToolCalls(text)
    return ParsedToolCalls("".join(pieces).strip(), calls, invalid)


def _looks_like_call(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("name"), str) and (
        "arguments" in value or "parameters" in value or len(value) == 1
    )


def _parse_body(body: str, allowed: list[str] | None) -> ToolCall | InvalidToolCall:
    raw = body.strip()
    fenced = _FENCE.fullmatch(raw)
    candidate = fenced.group(1).strip() if fenced else raw
    value = loads_lenient(candidate)
    if value is None:
        name = _guess_name(candidate)
        what = "is truncated" if _unbalanced(candidate) else "is not valid JSON"
        return invalid_tool_call(name=name, args=raw, id=new_call_id(), error=f"the tool call {what}: {raw!r}")
    return _call_from_value(value, raw, allowed)


def _call_from_value(value: Any, raw: str, allowed: list[str] | None) -> ToolCall | InvalidToolCall:
    call_id = new_call_id()
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return invalid_tool_call(
            name=None, args=raw, id=call_id, error='a tool call must be {"name": <tool>, "arguments": {…}}'
        )
    name = value["name"]
    args = value.get("arguments", value.get("parameters", {}))
    if isinstance(args, str):
        decoded = loads_lenient(args) if args.strip() else {}
        args = decoded if isinstance(decoded, dict) else args
    if args is None:
        args = {}
    if allowed is not None and name not in allowed:
        return invalid_tool_call(name=name, args=raw, id=call_id, error=str(ToolCallError.unknown_tool(name, allowed)))
    if not isinstance(args, dict):
        error = ToolCallError.invalid_arguments(name, "the arguments must be a JSON object")
        return invalid_tool_call(name=name, args=raw, id=call_id, error=str(error))
    return tool_call(name=name, args=args, id=call_id)


_NAME = re.compile(r"""["']name["']\s*:\s*["']([^"']+)["']""")


def _guess_name(text: str) -> str | None:
    match = _NAME.search(text)
    return match.group(1) if match else None


def _unbalanced(text: str) -> bool:
    depth, in_string, escaped, quote = 0, False, False, ""
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                in_string = False
        elif char in "\"'":
            in_string, quote = True, char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return depth > 0 or in_string


_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def loads_lenient(text: str) -> Any:
    """JSON, else JSON without trailing commas, else a Python-literal reading (single quotes). ``None`` if none."""
    text = text.strip()
    if not text:
        return None
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return json.loads(attempt)
        except (json.JSONDecodeError, RecursionError):
            pass
    try:
        return _literal(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def _literal(node: ast.AST) -> Any:
    """A JSON-like value from a Python expression: dicts, lists, strings, numbers, true/false/null."""
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(element) for element in node.elts]
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"not a JSON-like literal: {type(node).__name__}")




# --------------------------------------------------------------------------- streaming


@dataclass
class TextPiece:
    """Answer text outside any tool call."""

    text: str


@dataclass
class CallStart:
    """A call's name is complete (written in the canonical ``{"name": "…", "arguments": `` spelling)."""

    index: int
    name: str


@dataclass
class ArgumentsPiece:
    """The next piece of a started call's argument text, as the model writes it."""

    index: int
    text: str


@dataclass
class CallEnd:
    """A call is complete (closing tag or end of stream); ``call`` is what :func:`parse_tool_calls` makes of it.

    ``streamed`` is the argument text sent in :class:`ArgumentsPiece` events (None when the call was not
    written in the canonical spelling and nothing was streamed for it).
    """

    index: int
    call: ToolCall | InvalidToolCall
    streamed: str | None = None


StreamEvent = Union[TextPiece, CallStart, ArgumentsPiece, CallEnd]

_NAME_PREFIX = '{"name": "'
_ARGS_PREFIX = ', "arguments": '
_HOLD = re.compile(r"\}?\s*$")


class StreamingToolCallParser:
    """Incremental :func:`parse_tool_calls` for tagged calls: feed text deltas, get events.

    Text outside calls is passed on as soon as it cannot be the start of ``<tool_call>``. Inside a call
    written as Qwen (and vlkit's grammar) writes it, ``{"name": "add", "arguments": {…}}``, the name is
    reported as soon as it is complete (:class:`CallStart`) and the argument text as it arrives
    (:class:`ArgumentsPiece`, holding back only what may be the call's closing ``}`` and tag); any other
    spelling is reported once the call is complete. :class:`CallEnd` carries the parsed call either way.

    >>> parser = StreamingToolCallParser(["add"])
    >>> events = parser.feed('Sure.<tool_call>\\n{"name": "add", "arguments": {"a": 1}}\\n</tool_call>')
    >>> [type(e).__name__ for e in events + parser.finish()]
    ['TextPiece', 'CallStart', 'ArgumentsPiece', 'CallEnd']
    """

    def __init__(self, allowed_names: Iterable[str] | None = None) -> None:
        self.allowed = None if allowed_names is None else list(allowed_names)
        self._buffer = ""
        self._in_call = False
        self._count = 0
        self._args_at: int | None = None
        """Where the argument text starts in the buffer, once the call's name is known."""
        self._sent = 0
        """How much of the argument text was streamed."""
        self._canonical = True
        self.text = ""
        """Everything fed so far."""

    def feed(self, delta: str) -> list[StreamEvent]:
        self.text += delta
        self._buffer += delta
        events: list[StreamEvent] = []
        while True:
            if self._in_call:
                end = self._buffer.find(CALL_CLOSE)
                if end < 0:
                    events += self._progress(self._buffer)
                    return events
                events += self._end(self._buffer[:end])
                self._buffer = self._buffer[end + len(CALL_CLOSE) :]
                continue
            start = self._buffer.find(CALL_OPEN)
            if start >= 0:
                if start:
                    events.append(TextPiece(self._buffer[:start]))
                self._buffer = self._buffer[start + len(CALL_OPEN) :]
                self._in_call, self._args_at, self._sent, self._canonical = True, None, 0, True
                continue
            keep = _partial_suffix(self._buffer, CALL_OPEN)
            ready = self._buffer[: len(self._buffer) - keep]
            if ready:
                events.append(TextPiece(ready))
            self._buffer = self._buffer[len(ready) :]
            return events

    def finish(self) -> list[StreamEvent]:
        """Flush at the end of the stream: held-back text, or an unterminated call."""
        events: list[StreamEvent] = []
        if self._in_call:
            events += self._end(self._buffer)
        elif self._buffer:
            events.append(TextPiece(self._buffer))
        self._buffer = ""
        return events

    def _progress(self, body: str) -> list[StreamEvent]:
        """Inside an open call: report the name once known, then the argument text that is safe to send."""
        events: list[StreamEvent] = []
        if self._args_at is None and self._canonical:
            name = self._name(body)
            if name is not None:
                events.append(CallStart(self._count, name))
        if self._args_at is not None:
            text = body[self._args_at :]
            ready = len(text) - _partial_suffix(text, CALL_CLOSE)
            ready = _HOLD.search(text[:ready]).start()  # type: ignore[union-attr]  # the outer "}" and newline
            if ready > self._sent:
                events.append(ArgumentsPiece(self._count, text[self._sent : ready]))
                self._sent = ready
        return events

    def _name(self, body: str) -> str | None:
        """The name once ``{"name": "…", "arguments": `` is complete; None while it may still come, and
        ``_canonical`` set False as soon as the call is spelled another way."""
        lead = body.lstrip()
        offset = len(body) - len(lead)
        if not lead.startswith(_NAME_PREFIX):
            self._canonical = _NAME_PREFIX.startswith(lead)
            return None
        close = lead.find('"', len(_NAME_PREFIX))
        if close < 0:
            self._canonical = "\\" not in lead and "\n" not in lead[len(_NAME_PREFIX) :]
            return None
        rest = lead[close + 1 :]
        if not rest.startswith(_ARGS_PREFIX):
            self._canonical = _ARGS_PREFIX.startswith(rest)
            return None
        self._args_at = offset + close + 1 + len(_ARGS_PREFIX)
        return lead[len(_NAME_PREFIX) : close]

    def _end(self, body: str) -> list[StreamEvent]:
        events = self._progress(body)
        streamed = None
        if self._args_at is not None:
            text = body[self._args_at :].rstrip()
            final = text[:-1] if text.endswith("}") else text
            if len(final) > self._sent:
                events.append(ArgumentsPiece(self._count, final[self._sent :]))
            streamed = final
        events.append(CallEnd(self._count, _parse_body(body, self.allowed), streamed))
        self._count += 1
        self._in_call, self._args_at, self._sent = False, None, 0
        return events


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``marker``."""
    for size in range(min(len(text), len(marker) - 1), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0
