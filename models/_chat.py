"""``ChatQwenVL``: Qwen2-VL / Qwen2.5-VL / Qwen3-VL as a LangChain chat model, local or over HTTP."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator

from vlkit.errors import PASS_FAMILY, UnsupportedContentError, UnsupportedModelError, Words
from vlkit.models import structured, tool_calls
from vlkit.models.backends.base import VIDEO_BACKENDS, Backend, Delta, GenerationRequest
from vlkit.models.backends.openai import env_api_key
from vlkit.models.tool_calls import CheckedAIMessageChunk, ToolCallStream
from vlkit.vision.families import FAMILIES, FamilySpec, family_of_folder
from vlkit.vision.limits import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, ImageLimits
from vlkit.vision.resize import visual_budget
from vlkit.vision.video.limits import VideoLimits
from vlkit.models.messages import describe_bad_content, to_turns

if TYPE_CHECKING:
    from vlkit.models.backends._cache import CacheConfig

__all__ = ["ChatQwenVL", "DEFAULT_MODEL"]

DEFAULT_MODEL = "Qwen/Qwen2-VL-2B-Instruct"

# Keyword arguments LangChain itself passes down to _generate/_stream; accepted and ignored.
_LANGCHAIN_KWARGS = {"ls_structured_output_format", "run_name"}
# Per-call overrides of the request (invoke(..., max_tokens=16)).
_CALL_KWARGS = {
    "max_tokens", "temperature", "top_p", "seed", "min_pixels", "max_pixels",
    "tools", "tool_choice", "parallel_tool_calls", "response_schema", "response_schema_name",
}  # fmt: skip


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class ChatQwenVL(BaseChatModel):
    """A Qwen vision-language model as a LangChain chat model.

    Images go in as content blocks of human messages (LangChain image blocks, OpenAI ``image_url``,
    local paths, ``file://`` URIs or PIL images), videos likewise (``{"type": "video", "path": "clip.mp4"}``,
    OpenAI-style ``video_url``; options ``fps``, ``max_frames``, ``start``, ``end``); answers stream token by
    token. ``usage_metadata["input_token_details"]`` splits the visual tokens into ``image`` and ``video``.

    Example:
        ```python
        from langchain_core.messages import HumanMessage
        from vlkit.models import ChatQwenVL

        llm = ChatQwenVL()  # Qwen/Qwen2-VL-2B-Instruct with transformers, CPU or GPU
        msg = HumanMessage(content=[{"type": "image", "path": "invoice.png"}, "What is the total?"])
        print(llm.invoke([msg]).content)

        remote = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:8000/v1", model="Qwen/Qwen2-VL-2B-Instruct")
        fast_cpu = ChatQwenVL(model="qwen2vl-q4")  # a folder made by `vlkit export`: runs on llama.cpp
        ```
    """

    model: str = Field(default_factory=lambda: os.environ.get("VLKIT_MODEL") or DEFAULT_MODEL)
    """Hugging Face id or local checkpoint folder (transformers), or the served model name (openai)."""
    backend: Literal["auto", "transformers", "llamacpp", "openai"] | Backend = "auto"
    """Where the model runs: in-process with transformers (a Hugging Face checkpoint), in-process with
    llama.cpp (a folder made by ``vlkit export --to gguf``), on an OpenAI-compatible server, or a
    :class:`~vlkit.models.backends.Backend` instance of your own (give ``family`` when tools need it).
    ``"auto"`` (default) picks llamacpp for an exported GGUF folder, else transformers."""
    base_url: str | None = Field(default_factory=lambda: os.environ.get("VLKIT_BASE_URL"))
    """Server URL for the openai backend, e.g. ``http://127.0.0.1:8000/v1`` (env ``VLKIT_BASE_URL``)."""
    api_key: SecretStr | None = Field(default=None)
    """Key for the openai backend; read from ``VLKIT_API_KEY`` or ``OPENAI_API_KEY`` when not given."""
    device: str | None = None
    """transformers: ``cuda``, ``cpu``, ``mps`` or None for the best available."""
    dtype: str | None = None
    """transformers: ``bfloat16``, ``float16``, ``float32`` or None (bf16 on GPU and bf16-capable CPUs, else fp32)."""
    attn_implementation: str | None = None
    """transformers: attention kernel; None picks flash-attn on CUDA when installed, else sdpa."""
    local_files_only: bool = False
    """transformers: never contact the hub, only use cached or local weights."""
    threads: int | None = Field(default=None, ge=1)
    """Local backends: CPU threads (default: the physical cores; env ``VLKIT_THREADS``)."""
    context_tokens: int | None = Field(default=None, ge=64)
    """llamacpp: tokens of context to allocate (default 8192, at most the model's; the KV cache takes about
    28 KiB a token for a 2B model)."""
    prefix_cache_mb: int | None = Field(default=None, ge=0)
    """Local backends: MiB of attention state kept from earlier prompts, so a call that starts like an
    earlier one (system prompt, tools, history, images) prefills only what is new (default 1024; 0 off;
    env ``VLKIT_PROMPT_CACHE=0`` turns both caches off)."""
    vision_cache_mb: int | None = Field(default=None, ge=0)
    """Local backends: MiB of visual embeddings kept, keyed by a hash of the image's pixels and budget, so a
    repeated image costs no vision-encoder time (default 256; 0 off)."""
    max_tokens: int = Field(default=512, ge=1)
    """Most new tokens per answer."""
    temperature: float = Field(default=0.0, ge=0.0)
    """0 decodes greedily (the default); above 0 samples."""
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    """Nucleus sampling mass (only when sampling)."""
    seed: int | None = None
    """Seed for sampling, for reproducible answers."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Stop sequences: the answer ends before the first one."""
    min_pixels: int | None = Field(default=None, ge=1)
    """Smallest image area after resize (default: 4 visual tokens)."""
    max_pixels: int | None = Field(default=None, ge=1)
    """Largest image area after resize; sets the visual-token budget per image
    (default: 256 tokens on CPU, 1280 on GPU; one token is 28×28 px, 32×32 for Qwen3-VL)."""
    max_image_pixels: int = Field(default=MAX_IMAGE_PIXELS, ge=1)
    """Refuse input images with more pixels than this, before decoding them (decompression bombs)."""
    max_image_bytes: int = Field(default=MAX_IMAGE_BYTES, ge=1)
    """Refuse encoded input images larger than this."""
    allow_private_image_urls: bool = Field(default_factory=lambda: _env_flag("VLKIT_ALLOW_PRIVATE_URLS"))
    """transformers: also fetch http(s) image and video URLs on loopback, private or link-local addresses (your
    own network). Off by default, so a URL in a message cannot reach local services (env
    ``VLKIT_ALLOW_PRIVATE_URLS=1``). Public URLs are always fetched; over the openai backend the server fetches
    URLs itself."""
    timeout: float = Field(default=120.0, gt=0)
    """openai: seconds to wait for the server."""
    max_retries: int = Field(default=2, ge=0)
    """openai: retries on connection errors, 429 and 5xx."""
    streaming: bool = False
    """Stream by default in ``invoke`` (LangChain convention)."""
    family: Literal[tuple(FAMILIES)] | None = None  # type: ignore[valid-type]  # the names of FAMILIES
    """The model's Qwen family (``config.json`` ``model_type``). transformers reads it from the checkpoint;
    for the openai backend give it when tools need the family's coordinate convention or template."""
    native_tools: bool = True
    """openai: send ``tools`` / ``tool_choice`` natively (vLLM ``--tool-call-parser hermes``). False renders
    the tools into the prompt in the Hermes format and parses the answer, for servers that drop them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=(), arbitrary_types_allowed=True)

    _backend: Backend | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_backend(self) -> "ChatQwenVL":
        if self.api_key is None and (key := env_api_key()):
            self.api_key = SecretStr(key)
        if self.backend == "auto":
            from vlkit.models.exported import is_gguf_export

            self.backend = "llamacpp" if is_gguf_export(self.model) else "transformers"
        if self.backend == "openai" and not self.base_url:
            self.base_url = os.environ.get("OPENAI_BASE_URL") or "http://127.0.0.1:8000/v1"
        return self

    # ------------------------------------------------------------------ LangChain plumbing

    @property
    def _llm_type(self) -> str:
        return "qwen-vl"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend if isinstance(self.backend, str) else type(self.backend).__name__,
            "base_url": self.base_url if self.backend == "openai" else None,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="vlkit",
            ls_model_name=kwargs.get("model") if isinstance(kwargs.get("model"), str) else self.model,
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
            ls_max_tokens=kwargs.get("max_tokens", self.max_tokens),
        )
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    @property
    def backend_impl(self) -> Backend:
        """The backend instance (created on first use; the model itself loads on first generation)."""
        if isinstance(self.backend, Backend):
            return self.backend
        if self._backend is None:
            limits = self._image_limits()
            if self.backend == "openai":
                from vlkit.models.backends.openai import OpenAIBackend

                self._backend = OpenAIBackend(
                    model=self.model,
                    base_url=self.base_url or "",
                    api_key=self.api_key.get_secret_value() if self.api_key else None,
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                    native_tools=self.native_tools,
                )
            elif self.backend == "llamacpp":
                from vlkit.models.backends.llamacpp import LlamaCppBackend

                self._backend = LlamaCppBackend(
                    self.model, threads=self.threads, n_ctx=self.context_tokens, cache=self._cache_config(),
                    image_limits=limits,
                )
            else:
                from vlkit.models.backends.transformers import TransformersBackend

                self._backend = TransformersBackend(
                    self.model,
                    device=self.device,
                    dtype=self.dtype,
                    attn_implementation=self.attn_implementation,
                    local_files_only=self.local_files_only,
                    image_limits=limits,
                    video_limits=self._video_limits(),
                    threads=self.threads,
                    cache=self._cache_config(),
                )
        return self._backend

    def family_spec(self) -> FamilySpec:
        """The :class:`~vlkit.vision.FamilySpec` of this model, without loading its weights.

        ``family`` when set; else, for a local backend (transformers, llama.cpp, or an instance of either),
        the checkpoint's ``config.json``. Over an OpenAI-compatible server the family cannot be read: pass
        ``family=...``.
        """
        from vlkit.models.backends._local import LocalBackend

        if self.family is not None:
            return FAMILIES[self.family]
        if self.backend == "openai":
            raise UnsupportedModelError(f"the family of served model '{self.model}' is unknown; ", PASS_FAMILY)
        backend = self.backend_impl
        if isinstance(self.backend, Backend) and not isinstance(self.backend, LocalBackend):
            raise UnsupportedModelError(
                f"the family of model '{self.model}' ({type(self.backend).__name__}) is unknown; ", PASS_FAMILY
            )
        if isinstance(backend, LocalBackend) and backend.loaded:  # no config.json read
            return backend.checkpoint.family
        from vlkit.models.backends.loading import resolve_checkpoint

        folder = backend.model_name if isinstance(backend, LocalBackend) else self.model
        return family_of_folder(resolve_checkpoint(folder, local_files_only=self.local_files_only))

    def visual_budget(self, family: FamilySpec | None = None) -> tuple[int, int]:
        """``(min_pixels, max_pixels)`` each image is resized to, as the backend will resize it.

        Over an OpenAI-compatible server the server resizes; vlkit tools that need the exact size
        (GUI coordinates) resize the image to this budget themselves before sending it. ``family``
        (default: :meth:`family_spec`) is for a caller that was told the family of a served model.
        With :meth:`family_spec`, this implements :class:`vlkit.vision.VisionFacts`.
        """
        from vlkit.models.backends._local import LocalBackend

        backend = self.backend_impl
        device = backend.device if isinstance(backend, LocalBackend) else "cpu"  # loads nothing
        spec = family or self.family_spec()
        return visual_budget(spec, device, min_pixels=self.min_pixels, max_pixels=self.max_pixels)

    def _image_limits(self) -> ImageLimits:
        return ImageLimits(max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels,
                           allow_private_urls=self.allow_private_image_urls)  # fmt: skip

    def _cache_config(self) -> "CacheConfig":
        from vlkit.models.backends._cache import CacheConfig

        return CacheConfig.from_env(self.prefix_cache_mb, self.vision_cache_mb)

    def _video_limits(self) -> VideoLimits:
        return VideoLimits(allow_private_urls=self.allow_private_image_urls)

    def generation_request(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> GenerationRequest:
        """The backend request that ``invoke(messages, stop=stop, **kwargs)`` runs (images checked, not decoded):
        what a caller counts with ``backend_impl.count_tokens`` before running it."""
        if "model" in kwargs and kwargs["model"] != self.model:
            raise TypeError(
                f"per-call model override is not supported (got model={kwargs['model']!r}); create another ChatQwenVL"
            )
        unknown = set(kwargs) - _CALL_KWARGS - _LANGCHAIN_KWARGS - {"model"}
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {', '.join(sorted(unknown))}; "
                f"per-call options are {', '.join(sorted(_CALL_KWARGS))}"
            )
        turns = to_turns(messages, self._image_limits(), self._video_limits())
        if any(turn.videos for turn in turns) and not self.backend_impl.supports_video:
            raise UnsupportedContentError(_no_video(type(self.backend_impl).__name__))
        return GenerationRequest(
            turns=turns,
            max_tokens=kwargs.get("max_tokens", self.max_tokens),
            temperature=kwargs.get("temperature", self.temperature),
            top_p=kwargs.get("top_p", self.top_p),
            seed=kwargs.get("seed", self.seed),
            stop=list(stop if stop is not None else self.stop or []),
            min_pixels=kwargs.get("min_pixels", self.min_pixels),
            max_pixels=kwargs.get("max_pixels", self.max_pixels),
            tools=kwargs.get("tools"),
            tool_choice=kwargs.get("tool_choice"),
            parallel_tool_calls=kwargs.get("parallel_tool_calls"),
            response_schema=kwargs.get("response_schema"),
            response_schema_name=kwargs.get("response_schema_name", "response"),
        )

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Sequence[Any] | None = None) -> int:
        """The prompt's exact token count, images included, when the backend can count it before running
        (transformers); else LangChain's estimate."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        kwargs = {"tools": [convert_to_openai_tool(tool) for tool in tools]} if tools else {}
        count = self.backend_impl.count_tokens(self.generation_request(list(messages), None, **kwargs))
        if count is None:
            return super().get_num_tokens_from_messages(messages, tools)
        return count.prompt_tokens

    def _convert_input(self, model_input: Any) -> Any:
        # LangChain builds messages from dicts and tuples here; content it cannot hold (``[42]``) fails in
        # pydantic with a three-part validation error. Say instead what content vlkit takes.
        try:
            return super()._convert_input(model_input)
        except ValidationError as exc:
            bad = next((e["input"] for e in exc.errors() if e.get("loc", ("",))[0] == "content"), model_input)
            items = bad if isinstance(bad, list) else [bad]
            culprit = next((i for i in items if not isinstance(i, (str, dict))), bad)
            raise UnsupportedContentError(describe_bad_content(culprit)) from None

    # ------------------------------------------------------------------ generation

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # The sum of the streamed chunks, so invoke() and stream() cannot disagree (tool-call verdicts included).
        chunks = list(self._stream(messages, stop=stop, run_manager=run_manager, **kwargs))
        total = chunks[0] + chunks[1:] if len(chunks) > 1 else chunks[0]
        fields = {k: v for k, v in total.message.__dict__.items() if k not in ("type", "tool_call_chunks", "chunk_position")}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(**fields), generation_info=total.generation_info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self.generation_request(messages, stop, **kwargs)
        for chunk in self._chunks(request, self.backend_impl.stream(request)):
            if run_manager and isinstance(chunk.message.content, str) and chunk.message.content:
                run_manager.on_llm_new_token(chunk.message.content, chunk=chunk)
            yield chunk

    def _chunks(self, request: GenerationRequest, deltas: Iterator[Delta]) -> Iterator[ChatGenerationChunk]:
        """Backend deltas → LangChain chunks; the last one carries usage, the tool-call verdicts and
        ``chunk_position='last'``."""
        for delta in ToolCallStream.for_request(request).run(deltas):
            if delta.text or delta.tool_call_chunks:
                yield ChatGenerationChunk(
                    message=CheckedAIMessageChunk(content=delta.text, tool_call_chunks=delta.tool_call_chunks)
                )
            if delta.usage is not None or delta.finish_reason is not None:
                yield self._final_chunk(delta)

    def _final_chunk(self, delta: Delta) -> ChatGenerationChunk:
        usage = None
        if delta.usage is not None:
            usage = UsageMetadata(
                input_tokens=delta.usage.input_tokens,
                output_tokens=delta.usage.output_tokens,
                total_tokens=delta.usage.input_tokens + delta.usage.output_tokens,
            )
            details: dict[str, int] = {}
            if delta.usage.video_tokens or delta.usage.image_tokens:
                # provider-specific keys, which LangChain's InputTokenDetails allows beside audio / cache_*
                details.update(image=delta.usage.image_tokens, video=delta.usage.video_tokens)
            if delta.usage.cached_tokens:
                details["cache_read"] = delta.usage.cached_tokens
            if details:
                usage["input_token_details"] = details  # type: ignore[typeddict-item]
        metadata = {
            "finish_reason": delta.finish_reason,
            "model_name": self.model,
            "model_provider": "vlkit",
            "image_tokens": delta.usage.image_tokens if delta.usage else 0,
            "video_tokens": delta.usage.video_tokens if delta.usage else 0,
            **delta.metadata,
        }
        return ChatGenerationChunk(
            message=CheckedAIMessageChunk(
                content="", usage_metadata=usage, response_metadata=metadata, chunk_position="last"
            ),
            generation_info={"finish_reason": delta.finish_reason},
        )

    # ------------------------------------------------------------------ tools and structured output

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """Bind tools (LangChain tools, pydantic models, functions or OpenAI tool dicts).

        ``tool_choice``: ``"auto"`` (default), ``"none"``, ``"any"``/``"required"``/``True`` or a tool's name.
        Locally, ``"required"`` and a name are enforced by grammar-constrained decoding: the answer is a
        valid call to an allowed tool with schema-valid arguments (one call, several with
        ``parallel_tool_calls=True``). Calls arrive as ``AIMessage.tool_calls``; unusable ones as
        ``invalid_tool_calls`` with an error naming the available tools.

        Example:
            ```python
            llm.bind_tools([get_weather], tool_choice="any").invoke("Weather in Paris?").tool_calls
            ```
        """
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return tool_calls.bind_tools(self, tools, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[Any, Any]:
        """Answers as instances of ``schema`` (pydantic model, TypedDict or JSON-schema dict).

        Locally the answer is decoded under a grammar compiled from the schema, so it always parses and
        validates; over HTTP the schema goes out as ``response_format`` and a failed answer gets one
        repair round. An answer cut off by ``max_tokens`` raises :class:`~vlkit.errors.OutputTruncatedError`
        (with ``include_raw=True`` it is reported as ``parsing_error`` instead), never half-parsed.

        Example:
            ```python
            class Invoice(BaseModel):
                total: float
                currency: Literal["EUR", "USD"]

            llm.with_structured_output(Invoice).invoke([HumanMessage(content=[image_block, "Read the invoice."])])
            ```
        """
        return structured.with_structured_output(self, schema, method=method, include_raw=include_raw, **kwargs)


def _no_video(backend: str) -> Words:
    """The error for a video given to a backend that does not take video, naming the ones that do."""
    takes = " and ".join(VIDEO_BACKENDS)
    return Words(
        python=f"the {backend} backend does not take video; use backend={' or '.join(repr(b) for b in VIDEO_BACKENDS)} "
        f"(the backends that do: {takes}), or send frames as images",
        cli=f"this backend does not take video; use --backend transformers or --base-url (the {takes} backends take video)",
        http="the served model's backend does not take video; send frames as images",
        ui="the served model's backend does not take video; upload frames as images",
    )
