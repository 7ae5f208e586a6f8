"""What the local backends share: the prompt (chat template, image and video slots, exact token counts,
images resized to the visual budget) and the token-by-token text stream.

:class:`LocalBackend` is the base of every in-process runtime (transformers, llama.cpp). A subclass
provides :attr:`LocalBackend.checkpoint` — anything with ``folder``, ``family``, ``tokenizer`` (a Hugging
Face tokenizer), ``chat_template`` and ``device`` — and so renders and counts prompts exactly as every other
local backend does: the same template, the same resize (tools' coordinates hold on every backend), the
same token ids.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Iterable, Iterator, Protocol

from vlkit.errors import UnsupportedModelError
from vlkit.models.backends import _video
from vlkit.models.backends.base import Backend, Delta, GenerationRequest, ImageCount, TokenCount
from vlkit.vision import ImageInput, ImageLimits, resized_size, smart_resize, visual_budget
from vlkit.vision.families import FamilySpec
from vlkit.vision.video import VideoBudget, VideoInput, VideoLimits, video_budget
from vlkit.models.prompting import template_messages

__all__ = ["IMAGE_PAD", "VIDEO_PAD", "LocalBackend", "PromptParts", "TextStream", "eos_ids", "expand_image_pads", "resize_for"]

IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"


class PromptParts(Protocol):
    """What a local backend's loaded model offers for building prompts."""

    folder: Any
    family: FamilySpec
    tokenizer: Any
    chat_template: str | None
    device: str


class LocalBackend(Backend):
    """A backend that runs a Qwen-VL checkpoint in this process and builds its prompt itself.

    Subclasses set ``image_limits`` / ``video_limits`` and implement :attr:`checkpoint` and :meth:`stream`.
    """

    image_limits: ImageLimits
    video_limits: VideoLimits
    _loaded: Any = None

    @abstractmethod
    def _load_checkpoint(self) -> PromptParts:
        """Load the model (called once, by :attr:`checkpoint`)."""

    @property
    def checkpoint(self) -> Any:
        """The loaded model (tokenizer, template, family, device, the runtime's handles), loaded on first use."""
        if self._loaded is None:
            self._loaded = self._load_checkpoint()
        return self._loaded

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> None:
        self.checkpoint  # noqa: B018  (the property loads)

    @property
    def device(self) -> str:
        """Where the model runs (known without loading it)."""
        return "cpu"

    def clear_caches(self) -> None:
        """Forget cached prompt prefixes and image embeddings: the next call starts cold (nothing to do for a
        backend without caches)."""

    @property
    def native_tools(self) -> bool:
        """Qwen3-VL's chat template renders tools, calls and results; the Qwen2/2.5-VL templates drop them."""
        return self.checkpoint.family.template_supports_tools

    # ------------------------------------------------------------------ prompt

    def count_tokens(self, request: GenerationRequest) -> TokenCount:
        """The exact prompt length of ``request``: the rendered template tokenised with one placeholder per
        image, plus each image's tokens from its size (header) and visual budget, and each video's from its
        container header and the video budget (Qwen3-VL's ``<t seconds>`` text tokenised with the prompt) —
        what the backend's inputs will hold, without decoding a frame. Loads the checkpoint (its tokenizer) on
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


def expand_image_pads(prompt: str, per_image: list[int]) -> str:
    """Each image's one placeholder (``_render`` checked there is one per image) becomes its token count."""
    pieces = prompt.split(IMAGE_PAD)
    out = [pieces[0]]
    for count, piece in zip(per_image, pieces[1:]):
        out.append(IMAGE_PAD * count)
        out.append(piece)
    return "".join(out)


def eos_ids(tokenizer: Any, configured: Any = None) -> list[int]:
    """The token ids that end an answer: the checkpoint's generation config's ``eos_token_id`` (an id or a
    list; the tokenizer's when it has none), and ``<|im_end|>``."""
    if configured is None:
        configured = tokenizer.eos_token_id
    ids = [i for i in (configured if isinstance(configured, (list, tuple)) else [configured]) if i is not None]
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end >= 0 and im_end not in ids:
        ids.append(im_end)
    return ids


class TextStream:
    """Token ids → text deltas, for a local backend's generation loop.

    Decodes in O(1) per token: only the tokens since the last clean UTF-8 boundary are decoded (byte-level
    BPE decodes piecewise), and text that could start a stop sequence is held back. After :meth:`run`,
    ``count`` is the number of tokens generated and ``finish`` ``"stop"`` or ``"length"``; ``stopped`` is
    True when a stop sequence ended the answer (the caller then cancels its generator).
    """

    def __init__(self, tokenizer: Any, eos_ids: Iterable[int], stops: Iterable[str]) -> None:
        self.tokenizer = tokenizer
        self.eos = set(eos_ids)
        self.stops = [s for s in stops if s]
        self.count = 0
        self.finish = "length"
        self.stopped = False

    def run(self, tokens: Iterable[int]) -> Iterator[Delta]:
        tokenizer, eos, stops = self.tokenizer, self.eos, self.stops
        hold = max((len(s) for s in stops), default=1) - 1
        pending: list[int] = []
        text = ""
        emitted = 0
        for token in tokens:
            self.count += 1
            if token in eos:
                self.finish = "stop"
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
                self.stopped, self.finish = True, "stop"
                if cut > emitted:
                    yield Delta(text=text[emitted:cut])
                return
            safe = len(text) - hold
            if safe > emitted:
                yield Delta(text=text[emitted:safe])
                emitted = safe
        text += tokenizer.decode(pending, skip_special_tokens=True) if pending else ""
        if len(text) > emitted:
            yield Delta(text=text[emitted:])


def _first_stop(text: str, stops: list[str], start: int = 0) -> int | None:
    positions = [text.find(s, start) for s in stops]
    found = [p for p in positions if p >= 0]
    return min(found) if found else None
