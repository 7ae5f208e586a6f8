"""Local generation with llama.cpp (llama-cpp-python and its libmtmd): a folder made by ``vlkit export``.

The prompt is vlkit's own (the chat template, the images resized to the visual budget, the same token ids
and counts as the transformers backend — :class:`~vlkit.models.backends._local.LocalBackend`); llama.cpp
runs the vision encoder (the ``mmproj`` GGUF) and the language model, and vlkit drives the decode loop:
sampling, stop sequences and grammar-constrained tool calls and structured output (the same xgrammar
processors as the transformers backend).

Two caches (:mod:`vlkit.models.backends._cache`):

* the **vision cache** keeps each image's embeddings by a hash of its pixels and budget, so a repeated
  screenshot is not encoded again;
* the **prefix cache**: the context keeps the last conversation's attention state; when another
  conversation is about to overwrite it, the state is saved (bounded by bytes, least recently used out). A
  call prefills only what follows the longest prefix it shares with the context or a saved state — tokens,
  and images by their key. A conversation that goes on copies nothing.
"""

from __future__ import annotations

import ctypes
import json
import logging
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterator

import numpy as np

from vlkit.errors import ContextOverflowError, ModelNotFoundError, UnsupportedModelError
from vlkit.extras import require
from vlkit.models.backends._cache import ByteLRU, CacheConfig, PrefixCache, common_prefix, image_key
from vlkit.models.backends._local import IMAGE_PAD, LocalBackend, TextStream, eos_ids
from vlkit.models.backends.base import Delta, GenerationRequest, Usage
from vlkit.models.exported import ExportManifest, read_manifest
from vlkit.vision import ImageLimits
from vlkit.vision.families import FamilySpec, family_of_folder
from vlkit.vision.video import VideoLimits

__all__ = ["LlamaCppBackend", "GGUFModel", "load_gguf", "DEFAULT_CONTEXT"]

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 8192
"""Tokens of context allocated when not asked (the KV cache of a 2B model at f16: about 28 KiB a token, so
230 MiB; ten 256-token screenshots and their conversation fit)."""
N_BATCH = 512

_CACHE: dict[tuple[str, int, int, bool], "GGUFModel"] = {}
_CACHE_LOCK = threading.Lock()


def _llama():
    require("transformers", "local", "the llama.cpp backend's tokenizer and chat template")
    llama_cpp = require("llama_cpp", "llamacpp", "the llama.cpp backend")
    require("llama_cpp.mtmd_cpp", "llamacpp", "the llama.cpp backend's vision encoder")
    return llama_cpp


_LOG_CALLBACKS: list[Any] = []


def route_logs(llama_cpp: Any) -> None:
    """Route llama.cpp's and libmtmd's logs to vlkit's logger (once): its warnings at INFO (they are about
    its own defaults, such as its image-token minimum, which vlkit replaces), its errors at ERROR."""
    if _LOG_CALLBACKS:
        return
    from llama_cpp import mtmd_cpp

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: Any) -> None:
        if level in (3, 4):  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR (ggml.h)
            log.log(logging.INFO if level == 3 else logging.ERROR, "llama.cpp: %s", text.decode(errors="replace").rstrip())

    _LOG_CALLBACKS.append(callback)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    mtmd_cpp.mtmd_log_set(callback, ctypes.c_void_p(0))
    mtmd_cpp.mtmd_helper_log_set(callback, ctypes.c_void_p(0))


@dataclass
class _Live:
    """What the context's sequence 0 holds now: prompt units and where each starts (M-RoPE positions
    advance by an image's position span, not its token count)."""

    units: list[Hashable] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    end: int = 0


@dataclass
class _Saved:
    """An earlier prompt's state (``llama_state_seq_get_data``) and the positions it covers."""

    data: Any
    starts: tuple[int, ...]
    end: int


