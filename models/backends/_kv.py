"""The vision and prefix caches of the transformers backend (the budgets and lookups are in ``_cache``).

* **Vision cache.** Each image's visual embeddings as the language model consumes them — the merger's output,
  and for Qwen3-VL the DeepStack features of each tapped layer — keyed by :func:`~._cache.image_key`.
  The vision tower runs only on the images that miss; the embeddings go to ``generate`` as
  ``mm_encoder_outputs`` (the pre-encoded input transformers 5 takes in place of ``pixel_values``).
* **Prefix cache.** The attention state (KV) of an earlier prompt, keyed by its *units*: its token ids with
  each image's pad tokens replaced by the image's key, so two different images of the same size never
  match. A call restores a copy of the longest shared prefix, cut before any image the shared part ends
  inside, and ``generate`` prefills only the rest.

M-RoPE: a token's position depends on the grids of every image before it (each image advances the text
positions by its longest side, not its token count). A call that starts from a saved state therefore gets
the position ids of its *whole* sequence computed exactly as an uncached ``generate`` computes them (the
model's own ``_prepare_position_ids_for_generation`` with no cache), and ``generate`` slices the new
tokens' share; the model's stored ``rope_deltas`` (left over from whatever ran last) are never read.

Both caches belong to a loaded model (:func:`caches_for`), so every ChatQwenVL sharing that model shares
them; each is as large as the largest budget asked of it.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence

import torch

from vlkit.models.backends._cache import ByteLRU, CacheConfig, PrefixCache

__all__ = ["ImageFeatures", "KVState", "ModelCaches", "Prefill", "caches_for", "drop_caches", "prefix_cut"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageFeatures:
    """One image's embeddings as the language model reads them."""

    pooled: Any
    """``(tokens, hidden)``: the merger's output, what fills the image's pad tokens."""
    deepstack: tuple[Any, ...]
    """Qwen3-VL: ``(tokens, hidden)`` per DeepStack layer; empty for Qwen2-VL and Qwen2.5-VL."""
    output_type: type
    """The encoder output class the model's ``forward`` expects in ``mm_encoder_outputs``."""

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.pooled, *self.deepstack))


@dataclass(frozen=True)
class KVState:
    """The key/value tensors of every layer for a prompt's first ``length`` tokens (never mutated)."""

    layers: tuple[tuple[Any, Any], ...]
    length: int

    @property
    def nbytes(self) -> int:
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in self.layers)

    @classmethod
    def snapshot(cls, cache: Any, length: int) -> "KVState | None":
        """A private copy of ``cache``'s first ``length`` tokens; None where the cache cannot be cut that way
        (a layer that is not a plain growing layer, such as a sliding window, or fewer tokens than asked)."""
        from transformers.cache_utils import DynamicLayer

        layers = []
        for layer in cache.layers:
            if type(layer) is not DynamicLayer:  # a sliding window (or anything else) cannot be cut at a token
                return None
            keys, values = layer.keys, layer.values
            if keys is None or keys.shape[-2] < length:
                return None
            layers.append((keys[..., :length, :].clone(), values[..., :length, :].clone()))
        return cls(tuple(layers), length)

    def restore(self, length: int, config: Any) -> Any:
        """A new DynamicCache holding copies of the first ``length`` tokens (the stored tensors stay as they are)."""
        from transformers import DynamicCache

        cache = DynamicCache(config=config)
        for layer, (keys, values) in zip(cache.layers, self.layers):
            layer.update(keys[..., :length, :].clone(), values[..., :length, :].clone())
        return cache


@dataclass
class ModelCaches:
    """The vision and prefix caches of one loaded model."""

    vision: ByteLRU[ImageFeatures]
    prefix: PrefixCache[KVState]

    @classmethod
    def create(cls, config: CacheConfig) -> "ModelCaches":
        return cls(ByteLRU(config.vision_bytes, lambda f: f.nbytes), PrefixCache(config.prefix_bytes))

    def grow(self, config: CacheConfig) -> None:
        """Raise the budgets to ``config``'s where it asks for more (never shrink what others rely on)."""
        self.vision.max_bytes = max(self.vision.max_bytes, config.vision_bytes)
        self.prefix.max_bytes = max(self.prefix.max_bytes, config.prefix_bytes)


_REGISTRY: dict[int, tuple[weakref.ref, ModelCaches]] = {}
_REGISTRY_LOCK = threading.Lock()


