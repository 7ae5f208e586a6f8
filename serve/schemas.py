"""Request bodies of the OpenAI-compatible API, checked strictly, and the OpenAI error object.

Every field vLLM's ``/v1/chat/completions`` accepts that vlkit implements is here; anything else —
an unknown field, ``n`` > 1, ``logprobs`` — is a 400 that names the field (``param``), never silently
ignored, so a client learns at once that the server does not do what it asked.

The rule for each accepted field: a field that asks for a behaviour is honoured, or refused with a 400
when asked for in a form vlkit does not implement (``stream_options.continuous_usage_stats``, ``strict``
tools without a forced call). A few fields only *label* a request and change no answer by their
definition; they are accepted, and each says here what becomes of it: ``user`` (written in the server's
log lines about the request), a message's ``name`` (passed on with the message; Qwen's chat templates do
not render names, as under vLLM), ``response_format.json_schema.description``
and the ``description`` keywords inside any schema (the grammar enforces the schema; the model is not
shown it, as under vLLM's guided decoding). ``tests/serve/test_fields.py`` checks each class.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vlkit.vision.limits import MAX_IMAGE_BYTES

__all__ = [
    "APIError",
    "ChatCompletionRequest",
    "KBAskRequest",
    "KBSearchRequest",
    "check_json_shape",
    "parse_body",
]

MAX_JSON_DEPTH = 64
"""Deeper bodies are refused before validation: nothing the API takes nests this deep, and a deep
tool schema would otherwise reach the grammar compiler."""
MAX_TOKENS_CAP = 1 << 20


class APIError(Exception):
    """An HTTP error answered as ``{"error": {message, type, param, code}}`` (vLLM's and OpenAI's shape)."""

    TYPES = {400: "BadRequestError", 401: "AuthenticationError", 404: "NotFoundError",
             413: "RequestTooLargeError", 429: "RateLimitError", 500: "InternalServerError",
             503: "ServiceUnavailableError"}  # fmt: skip

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.param, self.headers = status, message, param, headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.TYPES.get(self.status, "BadRequestError"),
                          "param": self.param, "code": self.status}}  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class ImageURL(_Strict):
    url: str = Field(max_length=MAX_IMAGE_BYTES)
    """``data:image/…;base64,…`` or (with ``--allow-url-fetch``) an http(s) URL."""
    detail: Literal["auto", "low", "high"] | None = None
    """``low``: the image is seen at most 512×512 pixels (OpenAI's low-resolution mode; never larger than the
    budget it would otherwise get); ``auto``/``high``: the request's or the server's visual budget.
    A ``max_pixels`` given for the image wins over ``detail``."""
    min_pixels: int | None = Field(default=None, ge=1, le=1 << 26)
    max_pixels: int | None = Field(default=None, ge=1, le=1 << 26)


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL
    min_pixels: int | None = Field(default=None, ge=1, le=1 << 26)
    """This image's visual budget (qwen-vl-utils spelling, also accepted inside ``image_url``)."""
    max_pixels: int | None = Field(default=None, ge=1, le=1 << 26)


class VideoURL(_Strict):
    url: str
    """``data:video/…;base64,…`` (up to the server's ``--max-video-mb``) or, with ``--allow-url-fetch``, an
    http(s) URL."""


class VideoPart(_Strict):
    """A video (vLLM's ``video_url`` part), with the sampling options of a vlkit video block."""

    type: Literal["video_url"]
    video_url: VideoURL
    fps: float | None = Field(default=None, gt=0, le=240)
    """Frames sampled per second of video (default 2)."""
    max_frames: int | None = Field(default=None, ge=2, le=1 << 16)
    start: float | None = Field(default=None, ge=0)
    """Seconds into the video where sampling starts."""
    end: float | None = Field(default=None, ge=0)
    """Seconds into the video where sampling ends."""
    min_pixels: int | None = Field(default=None, ge=1, le=1 << 26)
    """Each frame's visual budget (as an image's)."""
    max_pixels: int | None = Field(default=None, ge=1, le=1 << 26)


Part = Union[TextPart, ImagePart, VideoPart]


class FunctionCall(_Strict):
    name: str = Field(min_length=1, max_length=256)
    arguments: str