@dataclass(eq=False)
class GGUFModel:
    """An exported folder loaded into llama.cpp: model, context, vision encoder, tokenizer and caches."""

    folder: Path
    family: FamilySpec
    manifest: ExportManifest
    tokenizer: Any
    chat_template: str | None
    model: Any
    ctx: Any
    mtmd: Any
    n_ctx: int
    n_vocab: int
    n_embd_inp: int
    threads: int
    vision: ByteLRU[np.ndarray]
    prefix: PrefixCache[_Saved]
    device: str = "cpu"
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: _Live = field(default_factory=_Live)
    eos_ids: list[int] = field(default_factory=list)


def _context_length(folder: Path, n_ctx: int | None) -> int:
    data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    trained = (data.get("text_config") or {}).get("max_position_embeddings") or data.get("max_position_embeddings")
    trained = int(trained) if trained else DEFAULT_CONTEXT
    return min(n_ctx or DEFAULT_CONTEXT, trained)


def load_gguf(folder: str | Path, *, threads: int | None = None, n_ctx: int | None = None,
              cache: CacheConfig | None = None, repack: bool = True) -> GGUFModel:  # fmt: skip
    """Load (once per folder, threads, context size and ``repack``) the export in ``folder``.

    ``repack`` (llama.cpp's default): copy the Q4 weights into llama.cpp's interleaved CPU layout — the
    fastest decode; ``repack=False`` holds the weights once (about 0.6 GiB less for Qwen2-VL-2B at Q4_K_M)
    and prefills faster, for ~25 % slower decode (figures in benchmarks/README.md).
    """
    llama_cpp = _llama()
    from llama_cpp import mtmd_cpp
    from transformers import AutoTokenizer

    from vlkit.models.backends.loading import _chat_template
    from vlkit.models.machine import default_threads

    folder = Path(folder).expanduser()
    manifest = read_manifest(folder)
    if manifest is None or manifest.format != "gguf":
        raise ModelNotFoundError(f"{folder} is not a folder made by `vlkit export --to gguf` (no gguf {folder.name}/vlkit-export.json)")
    threads = threads or default_threads()
    n_ctx = _context_length(folder, n_ctx)
    key = (str(folder.resolve()), threads, n_ctx, repack)
    cache = cache or CacheConfig.from_env()
    with _CACHE_LOCK:
        if key in _CACHE:
            loaded = _CACHE[key]  # one context and one pair of caches per loaded model, as large as asked
            loaded.vision.max_bytes = max(loaded.vision.max_bytes, cache.vision_bytes)
            loaded.prefix.max_bytes = max(loaded.prefix.max_bytes, cache.prefix_bytes)
            return loaded
        route_logs(llama_cpp)
        llama_cpp.llama_backend_init()
        family = family_of_folder(folder)
        model_path = folder / manifest.model_file
        mmproj_path = folder / (manifest.mmproj_file or "")
        for path in (model_path, mmproj_path):
            if not path.is_file():
                raise ModelNotFoundError(f"{path} is missing; export the model again (vlkit export)")
        log.info("loading %s (%s, %s) with llama.cpp, %d threads, context %d", folder, family.model_type, manifest.quant, threads, n_ctx)
        mparams = llama_cpp.llama_model_default_params()
        mparams.use_extra_bufts = repack
        model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), mparams)
        if not model:
            raise ModelNotFoundError(f"llama.cpp could not load {model_path}")
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = cparams.n_ubatch = N_BATCH
        cparams.n_seq_max = 1
        cparams.n_threads = cparams.n_threads_batch = threads
        cparams.no_perf = True
        ctx = llama_cpp.llama_init_from_model(model, cparams)
        if not ctx:
            llama_cpp.llama_model_free(model)
            raise ModelNotFoundError(f"llama.cpp could not create a context of {n_ctx} tokens for {model_path}")
        mparams_mtmd = mtmd_cpp.mtmd_context_params_default()
        mparams_mtmd.use_gpu = False
        mparams_mtmd.print_timings = False
        mparams_mtmd.n_threads = threads
        mparams_mtmd.warmup = False
        mparams_mtmd.image_min_tokens = 1
        mparams_mtmd.image_max_tokens = n_ctx
        mtmd = mtmd_cpp.mtmd_init_from_file(str(mmproj_path).encode(), model, mparams_mtmd)
        if not mtmd:
            llama_cpp.llama_free(ctx)
            llama_cpp.llama_model_free(model)
            raise ModelNotFoundError(f"llama.cpp could not load the vision encoder {mmproj_path}")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        vocab = llama_cpp.llama_model_get_vocab(model)
        loaded = GGUFModel(
            folder=folder,
            family=family,
            manifest=manifest,
            tokenizer=tokenizer,
            chat_template=_chat_template(folder, tokenizer),
            model=model,
            ctx=ctx,
            mtmd=mtmd,
            n_ctx=n_ctx,
            n_vocab=int(llama_cpp.llama_vocab_n_tokens(vocab)),
            n_embd_inp=int(llama_cpp.llama_model_n_embd_inp(model)),
            threads=threads,
            vision=ByteLRU(cache.vision_bytes, lambda array: array.nbytes),
            prefix=PrefixCache(cache.prefix_bytes),
            eos_ids=eos_ids(tokenizer, _configured_eos(folder)),
        )
        weakref.finalize(loaded, _free, llama_cpp, mtmd_cpp, model, ctx, mtmd)
        _CACHE[key] = loaded
        return loaded


