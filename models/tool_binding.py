"""``bind_tools`` and ``with_structured_output`` for :class:`~vlkit.models.ChatQwenVL`, and the tool-call
routing of its output stream.

* Tools are converted to OpenAI-format schemas and bound as the ``tools`` / ``tool_choice`` call options
  that :class:`~vlkit.models.backends.base.GenerationRequest` carries. ``tool_choice`` accepts ``"auto"``,
  ``"none"``, ``"any"`` / ``"required"`` / ``True``, a tool's name or ``{"type": "function", "function":
  {"name": …}}``. The local backend enforces ``"required"`` and a named tool with a grammar
  (:mod:`vlkit.models.constrained`); the openai backend sends them natively.
* Structured output (``method="json_schema"``, the default) binds ``response_schema``: a grammar locally,
  ``response_format`` over HTTP, then validates. An answer cut off by ``max_tokens`` raises
  :class:`~vlkit.errors.OutputTruncatedError` (or is reported in ``parsing_error`` with
  ``include_raw=True``); it is never returned half-parsed.
"""

from __future__ import annotations

import json
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Sequence

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from pydantic import BaseModel, ValidationError

from vlkit.errors import OutputTruncatedError, StructuredOutputError
from vlkit.models.backends.base import Delta, GenerationRequest
from vlkit.models.tool_calls import (
    CALL_OPEN,
    StreamingToolCallParser,
    TextPiece,
    ToolCallEvent,
    parse_tool_calls,
    render_turns_as_text,
    tool_name,
)

if TYPE_CHECKING:
    from vlkit.models.chat import ChatQwenVL

__all__ = [
    "bind_tools",
    "finish_invalid_tool_calls",
    "normalize_tool_choice",
    "route_tool_calls",
    "text_tools_request",
    "with_structured_output",
]

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


# --------------------------------------------------------------------------- tools


def normalize_tool_choice(tool_choice: Any, tools: list[dict[str, Any]]) -> str | None:
    """LangChain's spellings of ``tool_choice`` → ``None``, ``"auto"``, ``"none"``, ``"required"`` or a name."""
    names = [tool_name(t) for t in tools]
    if tool_choice is None:
        return None
    if tool_choice is True or tool_choice == "any":
        return "required"
    if tool_choice is False:
        return "none"
    if isinstance(tool_choice, dict):
        tool_choice = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
    if tool_choice in {"auto", "none", "required"}:
        return str(tool_choice)
    if isinstance(tool_choice, str) and tool_choice in names:
        return tool_choice
    raise ValueError(
        f"tool_choice {tool_choice!r} is not one of 'auto', 'none', 'any', 'required' or a bound tool "
        f"({', '.join(names) or 'no tools bound'})"
    )


def bind_tools(
    model: "ChatQwenVL", tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
) -> Runnable[Any, AIMessage]:
    """Bind ``tools`` (LangChain tools, pydantic models, functions or OpenAI dicts) to ``model``."""
    formatted = [convert_to_openai_tool(t) for t in tools]
    return model.bind(tools=formatted, tool_choice=normalize_tool_choice(tool_choice, formatted), **kwargs)


def text_tools_request(request: GenerationRequest) -> GenerationRequest:
    """The request for a server that drops ``tools``: Hermes tools rendered into the prompt instead."""
    tools = request.tools if request.tool_choice != "none" else None
    turns = render_turns_as_text(request.turns, tools)
    return GenerationRequest(
        **{**request.__dict__, "turns": turns, "tools": None, "tool_choice": None}  # type: ignore[arg-type]
    )