class ToolCall(_Strict):
    id: str = Field(max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[Part] | None = None
    name: str | None = Field(default=None, max_length=256)
    """A label (the participant, or the tool of a tool message), passed on with the message; Qwen's chat
    templates do not render it (as under vLLM)."""
    tool_calls: list[ToolCall] | None = Field(default=None, max_length=64)
    tool_call_id: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _shape(self) -> "Message":
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs content")
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool_calls")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        if isinstance(self.content, list) and self.role not in ("user", "tool"):
            if any(isinstance(p, ImagePart) for p in self.content):
                raise ValueError(f"images are accepted in user messages, not in {self.role} messages")
            if any(isinstance(p, VideoPart) for p in self.content):
                raise ValueError(f"videos are accepted in user messages, not in {self.role} messages")
        return self


class FunctionDef(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    """True: the call's arguments must match ``parameters`` — guaranteed by a grammar when the call is forced
    (``tool_choice`` ``required`` or a name); refused with ``auto``, where vlkit can validate but not force it."""

    @field_validator("parameters")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _check_schema(value)
        return value


class Tool(_Strict):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Strict):
    name: str


class NamedToolChoice(_Strict):
    type: Literal["function"]
    function: NamedFunction


class JSONSchemaSpec(_Strict):
    name: str = Field(default="response", max_length=64)
    description: str | None = None
    """A label (see the module docstring): the grammar enforces ``schema``; the model is not shown either."""
    schema_: dict[str, Any] = Field(default_factory=lambda: {"type": "object"}, alias="schema")
    strict: bool | None = None
    """The answer always follows the schema (grammar-constrained decoding), whatever this says."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_schema(value)
        return value


class ResponseFormat(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaSpec | None = None

    @model_validator(mode="after")
    def _needs_schema(self) -> "ResponseFormat":
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format type 'json_schema' needs a json_schema object")
        return self


class StreamOptions(_Strict):
    include_usage: bool = False
    """A last chunk with empty ``choices`` and the usage."""
    continuous_usage_stats: bool = False
    """Refused when True: usage is counted once, at the end (vLLM's per-chunk usage is not implemented)."""


class PixelBudget(_Strict):
    min_pixels: int | None = Field(default=None, ge=1, le=1 << 26)
    max_pixels: int | None = Field(default=None, ge=1, le=1 << 26)

    @model_validator(mode="after")
    def _ordered(self) -> "PixelBudget":
        if self.min_pixels and self.max_pixels and self.min_pixels > self.max_pixels:
            raise _Unsupported("mm_processor_kwargs", f"min_pixels {self.min_pixels} is larger than max_pixels "
                               f"{self.max_pixels}; send min_pixels <= max_pixels")  # fmt: skip
        return self


class ChatCompletionRequest(_Strict):
    """``POST /v1/chat/completions``."""

    model: str = Field(max_length=512)
    messages: list[Message] = Field(min_length=1, max_length=1024)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_CAP)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_CAP)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    stop: str | list[str] | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    user: str | None = Field(default=None, max_length=256)
    """OpenAI's end-user id: a label, written in the server's log lines about this request (cancelled, failed)."""
    mm_processor_kwargs: PixelBudget | None = None
    """vLLM's request-level image budget (what vlkit's openai backend sends)."""

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 16 or any(len(s) > 256 for s in stops):
            raise ValueError("at most 16 stop sequences of up to 256 characters")
        return value

    @model_validator(mode="after")
    def _unsupported(self) -> "ChatCompletionRequest":
        if self.n not in (None, 1):
            raise _Unsupported("n", f"n={self.n} is not supported: vlkit generates one choice per request; send n=1 "
                               "(or several requests)")
        if self.logprobs:
            raise _Unsupported("logprobs", "logprobs are not supported by vlkit serve; remove 'logprobs'")
        if self.top_logprobs:
            raise _Unsupported("top_logprobs", "top_logprobs are not supported by vlkit serve; remove it")
        for name in ("frequency_penalty", "presence_penalty"):
            if getattr(self, name) not in (None, 0, 0.0):
                raise _Unsupported(name, f"{name} is not supported by vlkit serve; send 0 or leave it out")
        names = [t.function.name for t in self.tools or []]
        if len(set(names)) != len(names):
            raise _Unsupported("tools", "tool names must be unique")
        if isinstance(self.tool_choice, NamedToolChoice) and self.tool_choice.function.name not in names:
            raise _Unsupported("tool_choice", f"tool_choice names '{self.tool_choice.function.name}', which is not "
                               f"in tools ({', '.join(names) or 'none given'})")
        if self.tool_choice in ("required",) and not names:
            raise _Unsupported("tool_choice", "tool_choice 'required' needs tools")
        if self.tools and self.response_format is not None and self.response_format.type != "text":
            raise _Unsupported("response_format", "response_format cannot be combined with tools; send one of them")
        if self.stream_options and self.stream_options.continuous_usage_stats:
            raise _Unsupported("stream_options.continuous_usage_stats", "stream_options.continuous_usage_stats is "
                               "not supported: vlkit serve reports usage once, in the last chunk (include_usage)")  # fmt: skip
        strict = [t.function.name for t in self.tools or [] if t.function.strict]
        if strict and self.tool_choice in (None, "auto"):
            raise _Unsupported("tools", f"strict tools ({', '.join(strict)}) need a forced call: vlkit guarantees the "
                               "arguments with a grammar only for tool_choice 'required' or a named tool; send one "
                               "of those, or strict=false with 'auto'")  # fmt: skip
        return self

    @property
    def stops(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop or [] if s]

    @property
    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class KBSearchRequest(_Strict):
    """``POST /v1/kb/search``."""

    query: str = Field(min_length=1, max_length=4096)
    k: int = Field(default=5, ge=1, le=50)