@functools.cache
def supported(model_class: type) -> bool:
    """Whether the installed transformers takes what the caches hand to ``generate`` for this model class:
    pre-encoded images (``mm_encoder_outputs``) and a ``cache`` to continue from (logged once when not)."""
    import inspect

    parameters = inspect.signature(model_class.forward).parameters
    ok = all(name in parameters for name in ("mm_encoder_outputs", "cache", "position_ids"))
    ok = ok and hasattr(model_class, "_prepare_position_ids_for_generation")
    if not ok:
        import transformers

        log.info("%s of transformers %s cannot continue from a cache: the prefix and vision caches are off",
                 model_class.__name__, transformers.__version__)  # fmt: skip
    return ok


def caches_for(lm: Any, config: CacheConfig) -> ModelCaches | None:
    """The caches of loaded model ``lm`` (created on first use, shared by every backend on ``lm``); None where
    the installed transformers cannot take them (the call then runs uncached)."""
    if not supported(type(lm.model)):
        return None
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(id(lm))
        if found is not None and found[0]() is lm:
            found[1].grow(config)
            return found[1]
        caches = ModelCaches.create(config)
        _REGISTRY[id(lm)] = (weakref.ref(lm, lambda _, key=id(lm): _REGISTRY.pop(key, None)), caches)
        return caches


def drop_caches(lm: Any) -> None:
    """Forget the caches of ``lm`` (their memory is freed; the next call starts empty, with its own budgets)."""
    with _REGISTRY_LOCK:
        _REGISTRY.pop(id(lm), None)


