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

from vlkit.errors import UnsupportedModelError
from vlkit.models.backends import _video
from vlkit.models.backends.base import Backend, Delta, GenerationRequest, ImageCount, TokenCount, Usage
from vlkit.models.backends.loading import LoadedModel, load_model, pick_device, resolve_checkpoint
from vlkit.vision import ImageInput, ImageLimits, resized_size, smart_resize, visual_budget
from vlkit.vision.video import VideoBudget, VideoInput, VideoLimits, video_budget
from vlkit.models.prompting import template_messages

__all__ = ["TransformersBackend", "PreparedInputs"]

log = logging.getLogger(__name__)

IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"


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

    @property
    def video_tokens(self) -> int:
        return sum(self.videos.tokens) if self.videos is not None else 0


class TransformersBackend(Backend):
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
    ) -> None:
        self.model_name = model
        self._load_args = dict(
            device=device, dtype=dtype, attn_implementation=attn_implementation, local_files_only=local_files_only
        )
        self._loaded: LoadedModel | None = None
        self.image_limits = image_limits or ImageLimits()
        self.video_limits = video_limits or VideoLimits()

    @property
    def checkpoint(self) -> LoadedModel:
        """The loaded checkpoint (network, tokenizer, image processor, device), loading it on first use."""
        if self._loaded is None:
            self._loaded = load_model(self.model_name, **self._load_args)
        return self._loaded

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> None:
        self.checkpoint  # noqa: B018  (the property loads)

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

    @property
    def native_tools(self) -> bool:
        """Qwen3-VL's chat template renders tools, calls and results; the Qwen2/2.5-VL templates drop them."""
        return self.checkpoint.family.template_supports_tools

    # ------------------------------------------------------------------ prompt

    def count_tokens(self, request: GenerationRequest) -> TokenCount:
        """The exact prompt length of ``request``: the rendered template tokenised with one placeholder per
        image, plus each image's tokens from its size (header) and visual budget, and each video's from its
        container header and the video budget (Qwen3-VL's ``<t seconds>`` text tokenised with the prompt) —
        what :meth:`prepare` will build, without decoding a frame. Loads the checkpoint (its tokenizer) on
        first use."""
        lm = self.checkpoint
        prompt, images, videos = self._render(request)
        counts = tuple(self._image_count(image, request) for image in images)
        video_counts, texts = [], []
        for video in videos:
            count, text = _video.count_video(video, lm.family, self._video_budget(request), self.video_limits)
            video_counts.append(count)
            texts.append(text)
        if videos:
            prompt = _video.expand_video_slots(prompt, texts)
        tokens = len(lm.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        tokens += sum(c.tokens - 1 for c in counts) + sum(c.tokens - t.count(VIDEO_PAD) for c, t in zip(video_counts, texts))
        return TokenCount(prompt_tokens=tokens, images=counts, videos=tuple(video_counts))

    def _image_count(self, image: ImageInput, request: GenerationRequest) -> ImageCount:
        family = self.checkpoint.family
        size = image.size or (image.pil.size if image.pil is not None else None)
        if size is None:  # a remote URL not fetched yet: its size needs the bytes
            size = image.to_pil(self.image_limits).size
        low, high = self._budget(image, request)
        width, height = resized_size(family, size[0], size[1], low, high)
        return ImageCount(size=(size[0], size[1]), resized=(width, height), tokens=family.tokens_for(height, width))

    def _video_budget(self, request: GenerationRequest) -> VideoBudget:
        """The video budget of ``request``: each frame at most the request's image ``max_pixels`` (the one
        visual-budget knob of a chat model) and 768 tokens, all frames at most 0.9 × the context; a video
        block's own ``min_pixels`` / ``max_pixels`` win over both."""
        lm = self.checkpoint
        return video_budget(lm.family, lm.device, context_tokens=self.context_length, image_max_pixels=request.max_pixels)

    def _render(self, request: GenerationRequest) -> tuple[str, list[ImageInput], list[VideoInput]]:
        """The chat template rendered (one placeholder per image and per video) and the images and videos in
        prompt order."""
        lm = self.checkpoint
        turns, template_tools = self.prompt_turns(request)
        messages, images, videos = template_messages(turns)
        if not lm.chat_template:
            raise UnsupportedModelError(f"{lm.folder} has no chat template; is it an -Instruct checkpoint?")
        prompt = lm.tokenizer.apply_chat_template(
            messages,
            tools=template_tools,
            chat_template=lm.chat_template,
            tokenize=False,
            add_generation_prompt=True,
        )
        if prompt.count(IMAGE_PAD) != len(images):
            raise UnsupportedModelError(
                f"the chat template placed {prompt.count(IMAGE_PAD)} image slots for {len(images)} images; "
                "the checkpoint's template does not look like a Qwen-VL template"
            )
        if prompt.count(_video.VIDEO_SLOT) != len(videos):
            raise UnsupportedModelError(
                f"the chat template placed {prompt.count(_video.VIDEO_SLOT)} video slots for {len(videos)} videos; "
                "the checkpoint's template does not look like a Qwen-VL template"
            )
        return prompt, images, videos

    def prepare(self, request: GenerationRequest) -> PreparedInputs:
        """Render the chat template, resize the images to the visual budget, decode the videos under the
        video budget, and tokenise."""
        lm = self.checkpoint
        family = lm.family
        prompt, images, videos = self._render(request)
        pixel_values = grid = None
        image_tokens = 0
        if images:
            pils = [self._resized(image, request) for image in images]
            out = lm.image_processor(images=pils, do_resize=False, return_tensors="pt")
            pixel_values, grid = out["pixel_values"].to(lm.device, lm.dtype), out["image_grid_thw"]
            per_image = [int(g.prod()) // family.merge_size**2 for g in grid]
            image_tokens = sum(per_image)
            prompt = _expand_image_pads(prompt, per_image)
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
        )

    def _budget(self, image: ImageInput, request: GenerationRequest) -> tuple[int, int]:
        """``(min_pixels, max_pixels)`` for ``image``: its own budget, else the request's, else the default."""
        return visual_budget(
            self.checkpoint.family,
            self.checkpoint.device,
            min_pixels=image.min_pixels or request.min_pixels,
            max_pixels=image.max_pixels or request.max_pixels,
        )

    def _resized(self, image: ImageInput, request: GenerationRequest):
        pil = image.to_pil(self.image_limits)
        return resize_for(self.checkpoint.family, pil, *self._budget(image, request))

    # ------------------------------------------------------------------ generation

    def stream(self, request: GenerationRequest) -> Iterator[Delta]:
        inputs = self.prepare(request)
        return _Generation(self.checkpoint, inputs, request, self._logits_processors(request, inputs)).run()

    def _logits_processors(self, request: GenerationRequest, inputs: PreparedInputs) -> list[Any]:
        if request.response_schema is None and not request.forces_tool_call:
            return []
        from vlkit.models import constrained  # torch + xgrammar: only when a grammar is needed

        return constrained.processors_for(self.checkpoint, request)


def resize_for(family: Any, pil: Any, min_pixels: int, max_pixels: int) -> Any:
    """Resize to the visual budget: qwen-vl-utils' ``fetch_image`` where it imports (it needs torchvision),
    else the same smart_resize + bicubic here."""
    fetch_image = _qwen_vl_utils_fetch_image()
    if fetch_image is not None:
        import inspect

        element = {"image": pil, "min_pixels": min_pixels, "max_pixels": max_pixels}
        if "image_patch_size" in inspect.signature(fetch_image).parameters:
            return fetch_image(element, image_patch_size=family.patch_size)
        return fetch_image(element, size_factor=family.factor)
    from PIL import Image

    height, width = smart_resize(pil.height, pil.width, family.factor, min_pixels, max_pixels)
    if (width, height) != pil.size:
        pil = pil.resize((width, height), Image.Resampling.BICUBIC)
    return pil


def _qwen_vl_utils_fetch_image() -> Any:
    try:
        from qwen_vl_utils import fetch_image
    except Exception:  # not installed, or torchvision missing/broken (ImportError, RuntimeError, …)
        return None
    return fetch_image


def _expand_image_pads(prompt: str, per_image: list[int]) -> str:
    """Each image's one placeholder (``_render`` checked there is one per image) becomes its token count."""
    pieces = prompt.split(IMAGE_PAD)
    out = [pieces[0]]
    for count, piece in zip(per_image, pieces[1:]):
        out.append(IMAGE_PAD * count)
        out.append(piece)
    return "".join(out)


class _Generation:
    """One streamed generation: ``model.generate`` in a worker thread, text decoded incrementally here."""

    _DONE = object()

    def __init__(self, lm: LoadedModel, inputs: PreparedInputs, request: GenerationRequest, processors: list) -> None:
        self.lm, self.inputs, self.request, self.processors = lm, inputs, request, processors
        self.tokens: queue.Queue = queue.Queue()
        self.cancel = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> Iterator[Delta]:
        worker = threading.Thread(target=self._generate, name="vlkit-generate", daemon=True)
        worker.start()
        try:
            yield from self._decode()
        finally:
            self.cancel.set()
            worker.join()

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
                if request.seed is not None:
                    torch.manual_seed(request.seed)
                lm.model.generate(
                    **kwargs,
                    generation_config=config,
                    streamer=QueueStreamer(),
                    stopping_criteria=StoppingCriteriaList([Cancelled()]),
                    logits_processor=LogitsProcessorList(self.processors),
                )
        except BaseException as exc:  # re-raised in the consuming thread
            self.error = exc
        finally:
            self.tokens.put(self._DONE)

    def _decode(self) -> Iterator[Delta]:
        """Decode token by token in O(1) per token: only the tokens since the last clean UTF-8 boundary
        are decoded (byte-level BPE decodes piecewise), and text that could start a stop sequence is held back.
        """
        tokenizer = self.lm.tokenizer
        eos = set(_eos_ids(self.lm))
        stops = [s for s in self.request.stop if s]
        hold = max((len(s) for s in stops), default=1) - 1
        count = 0
        pending: list[int] = []
        text = ""
        emitted = 0
        finish = "length"
        stopped = False
        while True:
            token = self.tokens.get()
            if token is self._DONE:
                break
            count += 1
            if token in eos:
                finish = "stop"
                continue
            pending.append(token)
            piece = tokenizer.decode(pending, skip_special_tokens=True)
            if piece.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for the next token
                continue
            pending.clear()
            searched_from = max(0, len(text) - hold)
            text += piece
            cut = _first_stop(text, stops, searched_from)
            if cut is not None:
                stopped, finish = True, "stop"
                if cut > emitted:
                    yield Delta(text=text[emitted:cut])
                self.cancel.set()
                break
            safe = len(text) - hold
            if safe > emitted:
                yield Delta(text=text[emitted:safe])
                emitted = safe
        if self.error is not None and not isinstance(self.error, GeneratorExit):
            raise self.error
        if not stopped:
            text += tokenizer.decode(pending, skip_special_tokens=True) if pending else ""
            if len(text) > emitted:
                yield Delta(text=text[emitted:])
        metadata: dict[str, Any] = {"image_tokens": self.inputs.image_tokens}
        if self.inputs.videos is not None:
            metadata.update(video_tokens=self.inputs.video_tokens, videos=self.inputs.videos.metadata)
        yield Delta(
            usage=Usage(
                input_tokens=int(self.inputs.input_ids.shape[1]),
                output_tokens=count,
                image_tokens=self.inputs.image_tokens,
                video_tokens=self.inputs.video_tokens,
            ),
            finish_reason=finish,
            metadata=metadata,
        )


def _first_stop(text: str, stops: list[str], start: int = 0) -> int | None:
    positions = [text.find(s, start) for s in stops]
    found = [p for p in positions if p >= 0]
    return min(found) if found else None


def _eos_ids(lm: LoadedModel) -> list[int]:
    config = getattr(lm.model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        eos = lm.tokenizer.eos_token_id
    ids = list(eos) if isinstance(eos, (list, tuple)) else [eos]
    im_end = lm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end >= 0 and im_end not in ids:
        ids.append(im_end)
    return [i for i in ids if i is not None]