class KBAskRequest(_Strict):
    """``POST /v1/kb/ask``."""

    question: str = Field(min_length=1, max_length=4096)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_CAP)
    """Most tokens of the answer (default: the server's ``--max-tokens``); with the pages it must fit the context."""
    stream: bool = False
    """Refused when True (the answer and its citations come as one JSON object)."""


class _Unsupported(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _check_schema(schema: dict[str, Any]) -> None:
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"not a valid JSON schema: {exc.message}") from None
    except (RecursionError, TypeError) as exc:
        raise ValueError(f"not a valid JSON schema: {exc}") from None


def check_json_shape(value: Any, depth: int = 0) -> None:
    """Refuse nesting deeper than :data:`MAX_JSON_DEPTH` and strings with lone surrogates
    (``"\\ud800"`` parses as JSON but cannot be encoded for the tokenizer)."""
    if depth > MAX_JSON_DEPTH:
        raise APIError(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            check_json_shape(key, depth + 1)
            check_json_shape(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_shape(item, depth + 1)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise APIError(400, "a string in the body is not valid Unicode (a lone surrogate escape such as "
                           "\\ud800); send UTF-8 text") from None


def parse_body(raw: bytes, model: type[BaseModel]) -> Any:
    """Bytes → a validated ``model``; every failure is an :class:`APIError` 400 naming the field."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise APIError(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise APIError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise APIError(400, f"the body must be a JSON object, not {type(data).__name__}")
    check_json_shape(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    except RecursionError:
        raise APIError(400, "the body nests too deeply to validate") from None


def _validation_error(exc: ValidationError) -> APIError:
    errors = exc.errors(include_url=False, include_input=False)
    # a union reports one error per member; the first is the most specific ("messages.0.content.str")
    first = max(errors, key=lambda e: len(e["loc"]))
    ctx_error = (first.get("ctx") or {}).get("error")
    param = getattr(ctx_error, "param", None) or ".".join(str(p) for p in first["loc"] if _is_field(p))
    if first["type"] == "extra_forbidden":
        message = f"unknown field '{param}': vlkit serve does not support it; remove it"
    elif ctx_error is not None:
        message = str(ctx_error)
    else:
        message = f"{param or 'body'}: {first['msg']}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return APIError(400, message + more, param=param or None)


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "function-after", "function-before"}


def _is_field(part: Any) -> bool:
    """Union members show up in error locations as type tags ('str', 'TextPart', "literal['auto']")."""
    if isinstance(part, int):
        return True
    return part.isidentifier() and part.islower() and part not in _TYPE_TAGS or part == "schema"