def route_tool_calls(request: GenerationRequest, deltas: Iterator[Delta]) -> Iterator[Delta]:
    """Pass backend deltas on, turning Hermes ``<tool_call>`` text into tool-call chunks as it streams.

    Native tool-call chunks (openai backend) pass through untouched. An unusable call is emitted with its
    raw text (starting ``<tool_call>``) as ``args``, which LangChain keeps as an ``invalid_tool_calls``
    entry; :func:`finish_invalid_tool_calls` adds the error message afterwards.
    """
    names = [tool_name(t) for t in request.tools or []]
    parser = StreamingToolCallParser(names)
    calls = 0
    started = False

    def convert(events: list[TextPiece | ToolCallEvent]) -> Iterator[Delta]:
        nonlocal calls, started
        for event in events:
            if isinstance(event, TextPiece):
                text = event.text if started else event.text.lstrip()
                if calls and not text.strip():
                    continue  # the newline between two calls
                if text:
                    started = True
                    yield Delta(text=text)
            else:
                chunk = event.chunk()
                if not event.valid:
                    chunk["args"] = f"{CALL_OPEN}\n{event.call['args']}"
                calls += 1
                yield Delta(tool_call_chunks=[chunk])

    for delta in deltas:
        if delta.text:
            yield from convert(parser.feed(delta.text))
        if delta.tool_call_chunks:
            calls += len(delta.tool_call_chunks)
            yield Delta(tool_call_chunks=delta.tool_call_chunks)
        if delta.usage is not None or delta.finish_reason is not None:
            yield from convert(parser.finish())
            finish = "tool_calls" if calls and delta.finish_reason == "stop" else delta.finish_reason
            yield Delta(usage=delta.usage, finish_reason=finish, metadata=delta.metadata)


def finish_invalid_tool_calls(message: AIMessage, tools: list[dict[str, Any]] | None) -> None:
    """Give each invalid call from :func:`route_tool_calls` its raw text back and an error naming the tools."""
    names = [tool_name(t) for t in tools or []]
    for call in message.invalid_tool_calls:
        raw = call.get("args") or ""
        if call.get("error") is None and raw.startswith(CALL_OPEN):
            parsed = parse_tool_calls(raw, names)
            bad = parsed.invalid_tool_calls[0] if parsed.invalid_tool_calls else None
            call["args"] = raw[len(CALL_OPEN) :].strip()
            call["error"] = bad["error"] if bad else "the tool call could not be used"


# --------------------------------------------------------------------------- structured output


def with_structured_output(
    model: "ChatQwenVL",
    schema: dict[str, Any] | type | None,
    *,
    method: StructuredMethod = "json_schema",
    include_raw: bool = False,
    **kwargs: Any,
) -> Runnable[Any, Any]:
    """See :meth:`ChatQwenVL.with_structured_output`."""
    kwargs.pop("strict", None)  # answers are always validated strictly
    if kwargs:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
    if method not in ("json_schema", "function_calling", "json_mode"):
        raise ValueError(f"method must be 'json_schema', 'function_calling' or 'json_mode', not {method!r}")
    if schema is None and method != "json_mode":
        raise ValueError(f"method={method!r} needs a schema; pass one, or use method='json_mode'")
    # json_mode is enforced with the schema too when one is given: the grammar (or response_format)
    # is what makes a small model's JSON usable at all.
    json_schema = convert_to_json_schema(schema) if schema is not None else {"type": "object"}
    name = str(json_schema.get("title") or "response")
    ls_format = {"kwargs": {"method": method}, "schema": json_schema}
    if method == "function_calling":
        tool = convert_to_openai_tool(schema)
        bound = model.bind(
            tools=[tool], tool_choice=tool_name(tool), ls_structured_output_format=ls_format
        )
    else:
        bound = model.bind(
            response_schema=json_schema, response_schema_name=name, ls_structured_output_format=ls_format
        )
    validate = _validator(schema)
    repair = model.backend == "openai" and method != "function_calling"

    def repair_messages(messages: list[Any], raw: AIMessage, error: Exception | None) -> list[Any] | None:
        """The conversation for one repair round, or None when the first answer stands."""
        if error is None or not repair or isinstance(error, OutputTruncatedError):
            return None
        return [*messages, AIMessage(content=raw.content), HumanMessage(_repair_prompt(error, json_schema))]

    def result(raw: AIMessage, parsed: Any, error: Exception | None) -> Any:
        if include_raw:
            return {"raw": raw, "parsed": parsed, "parsing_error": error}
        if error is not None:
            raise error
        return parsed

    def run(value: Any, **call_options: Any) -> Any:
        messages = model._convert_input(value).to_messages()
        raw = bound.invoke(messages, **call_options)
        parsed, error = _parse(raw, validate, method)
        if (again := repair_messages(messages, raw, error)) is not None:
            raw = bound.invoke(again, **call_options)
            parsed, error = _parse(raw, validate, method)
        return result(raw, parsed, error)

    async def arun(value: Any, **call_options: Any) -> Any:
        messages = model._convert_input(value).to_messages()
        raw = await bound.ainvoke(messages, **call_options)
        parsed, error = _parse(raw, validate, method)
        if (again := repair_messages(messages, raw, error)) is not None:
            raw = await bound.ainvoke(again, **call_options)
            parsed, error = _parse(raw, validate, method)
        return result(raw, parsed, error)

    return RunnableLambda(run, afunc=arun, name=f"structured_output[{name}]")