def _free(llama_cpp: Any, mtmd_cpp: Any, model: Any, ctx: Any, mtmd: Any) -> None:
    mtmd_cpp.mtmd_free(mtmd)
    llama_cpp.llama_free(ctx)
    llama_cpp.llama_model_free(model)


def _configured_eos(folder: Path) -> Any:
    config = folder / "generation_config.json"
    return json.loads(config.read_text(encoding="utf-8")).get("eos_token_id") if config.is_file() else None


class LlamaCppBackend(LocalBackend):
    """Runs an exported folder (``vlkit export MODEL --to gguf``) on llama.cpp; loads on first use.

    ``n_ctx``: tokens of context (default 8192); ``repack=False`` trades ~25 % of the decode speed for
    about 0.6 GiB less memory and faster prefill (see :func:`load_gguf`).

    Example:
        ```python
        llm = ChatQwenVL(model="qwen2vl-q4")  # the folder's manifest picks this backend
        ```
    """

    def __init__(
        self,
        model: str,
        *,
        threads: int | None = None,
        n_ctx: int | None = None,
        cache: CacheConfig | None = None,
        image_limits: ImageLimits | None = None,
        video_limits: VideoLimits | None = None,
        repack: bool = True,
    ) -> None:
        self.model_name = model
        self.threads = threads
        self.n_ctx = n_ctx
        self.repack = repack
        self.cache = cache or CacheConfig.from_env()
        self.image_limits = image_limits or ImageLimits()
        self.video_limits = video_limits or VideoLimits()

    def _load_checkpoint(self) -> GGUFModel:
        return load_gguf(self.model_name, threads=self.threads, n_ctx=self.n_ctx, cache=self.cache, repack=self.repack)

    @property
    def context_length(self) -> int | None:
        if self._loaded is not None:
            return self._loaded.n_ctx
        return _context_length(Path(self.model_name).expanduser(), self.n_ctx)

    @property
    def supports_video(self) -> bool:
        return False

    def clear_caches(self) -> None:
        if self._loaded is None:
            return
        lm = self._loaded
        with lm.lock:
            lm.vision.clear()
            lm.prefix.clear()
            llama_cpp = _llama()
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(lm.ctx), True)
            lm.live = _Live()

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        return self._run(request).run()

    def next_token_logits(self, request: GenerationRequest) -> np.ndarray:
        """The logits of the answer's first token for ``request``, nothing generated — what a check of
        agreement with another backend (or another quantisation) compares."""
        run = self._run(request)
        with run.lm.lock:
            run._prefill()
            return run.logits()

    def _run(self, request: GenerationRequest) -> "_Run":
        lm = self.checkpoint
        prompt, images, _ = self._render(request)
        pils = [self._resized(image, request) for image in images]
        units: list[Hashable] = []
        image_tokens = 0
        pieces = prompt.split(IMAGE_PAD)
        for i, piece in enumerate(pieces):
            units.extend(lm.tokenizer(piece, add_special_tokens=False)["input_ids"])
            if i < len(pils):
                tokens = lm.family.tokens_for(pils[i].height, pils[i].width)
                units.append(("image", image_key(pils[i], lm.family.model_type), tokens))
                image_tokens += tokens
        prompt_tokens = sum(unit[2] if isinstance(unit, tuple) else 1 for unit in units)
        if prompt_tokens + 1 > lm.n_ctx:
            raise ContextOverflowError(
                f"the prompt takes {prompt_tokens} tokens and the llama.cpp context holds {lm.n_ctx}; "
                "shorten it, lower the visual budget, or load a longer context (n_ctx)"
            )
        return _Run(lm, request, units, pils, prompt_tokens, image_tokens, self._processors(request), self.cache)

    def _processors(self, request: GenerationRequest) -> list[Any]:
        if request.response_schema is None and not request.forces_tool_call:
            return []
        from vlkit.models import constrained

        lm = self.checkpoint
        return constrained.processors_for(lm, request, vocab_size=lm.n_vocab)


