"""Local generation with transformers: Qwen2-VL, Qwen2.5-VL and Qwen3-VL checkpoints on CPU, CUDA or MPS.

Images and videos both: a video's frames are sampled, decoded and turned into model inputs by
:mod:`vlkit.models.backends._video`.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from vlkit.models.backends import _video
from vlkit.models.backends._cache import CacheConfig, image_key
from vlkit.models.backends._local import (
    IMAGE_PAD, VIDEO_PAD, LocalBackend, TextStream, eos_ids, expand_image_pads, resize_for,
)  # fmt: skip
from vlkit.models.backends.base import Delta, GenerationRequest, Usage
from vlkit.models.backends.loading import LoadedModel, load_model, pick_device, resolve_checkpoint
from vlkit.vision import ImageLimits
from vlkit.vision.video import VideoLimits

__all__ = ["TransformersBackend", "PreparedInputs", "resize_for"]

log = logging.getLogger(__name__)


@dataclass
class PreparedInputs:
    """Tokenised prompt and pixel tensors for one request."""

    prompt: str
    input_ids: Any
    attention_mask: Any
    pixel_values: Any | None
    image_grid_thw: Any | None
    image_tokens: int
    mm_token_type_ids: Any | None = None
    """1 where a token is an image placeholder, 2 a video one: transformers computes M-RoPE positions from it."""
    videos: _video.VideoInputs | None = None
    """The videos' tensors and sampling, None without videos."""
    image_keys: list[str] | None = None
    """Each image's cache key (``_cache.image_key`` of its resized pixels); None when the caches are off."""

    @property
    def video_tokens(self) -> int:
        return sum(self.videos.tokens) if self.videos is not None else 0