def _repair_prompt(error: Exception, schema: dict[str, Any]) -> str:
    template = resources.files("vlkit.models").joinpath("prompts", "structured_repair.txt").read_text(encoding="utf-8")
    return Template(template).substitute(error=str(error), schema=json.dumps(schema, ensure_ascii=False))


def _parse(
    raw: AIMessage, validate: Callable[[Any], Any], method: StructuredMethod
) -> tuple[Any, StructuredOutputError | None]:
    truncated = (raw.response_metadata or {}).get("finish_reason") == "length"
    if method == "function_calling":
        if not raw.tool_calls:
            text = json.dumps([c.get("args") for c in raw.invalid_tool_calls]) if raw.invalid_tool_calls else raw.text
            cls = OutputTruncatedError if truncated else StructuredOutputError
            return None, cls("the model answered without the requested tool call", raw=text)
        value: Any = raw.tool_calls[0]["args"]
        text = json.dumps(value)
    else:
        text = raw.text.strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if truncated:
                return None, OutputTruncatedError(
                    "the answer stopped at max_tokens before the JSON was complete; raise max_tokens", raw=text
                )
            return None, StructuredOutputError(f"the answer is not valid JSON: {exc}", raw=text)
    try:
        return validate(value), None
    except (ValidationError, ValueError, TypeError) as exc:
        cls = OutputTruncatedError if truncated else StructuredOutputError
        return None, cls(f"the answer does not match the schema: {exc}", raw=text)


def _validator(schema: dict[str, Any] | type | None) -> Callable[[Any], Any]:
    if schema is None:
        return _require_object
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_validate
    if isinstance(schema, type) and _is_pydantic_v1(schema):
        return schema.parse_obj  # type: ignore[attr-defined]
    if isinstance(schema, dict):
        return _json_schema_validator(schema)
    # TypedDicts: validate against LangChain's JSON schema of them (which honours its Annotated
    # defaults and descriptions) and return plain dicts, as LangChain does.
    return _json_schema_validator(convert_to_json_schema(schema))


def _is_pydantic_v1(schema: type) -> bool:
    try:
        from pydantic.v1 import BaseModel as BaseModelV1
    except ImportError:  # pragma: no cover
        return False
    return issubclass(schema, BaseModelV1)


def _require_object(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("json_mode answers must be a JSON object")
    return value


def _json_schema_validator(schema: dict[str, Any]) -> Callable[[Any], Any]:
    body = {k: v for k, v in schema.items() if k not in {"title", "description"}} if "type" in schema else schema
    body = body.get("parameters", body) if "parameters" in schema and "type" not in schema else body
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema comes with the test and openai extras
        return lambda value: value

    validator = jsonschema.validators.validator_for(body)(body)

    def validate(value: Any) -> Any:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            raise ValueError("; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:3]))
        return value

    return validate
