"""``with_structured_output`` for :class:`~vlkit.models.ChatQwenVL`: answers as validated instances of a schema.

``method="json_schema"`` (the default) binds ``response_schema``: locally a grammar compiled from the
schema (:mod:`vlkit.models.constrained`), so the answer always parses and validates; over HTTP the schema
goes out as ``response_format`` and a failed answer gets one repair round. ``"function_calling"`` binds
the schema as a forced tool. Locally, a ``max_tokens`` below the shortest valid answer is refused before
generating (:class:`~vlkit.errors.MaxTokensTooSmallError`, raised even with ``include_raw=True``: the
budget is the caller's to fix); any larger budget yields a complete answer. An answer a server cut off at
``max_tokens`` raises :class:`~vlkit.errors.OutputTruncatedError` (or is reported in ``parsing_error``
with ``include_raw=True``); it is never returned half-parsed.
"""

from __future__ import annotations

import json
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any, Callable, Literal

import jsonschema
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from pydantic import BaseModel, ValidationError

from vlkit.errors import RAISE_MAX_TOKENS, InvalidArgumentError, OutputTruncatedError, StructuredOutputError
from vlkit.models.tool_calls import tool_name

if TYPE_CHECKING:
    from vlkit.models._chat import ChatQwenVL

__all__ = ["StructuredMethod", "with_structured_output"]

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]


def _as_messages(value: Any) -> list[BaseMessage]:
    """What a chat model accepts as input (a string, a prompt value, messages) as a message list."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(value)]
    return convert_to_messages(value)


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
        raise InvalidArgumentError(
            f"method must be 'json_schema', 'function_calling' or 'json_mode', not {method!r}"
        )
    if schema is None and method != "json_mode":
        raise InvalidArgumentError(f"method={method!r} needs a schema; pass one, or use method='json_mode'")
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
        messages = _as_messages(value)
        raw = bound.invoke(messages, **call_options)
        parsed, error = _parse(raw, validate, method)
        if (again := repair_messages(messages, raw, error)) is not None:
            raw = bound.invoke(again, **call_options)
            parsed, error = _parse(raw, validate, method)
        return result(raw, parsed, error)

    async def arun(value: Any, **call_options: Any) -> Any:
        messages = _as_messages(value)
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
                    "the answer reached the token limit before the JSON was complete; ", RAISE_MAX_TOKENS, raw=text
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
    from pydantic.v1 import BaseModel as BaseModelV1  # ships with pydantic 2

    return issubclass(schema, BaseModelV1)


def _require_object(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("json_mode answers must be a JSON object")
    return value


def _json_schema_validator(schema: dict[str, Any]) -> Callable[[Any], Any]:
    body = {k: v for k, v in schema.items() if k not in {"title", "description"}} if "type" in schema else schema
    body = body.get("parameters", body) if "parameters" in schema and "type" not in schema else body
    validator = jsonschema.validators.validator_for(body)(body)

    def validate(value: Any) -> Any:
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            raise ValueError("; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:3]))
        return value

    return validate