class TransformersBackend(LocalBackend):
    """Runs a checkpoint in-process. The model loads on first use (or :meth:`load`) and is shared (see ``loading``).

    Besides :meth:`stream` it counts a request's prompt exactly before running it (:meth:`count_tokens`:
    the chat template tokenised, each image's tokens from its header size and the visual budget, each
    video's from its container header and the video budget, no pixel decoded) and reads the context length
    from the checkpoint's ``config.json``.
    """

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        attn_implementation: str | None = None,
        local_files_only: bool = False,
        image_limits: ImageLimits | None = None,
        video_limits: VideoLimits | None = None,
        threads: int | None = None,
        cache: CacheConfig | None = None,
    ) -> None:
        self.model_name = model
        self.threads = threads
        self.cache = cache or CacheConfig.from_env()
        self._load_args = dict(
            device=device, dtype=dtype, attn_implementation=attn_implementation, local_files_only=local_files_only
        )
        self._loaded: LoadedModel | None = None
        self.image_limits = image_limits or ImageLimits()
        self.video_limits = video_limits or VideoLimits()

    def _load_checkpoint(self) -> LoadedModel:
        """The checkpoint (network, tokenizer, image processor, device), loaded once per process (``loading``)."""
        return load_model(self.model_name, threads=self.threads, **self._load_args)

    @property
    def device(self) -> str:
        """Where the model runs: the loaded model's device, else the one ``device=`` picks (no load)."""
        return self._loaded.device if self._loaded is not None else pick_device(self._load_args["device"])

    @property
    def context_length(self) -> int | None:
        """The checkpoint's ``max_position_embeddings`` (its text model's), read without loading the weights."""
        if self._loaded is not None:
            config = self._loaded.model.config
            text = getattr(config, "text_config", None) or config
            value = getattr(text, "max_position_embeddings", None) or getattr(config, "max_position_embeddings", None)
        else:
            folder = resolve_checkpoint(self.model_name, local_files_only=bool(self._load_args["local_files_only"]))
            data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            value = (data.get("text_config") or {}).get("max_position_embeddings") or data.get("max_position_embeddings")
        return int(value) if value else None

    @property
    def supports_video(self) -> bool:
        return True

    def clear_caches(self) -> None:
        if self._loaded is not None:
            from vlkit.models.backends._kv import drop_caches

            drop_caches(self._loaded)

    # ------------------------------------------------------------------ inputs

    def prepare(self, request: GenerationRequest) -> PreparedInputs:
        """Render the chat template, resize the images to the visual budget, decode the videos under the
        video budget, and tokenise."""
        lm = self.checkpoint
        family = lm.family
        prompt, images, videos = self._render(request)
        pixel_values = grid = keys = None
        image_tokens = 0
        if images:
            pils = [self._resized(image, request) for image in images]
            if self.caching:
                keys = [image_key(pil, family.model_type) for pil in pils]
            out = lm.image_processor(images=pils, do_resize=False, return_tensors="pt")
            pixel_values, grid = out["pixel_values"].to(lm.device, lm.dtype), out["image_grid_thw"]
            per_image = [int(g.prod()) // family.merge_size**2 for g in grid]
            image_tokens = sum(per_image)
            prompt = expand_image_pads(prompt, per_image)
            grid = grid.to(lm.device)
        video_inputs = None
        if videos:
            budget = self._video_budget(request)
            video_inputs = _video.prepare_videos(lm, videos, [budget] * len(videos), self.video_limits)
            prompt = _video.expand_video_slots(prompt, video_inputs.placeholders)
        encoded = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        input_ids = encoded["input_ids"].to(lm.device)
        mm_token_type_ids = None
        if images or videos:
            mm_token_type_ids = (input_ids == lm.tokenizer.convert_tokens_to_ids(IMAGE_PAD)).long()
            mm_token_type_ids += 2 * (input_ids == lm.tokenizer.convert_tokens_to_ids(VIDEO_PAD)).long()
        return PreparedInputs(
            prompt=prompt,
            input_ids=input_ids,
            attention_mask=encoded["attention_mask"].to(lm.device),
            pixel_values=pixel_values,
            image_grid_thw=grid,
            image_tokens=image_tokens,
            mm_token_type_ids=mm_token_type_ids,
            videos=video_inputs,
            image_keys=keys,
        )

    # ------------------------------------------------------------------ generation

    @property
    def caching(self) -> bool:
        """Whether the prefix or the vision cache is on (``cache=CacheConfig(0, 0)`` runs without either)."""
        return self.cache.prefix_bytes > 0 or self.cache.vision_bytes > 0

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        inputs = self.prepare(request)
        caches = None
        if self.caching:
            from vlkit.models.backends import _kv  # torch

            caches = _kv.caches_for(self.checkpoint, self.cache)
        return _Generation(self.checkpoint, inputs, request, self._logits_processors(request, inputs), caches).run()

    def _logits_processors(self, request: GenerationRequest, inputs: PreparedInputs) -> list[Any]:
        if request.response_schema is None and not request.forces_tool_call:
            return []
        from vlkit.models import constrained  # torch + xgrammar: only when a grammar is needed

        return constrained.processors_for(self.checkpoint, request)


class _Generation:
    """One streamed generation: ``model.generate`` in a worker thread, text decoded incrementally here."""

    _DONE = object()

    def __init__(
        self, lm: LoadedModel, inputs: PreparedInputs, request: GenerationRequest, processors: list, caches: Any = None
    ) -> None:
        self.lm, self.inputs, self.request, self.processors = lm, inputs, request, processors
        self.caches = caches
        """The model's ``_kv.ModelCaches``, None with the caches off."""
        self.prefill: Any = None
        self.tokens: queue.Queue = queue.Queue()
        self.cancel = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> Iterator[Delta]:
        worker = threading.Thread(target=self._generate, name="vlkit-generate", daemon=True)
        worker.start()
        text = TextStream(self.lm.tokenizer, _eos_ids(self.lm), self.request.stop)
        try:
            yield from text.run(self._tokens())
        finally:
            self.cancel.set()
            worker.join()
        if self.error is not None and not isinstance(self.error, GeneratorExit):
            raise self.error
        metadata: dict[str, Any] = {"image_tokens": self.inputs.image_tokens}
        if self.inputs.videos is not None:
            metadata.update(video_tokens=self.inputs.video_tokens, videos=self.inputs.videos.metadata)
        prefill = self.prefill
        if prefill is not None and self.caches.vision.enabled:
            metadata["vision_cache_hits"] = prefill.vision_hits
        yield Delta(
            usage=Usage(
                input_tokens=int(self.inputs.input_ids.shape[1]),
                output_tokens=text.count,
                image_tokens=self.inputs.image_tokens,
                video_tokens=self.inputs.video_tokens,
                cached_tokens=prefill.cached_tokens if prefill is not None else 0,
            ),
            finish_reason=text.finish,
            metadata=metadata,
        )

    def _tokens(self) -> Iterator[int]:
        while (token := self.tokens.get()) is not self._DONE:
            yield token

    def _generate(self) -> None:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        outer = self

        class QueueStreamer(BaseStreamer):
            first = True

            def put(self, value: Any) -> None:
                if self.first:  # generate() first hands over the prompt
                    self.first = False
                    return
                for token in value.reshape(-1).tolist():
                    outer.tokens.put(token)

            def end(self) -> None:
                pass

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), outer.cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        lm, request, inputs = self.lm, self.request, self.inputs
        tokenizer = lm.tokenizer
        eos = _eos_ids(lm)
        sample = bool(request.temperature and request.temperature > 0)
        config = GenerationConfig(
            max_new_tokens=request.max_tokens,
            do_sample=sample,
            temperature=request.temperature if sample else None,
            top_p=request.top_p if sample else None,
            top_k=None,
            eos_token_id=eos,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0],
        )
        kwargs: dict[str, Any] = dict(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask)
        if inputs.pixel_values is not None:
            kwargs.update(pixel_values=inputs.pixel_values, image_grid_thw=inputs.image_grid_thw)
        if inputs.videos is not None:
            kwargs.update(
                pixel_values_videos=inputs.videos.pixel_values_videos, video_grid_thw=inputs.videos.video_grid_thw
            )
            if lm.family.model_type == "qwen2_5_vl":  # M-RoPE's temporal positions follow seconds
                kwargs["second_per_grid_ts"] = inputs.videos.second_per_grid_ts
        if inputs.mm_token_type_ids is not None:
            kwargs["mm_token_type_ids"] = inputs.mm_token_type_ids
        try:
            with lm.lock, torch.inference_mode():
                if self.caches is not None:
                    from vlkit.models.backends._kv import Prefill

                    self.prefill = Prefill.plan(lm, self.caches, inputs)
                    kwargs = self.prefill.generate_kwargs(kwargs)
                if request.seed is not None:
                    torch.manual_seed(request.seed)
                lm.model.generate(
                    **kwargs,
                    generation_config=config,
                    streamer=QueueStreamer(),
                    stopping_criteria=StoppingCriteriaList([Cancelled()]),
                    logits_processor=LogitsProcessorList(self.processors),
                )
                if self.prefill is not None:
                    self.prefill.save()
        except BaseException as exc:  # re-raised in the consuming thread
            self.error = exc
        finally:
            self.tokens.put(self._DONE)

def _eos_ids(lm: LoadedModel) -> list[int]:
    return eos_ids(lm.tokenizer, getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None))