class _Run:
    """One generation: restore the longest cached prefix, prefill the rest, then decode token by token."""

    def __init__(self, lm: GGUFModel, request: GenerationRequest, units: list[Hashable], pils: list[Any],
                 prompt_tokens: int, image_tokens: int, processors: list[Any], cache: CacheConfig) -> None:  # fmt: skip
        self.lm, self.request, self.units, self.pils = lm, request, units, pils
        self.use_prefix = cache.prefix_bytes > 0 and lm.prefix.enabled
        self.use_vision = cache.vision_bytes > 0 and lm.vision.enabled
        self.prompt_tokens, self.image_tokens, self.processors = prompt_tokens, image_tokens, processors
        self.llama_cpp = _llama()
        from llama_cpp import mtmd_cpp

        self.mtmd_cpp = mtmd_cpp
        self.cached_tokens = 0
        self.vision_hits = 0

    def run(self) -> Iterator[Delta]:
        lm = self.lm
        text = TextStream(lm.tokenizer, lm.eos_ids, self.request.stop)
        with lm.lock:
            tokens = self._tokens()
            try:
                yield from text.run(tokens)
            finally:
                tokens.close()
        yield Delta(
            usage=Usage(
                input_tokens=self.prompt_tokens,
                output_tokens=text.count,
                image_tokens=self.image_tokens,
                cached_tokens=self.cached_tokens,
            ),
            finish_reason=text.finish,
            metadata={"image_tokens": self.image_tokens, "vision_cache_hits": self.vision_hits},
        )

    # ------------------------------------------------------------------ prompt

    def _tokens(self) -> Iterator[int]:
        self._prefill()
        yield from self._decode()

    def _prefill(self) -> None:
        lm, units, live = self.lm, self.units, self.lm.live
        keep = min(common_prefix(live.units, units), len(units) - 1) if self.use_prefix else 0
        # (the last prompt token is always decoded: it gives the first answer token's logits)
        if self.use_prefix:
            self._stash(keep)  # before the units after ``keep`` are dropped or replaced
            entry, shared = lm.prefix.longest(units)
            shared = min(shared, len(units) - 1)
            if entry is not None and shared > keep:
                self._restore(entry.units, entry.state)
                keep = shared
        memory = self.llama_cpp.llama_get_memory(lm.ctx)
        cut = live.starts[keep] if keep < len(live.starts) else live.end
        if not self.llama_cpp.llama_memory_seq_rm(memory, 0, cut, -1):
            self.llama_cpp.llama_memory_clear(memory, True)
            keep, cut = 0, 0
        del live.units[keep:], live.starts[keep:]
        live.end = cut
        self.cached_tokens = sum(u[2] if isinstance(u, tuple) else 1 for u in units[:keep])
        images = iter(self.pils[sum(isinstance(u, tuple) for u in units[:keep]):])
        i = keep
        while i < len(units):
            if isinstance(units[i], tuple):
                self._image(units[i], next(images))
                i += 1
                continue
            j = i
            while j < len(units) and not isinstance(units[j], tuple) and j - i < N_BATCH:
                j += 1
            self._text(units[i:j], last=j == len(units))
            i = j

    def _restore(self, units: tuple[Hashable, ...], saved: _Saved) -> None:
        lm = self.lm
        if self.llama_cpp.llama_state_seq_set_data(lm.ctx, saved.data, len(saved.data), 0) == 0:
            return
        lm.live.units, lm.live.starts, lm.live.end = list(units), list(saved.starts), saved.end

    def _stash(self, keep: int) -> None:
        """Save the context's state before a prompt that keeps only ``keep`` of its units overwrites the rest
        (another conversation comes in), so a later call can bring it back. A call that continues the same
        conversation copies nothing; entries the saved state extends are dropped."""
        lm, live = self.lm, self.lm.live
        if len(live.units) - keep < lm.prefix.min_units:
            return
        size = self.llama_cpp.llama_state_seq_get_size(lm.ctx, 0)
        if size <= 0 or size > lm.prefix.max_bytes:
            return
        data = (ctypes.c_uint8 * size)()
        written = self.llama_cpp.llama_state_seq_get_data(lm.ctx, data, size, 0)
        if not written:
            return
        for _, entry in lm.prefix.entries():
            if common_prefix(entry.units, live.units) == len(entry.units):  # superseded by the state saved now
                lm.prefix.pop(entry.units)
        lm.prefix.put(live.units, _Saved(data, tuple(live.starts), live.end), written)

    def _text(self, tokens: list[Hashable], *, last: bool) -> None:
        llama_cpp, lm, live = self.llama_cpp, self.lm, self.lm.live
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        try:
            batch.n_tokens = len(tokens)
            for k, token in enumerate(tokens):
                batch.token[k] = int(token)  # type: ignore[call-overload]
                batch.pos[k] = live.end + k
                batch.n_seq_id[k] = 1
                batch.seq_id[k][0] = 0
                batch.logits[k] = last and k == len(tokens) - 1
            self._decode_batch(batch)
        finally:
            llama_cpp.llama_batch_free(batch)
        live.starts.extend(range(live.end, live.end + len(tokens)))
        live.units.extend(tokens)
        live.end += len(tokens)

    def _decode_batch(self, batch: Any) -> None:
        status = self.llama_cpp.llama_decode(self.lm.ctx, batch)
        if status != 0:
            self.lm.live.units.clear()
            self.lm.live.starts.clear()
            self.llama_cpp.llama_memory_clear(self.llama_cpp.llama_get_memory(self.lm.ctx), True)
            self.lm.live.end = 0
            raise RuntimeError(f"llama.cpp could not decode the batch (status {status})")

    def _image(self, unit: tuple, pil: Any) -> None:
        lm, mtmd_cpp, live = self.lm, self.mtmd_cpp, self.lm.live
        _, key, expected = unit
        chunks, chunk = self._image_chunk(pil)
        try:
            n_tokens = mtmd_cpp.mtmd_input_chunk_get_n_tokens(chunk)
            if n_tokens != expected:
                raise UnsupportedModelError(
                    f"llama.cpp gives a {pil.width}×{pil.height} image {n_tokens} tokens where vlkit counts "
                    f"{expected}; the export's vision encoder does not match its config.json"
                )
            embd = lm.vision.get(key) if self.use_vision else None
            if embd is None:
                if mtmd_cpp.mtmd_encode_chunk(lm.mtmd, chunk) != 0:
                    raise RuntimeError("llama.cpp's vision encoder failed on an image")
                out = mtmd_cpp.mtmd_get_output_embd(lm.mtmd)
                embd = np.ctypeslib.as_array(out, shape=(n_tokens * lm.n_embd_inp,)).copy()
                if self.use_vision:
                    lm.vision.put(key, embd)
            else:
                self.vision_hits += 1
            new_end = self.llama_cpp.llama_pos(0)
            status = mtmd_cpp.mtmd_helper_decode_image_chunk(
                lm.mtmd, lm.ctx, chunk, embd.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), live.end, 0, N_BATCH,
                ctypes.byref(new_end), ctypes.cast(None, mtmd_cpp.mtmd_helper_post_decode_callback), None,
            )  # fmt: skip
            if status != 0:
                raise RuntimeError(f"llama.cpp could not decode an image (status {status})")
        finally:
            mtmd_cpp.mtmd_input_chunks_free(chunks)
        live.units.append(unit)
        live.starts.append(live.end)
        live.end = int(new_end.value)

    def _image_chunk(self, pil: Any) -> tuple[Any, Any]:
        """libmtmd's image chunk for ``pil`` (already at the size vlkit resized it to)."""
        mtmd_cpp, lm = self.mtmd_cpp, self.lm
        rgb = np.ascontiguousarray(np.asarray(pil.convert("RGB"), dtype=np.uint8))
        bitmap = mtmd_cpp.mtmd_bitmap_init(pil.width, pil.height, rgb.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        chunks = mtmd_cpp.mtmd_input_chunks_init()
        try:
            marker = mtmd_cpp.mtmd_default_marker()
            text = mtmd_cpp.mtmd_input_text(marker, len(marker), False, True)
            bitmaps = (mtmd_cpp.mtmd_bitmap_p_ctypes * 1)(bitmap)
            if mtmd_cpp.mtmd_tokenize(lm.mtmd, chunks, ctypes.byref(text), bitmaps, 1) != 0:
                raise RuntimeError("libmtmd could not take the image")
        finally:
            mtmd_cpp.mtmd_bitmap_free(bitmap)
        for i in range(mtmd_cpp.mtmd_input_chunks_size(chunks)):
            chunk = mtmd_cpp.mtmd_input_chunks_get(chunks, i)
            if mtmd_cpp.mtmd_input_chunk_get_type(chunk) == mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                return chunks, chunk
        mtmd_cpp.mtmd_input_chunks_free(chunks)
        raise RuntimeError("libmtmd made no image chunk")

    # ------------------------------------------------------------------ answer

    def logits(self) -> np.ndarray:
        """The logits after the last decoded token (a copy)."""
        out = self.llama_cpp.llama_get_logits_ith(self.lm.ctx, -1)
        return np.ctypeslib.as_array(out, shape=(self.lm.n_vocab,)).copy()

    def _decode(self) -> Iterator[int]:
        llama_cpp, lm, request = self.llama_cpp, self.lm, self.request
        sample = bool(request.temperature and request.temperature > 0)
        rng = np.random.default_rng(request.seed)
        eos = set(lm.eos_ids)
        generated: list[int] = []
        batch = llama_cpp.llama_batch_init(1, 0, 1)
        try:
            for _ in range(request.max_tokens):
                logits = self.logits()
                if self.processors:
                    logits = self._constrain(logits, generated)
                token = _sample(logits, request.temperature, request.top_p, rng) if sample else int(np.argmax(logits))
                generated.append(token)
                yield token
                if token in eos or lm.live.end + 1 >= lm.n_ctx:
                    return
                self.feed(token, batch)
        finally:
            llama_cpp.llama_batch_free(batch)

    def feed(self, token: int, batch: Any) -> None:
        """Decode one ``token`` after what the context holds (``batch``: a one-token ``llama_batch``)."""
        live = self.lm.live
        batch.n_tokens = 1
        batch.token[0] = token
        batch.pos[0] = live.end
        batch.n_seq_id[0] = 1
        batch.seq_id[0][0] = 0
        batch.logits[0] = True
        self._decode_batch(batch)
        live.units.append(token)
        live.starts.append(live.end)
        live.end += 1

    def _constrain(self, logits: np.ndarray, generated: list[int]) -> np.ndarray:
        import torch

        ids = torch.tensor([[0, *generated]], dtype=torch.long)  # the processors read the length and last token
        scores = torch.from_numpy(logits).unsqueeze(0)
        for processor in self.processors:
            scores = processor(ids, scores)
        return scores[0].numpy()


def _sample(logits: np.ndarray, temperature: float, top_p: float | None, rng: np.random.Generator) -> int:
    finite = np.isfinite(logits)
    scaled = np.where(finite, logits / temperature, -np.inf)
    scaled -= scaled[finite].max()
    probs = np.exp(scaled)
    probs /= probs.sum()
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs)
        cumulative = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    return int(rng.choice(len(probs), p=probs))