def image_spans(input_ids: Sequence[int], pad_id: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each image's run of pad tokens, in prompt order."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, token in enumerate([*input_ids, None]):
        if token == pad_id and start is None:
            start = i
        elif token != pad_id and start is not None:
            spans.append((start, i))
            start = None
    return spans


def prompt_units(input_ids: Sequence[int], spans: Sequence[tuple[int, int]], keys: Sequence[str]) -> list[Hashable]:
    """The prompt's token ids with every pad token of image ``i`` replaced by ``keys[i]``."""
    units: list[Hashable] = list(input_ids)
    for (start, end), key in zip(spans, keys):
        units[start:end] = [key] * (end - start)
    return units


def prefix_cut(shared: int, length: int, spans: Sequence[tuple[int, int]]) -> int:
    """How many leading tokens to take from a saved state sharing ``shared`` units with a ``length``-token
    prompt: at least one token is left to prefill (it yields the first logits), and an image is never split
    (the cut moves back to before the image it would fall inside)."""
    cut = min(shared, length - 1)
    for start, end in spans:
        if start < cut < end:
            return start
    return max(cut, 0)


def encode_images(lm: Any, pixel_values: Any, grid: Any, which: Sequence[int]) -> list[ImageFeatures]:
    """Run the vision tower on images ``which`` only (each image's patches are contiguous in ``pixel_values``)."""
    if not which:
        return []
    sizes = [int(g.prod()) for g in grid]
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    pixels = torch.cat([pixel_values[offsets[i] : offsets[i + 1]] for i in which])
    out = lm.model.model.get_image_features(pixel_values=pixels, image_grid_thw=grid[list(which)], return_dict=True)
    deepstack = getattr(out, "deepstack_features", None) or []
    # each image's own copy: a view would keep the whole batch's tensor alive after the others are evicted
    return [
        ImageFeatures(
            pooled=out.pooler_output[j].clone(),
            deepstack=tuple(layer[j].clone() for layer in deepstack),
            output_type=type(out),
        )
        for j in range(len(which))
    ]


def encoder_outputs(features: Sequence[ImageFeatures]) -> Any:
    """``mm_encoder_outputs["image"]`` for these images, in prompt order, as the model's own encoder returns it."""
    first = features[0]
    fields: dict[str, Any] = {"pooler_output": tuple(f.pooled for f in features)}
    if first.deepstack:
        fields["deepstack_features"] = [tuple(f.deepstack[i] for f in features) for i in range(len(first.deepstack))]
    return first.output_type(**fields)


@dataclass
class Prefill:
    """What one call takes from the caches, and what it gives back after generating.

    :meth:`plan` looks the prompt up; :meth:`generate_kwargs` rewrites the ``generate`` arguments (a restored
    cache and the full sequence's position ids on a prefix hit; pre-encoded images in place of pixels);
    :meth:`save` stores the prompt's attention state once ``generate`` has filled it.
    """

    caches: ModelCaches
    units: list[Hashable] = field(default_factory=list)
    cached_tokens: int = 0
    """Prompt tokens restored from the prefix cache rather than prefilled."""
    vision_hits: int = 0
    """Images whose embeddings came from the vision cache."""
    cache: Any = None
    """The DynamicCache handed to ``generate`` (None: prefix cache not used for this call)."""
    position_ids: Any = None
    images: Any = None
    """``mm_encoder_outputs["image"]``, None when the pixels go to ``generate`` as usual."""
    encode_pixels: bool = True
    """False when ``pixel_values`` must not go to ``generate`` (the images are pre-encoded or all cached)."""
    replaced: tuple[Hashable, ...] | None = None
    """Units of the entry this call extends (superseded once this prompt is saved)."""

    @classmethod
    def plan(cls, lm: Any, caches: ModelCaches, inputs: Any) -> "Prefill":
        plan = cls(caches)
        input_ids = inputs.input_ids
        if input_ids.shape[0] != 1:
            return plan
        ids = input_ids[0].tolist()
        keys = inputs.image_keys or []
        spans = image_spans(ids, lm.model.config.image_token_id) if keys else []
        if len(spans) != len(keys):  # not the prompt prepare() builds: leave it to generate as it is
            return plan
        use_prefix = caches.prefix.enabled and inputs.videos is None
        entry, shared = None, 0
        if use_prefix:
            plan.units = prompt_units(ids, spans, keys)
            entry, shared = caches.prefix.longest(plan.units)
            if entry is not None:
                plan.cached_tokens = prefix_cut(shared, len(ids), spans)
                if plan.cached_tokens == 0:
                    entry = None
        text_config = lm.model.config.get_text_config(decoder=True)
        if entry is not None:
            plan.cache = entry.state.restore(plan.cached_tokens, text_config)
            plan.position_ids = _full_positions(lm, inputs)
            if shared == len(entry.units):
                plan.replaced = entry.units
        elif use_prefix:
            from transformers import DynamicCache

            plan.cache = DynamicCache(config=text_config)  # what generate would create; kept to be saved
        if keys and (caches.vision.enabled or plan.cached_tokens):
            plan._pre_encode(lm, inputs, keys, spans)
        return plan

    def _pre_encode(self, lm: Any, inputs: Any, keys: Sequence[str], spans: Sequence[tuple[int, int]]) -> None:
        """Embeddings of the images after the cut: from the vision cache, the misses encoded together."""
        needed = [i for i, (start, _) in enumerate(spans) if start >= self.cached_tokens]
        vision = self.caches.vision
        found: dict[int, ImageFeatures] = {}
        if vision.enabled:
            for i in needed:
                hit = vision.get(keys[i])
                if hit is not None:
                    found[i] = hit
        self.vision_hits = len(found)
        missing = [i for i in needed if i not in found]
        for i, features in zip(missing, encode_images(lm, inputs.pixel_values, inputs.image_grid_thw, missing)):
            found[i] = features
            if vision.enabled:
                vision.put(keys[i], features)
        self.encode_pixels = False
        self.images = encoder_outputs([found[i] for i in needed]) if needed else None

    def generate_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(kwargs)
        if not self.encode_pixels:
            kwargs.pop("pixel_values", None)
            if self.images is not None:
                kwargs["mm_encoder_outputs"] = {"image": self.images}
        if self.cache is not None:
            kwargs["cache"] = self.cache
        if self.position_ids is not None:
            kwargs["position_ids"] = self.position_ids
        return kwargs

    def save(self) -> None:
        """Store the prompt's attention state (after ``generate`` filled :attr:`cache`)."""
        cache, self.cache, self.images = self.cache, None, None  # the full cache is not kept past this call
        if cache is None or not self.units:
            return
        state = KVState.snapshot(cache, len(self.units))
        if state is None:
            return
        prefix = self.caches.prefix
        stored = prefix.put(self.units, state, state.nbytes)
        if stored and self.replaced is not None and self.replaced != tuple(self.units):
            prefix.pop(self.replaced)  # this prompt starts with all of it: it would never be the longest again


def _full_positions(lm: Any, inputs: Any) -> Any:
    """The M-RoPE position ids of the whole prompt, exactly as ``generate`` computes them without a cache."""
    model_kwargs: dict[str, Any] = {"attention_mask": inputs.attention_mask}
    if inputs.mm_token_type_ids is not None:
        model_kwargs["mm_token_type_ids"] = inputs.mm_token_type_ids
    if inputs.image_grid_thw is not None:
        model_kwargs["image_grid_thw"] = inputs.image_grid_thw
    return lm.model._prepare_position_ids_for_generation(inputs.input_ids, model_kwargs)
