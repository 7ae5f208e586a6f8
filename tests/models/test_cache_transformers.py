"""The transformers backend's prefix and vision caches, on tiny random checkpoints of each family.

Every cached answer is checked against the same call with both caches off: the same greedy tokens and the
same next-token scores at every step (float32, so a position off by one — about 5e-4 on these checkpoints —
is far above the 1e-5 allowed). Before each cached call an unrelated text-only call runs on the same model,
so positions that leaned on the model's left-over ``rope_deltas`` would be wrong and caught.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from PIL import Image

from tests.models.conftest import tiny
from vlkit.models import ChatQwenVL
from vlkit.models.backends import _kv
from vlkit.models.backends._cache import CacheConfig
from vlkit.models.backends.transformers import TransformersBackend

torch = pytest.importorskip("torch")

SYSTEM = SystemMessage("You are a careful assistant. Answer briefly and precisely, in one short sentence.")
OFF = {"prefix_cache_mb": 0, "vision_cache_mb": 0}


def noise(seed: int, size: tuple[int, int] = (112, 84)) -> Image.Image:
    """A random RGB image: two seeds give two different images of the same size."""
    width, height = size
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def image_turn(image: Image.Image, text: str) -> HumanMessage:
    return HumanMessage(content=[{"type": "image", "image": image}, {"type": "text", "text": text}])


def _llm(family: str, **kwargs) -> ChatQwenVL:
    return ChatQwenVL(model=tiny(family), **{"max_tokens": 5, "dtype": "float32", **kwargs})


class Recorded:
    """One call's answer, usage, metadata and the scores generate saw at each step."""

    def __init__(self, llm: ChatQwenVL, messages: list[BaseMessage]) -> None:
        from transformers import LogitsProcessor

        steps: list = []

        class Record(LogitsProcessor):
            def __call__(self, input_ids, scores):
                steps.append(scores[0].float().clone())
                return scores

        backend = llm.backend_impl
        backend._logits_processors = lambda request, inputs: [Record()]
        try:
            message = llm.invoke(messages)
        finally:
            del backend._logits_processors
        self.content = message.content
        self.usage = message.usage_metadata
        self.metadata = message.response_metadata
        self.scores = torch.stack(steps)

    @property
    def cached(self) -> int:
        return self.usage.get("input_token_details", {}).get("cache_read", 0)

    @property
    def vision_hits(self) -> int:
        return self.metadata["vision_cache_hits"]


def assert_same(cached: Recorded, reference: Recorded) -> None:
    assert cached.content == reference.content
    assert cached.usage["input_tokens"] == reference.usage["input_tokens"]
    assert cached.scores.shape == reference.scores.shape
    torch.testing.assert_close(cached.scores, reference.scores, atol=1e-5, rtol=0)


def fresh(llm: ChatQwenVL) -> _kv.ModelCaches:
    """Empty caches for ``llm``'s model, with ``llm``'s budgets."""
    backend = llm.backend_impl
    _kv.drop_caches(backend.checkpoint)
    return _kv.caches_for(backend.checkpoint, backend.cache)


def run_cached(cached: ChatQwenVL, off: ChatQwenVL, messages: list[BaseMessage]) -> tuple[Recorded, Recorded]:
    """The call with the caches on (after an unrelated text-only call moved the model's rope_deltas) and off."""
    off.invoke("Unrelated words.", max_tokens=1)
    return Recorded(cached, messages), Recorded(off, messages)


def test_cached_calls_answer_as_uncached_ones(family: str) -> None:
    """A conversation grows: the shared prefix holds an image (a text follow-up), then a new turn adds an image
    (B: new, its embeddings computed; then A again: its embeddings from the vision cache)."""
    a, b = noise(1), noise(2)
    cached, off = _llm(family), _llm(family, **OFF)
    fresh(cached)
    first = [SYSTEM, image_turn(a, "Describe the picture.")]
    follow_up = [*first, AIMessage("Coloured noise."), HumanMessage("And which colour is most common?")]
    new_b = [*follow_up, AIMessage("Green."), image_turn(b, "Compare it with this one.")]
    new_a = [*follow_up, AIMessage("Green."), image_turn(a, "Compare it with this one.")]

    on1, off1 = run_cached(cached, off, first)
    assert_same(on1, off1)
    assert on1.cached == 0 and on1.vision_hits == 0

    on2, off2 = run_cached(cached, off, follow_up)
    assert_same(on2, off2)
    assert on2.cached == on1.usage["input_tokens"]  # the whole first prompt, its image included
    assert on2.vision_hits == 0  # the image is inside the restored prefix: not even looked up

    on3, off3 = run_cached(cached, off, new_b)
    assert_same(on3, off3)
    assert on3.cached == on2.usage["input_tokens"] and on3.vision_hits == 0

    on4, off4 = run_cached(cached, off, new_a)
    assert_same(on4, off4)
    assert on4.vision_hits == 1  # A's embeddings, computed for the first call
    assert on3.usage["input_tokens"] > on4.cached > on3.cached  # up to the image where B and A differ
    assert "cache_read" not in off4.usage.get("input_token_details", {})
    assert "vision_cache_hits" not in off4.metadata


def test_two_images_of_one_size_share_neither_entry(family: str) -> None:
    a, b = noise(1), noise(2)
    cached, off = _llm(family), _llm(family, **OFF)
    caches = fresh(cached)
    backend = cached.backend_impl
    on_a, _ = run_cached(cached, off, [SYSTEM, image_turn(a, "Describe the picture.")])
    messages = [SYSTEM, image_turn(b, "Describe the picture.")]
    on_b, off_b = run_cached(cached, off, messages)
    assert_same(on_b, off_b)
    assert on_b.vision_hits == 0 and len(caches.vision) == 2

    inputs = backend.prepare(cached.generation_request(messages))
    pad = backend.checkpoint.model.config.image_token_id
    first_pad = inputs.input_ids[0].tolist().index(pad)
    assert on_b.cached == first_pad  # the prefix stops right before the image: same text, other pixels
    keys = [key for key, _ in caches.vision.items()]
    assert keys[0] != keys[1]


def test_each_cache_alone_answers_as_uncached(family: str) -> None:
    a = noise(3)
    off = _llm(family, **OFF)
    prompt = [SYSTEM, image_turn(a, "Describe the picture.")]
    again = [*prompt, AIMessage("Noise."), image_turn(a, "And now?")]

    vision_only = _llm(family, prefix_cache_mb=0)
    fresh(vision_only)
    run_cached(vision_only, off, prompt)
    on, ref = run_cached(vision_only, off, again)
    assert_same(on, ref)
    assert on.cached == 0 and on.vision_hits == 2  # both images of the prompt, none encoded

    prefix_only = _llm(family, vision_cache_mb=0)
    fresh(prefix_only)
    run_cached(prefix_only, off, prompt)
    on, ref = run_cached(prefix_only, off, again)
    assert_same(on, ref)
    assert on.cached > 0 and "vision_cache_hits" not in on.metadata


def test_the_same_prompt_again_reuses_all_but_its_last_token() -> None:
    cached, off = _llm("qwen3_vl"), _llm("qwen3_vl", **OFF)
    fresh(cached)
    prompt = [SYSTEM, image_turn(noise(4), "Describe the picture.")]
    first, _ = run_cached(cached, off, prompt)
    second, reference = run_cached(cached, off, prompt)
    assert_same(second, reference)
    assert second.cached == first.usage["input_tokens"] - 1  # one token is prefilled for the first scores
    assert second.content == first.content


def test_instances_on_one_model_share_the_caches() -> None:
    one, two = _llm("qwen2_vl"), _llm("qwen2_vl")
    assert one.backend_impl.checkpoint is two.backend_impl.checkpoint
    caches = fresh(one)
    prompt = [SYSTEM, image_turn(noise(5), "Describe the picture.")]
    one.invoke(prompt)
    result = two.invoke([*prompt, AIMessage("Noise."), HumanMessage("More?")])
    assert result.usage_metadata["input_token_details"]["cache_read"] > 0
    assert _kv.caches_for(two.backend_impl.checkpoint, two.backend_impl.cache) is caches


def test_concurrent_callers_get_uncached_answers() -> None:
    cached, off = _llm("qwen2_5_vl"), _llm("qwen2_5_vl", **OFF)
    fresh(cached)
    base = [SYSTEM, image_turn(noise(6), "Describe the picture.")]
    prompts = [[*base, AIMessage("Noise."), HumanMessage(f"Question number {i}?")] for i in range(4)]
    expected = [off.invoke(p).content for p in prompts]
    cached.invoke(base)
    answers: dict[int, str] = {}

    def ask(i: int) -> None:
        answers[i] = cached.invoke(prompts[i]).content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answers[i] for i in range(4)] == expected


def _entry_bytes(family: str, messages: list[BaseMessage]) -> tuple[int, int]:
    """(prefix entry bytes, vision entry bytes) of ``messages`` with generous budgets."""
    llm = _llm(family)
    caches = fresh(llm)
    llm.invoke(messages, max_tokens=1)
    return caches.prefix.stats.bytes, caches.vision.stats.bytes


def test_budgets_bound_the_bytes_and_evict_the_least_recently_used() -> None:
    family = "qwen2_vl"
    # three prompts of one length that differ from their first word on
    prompts = [[SystemMessage(f"{letter} " + "red " * 30), HumanMessage("Say something.")] for letter in "abc"]
    kv_bytes, _ = _entry_bytes(family, prompts[0])
    assert kv_bytes > 0
    backend = TransformersBackend(tiny(family), dtype="float32", cache=CacheConfig(prefix_bytes=int(kv_bytes * 2.5), vision_bytes=0))
    llm = ChatQwenVL(model=tiny(family), backend=backend, max_tokens=1)
    caches = fresh(llm)

    def cached_tokens(messages: list[BaseMessage]) -> int:
        return llm.invoke(messages).usage_metadata.get("input_token_details", {}).get("cache_read", 0)

    assert cached_tokens(prompts[0]) == 0
    assert cached_tokens(prompts[1]) == 0
    assert cached_tokens(prompts[0]) > 0  # alpha is now the most recently used
    assert cached_tokens(prompts[2]) == 0  # a third entry does not fit: bravo, the least recently used, goes
    assert caches.prefix.stats.evictions == 1 and caches.prefix.stats.entries == 2
    assert caches.prefix.stats.bytes <= caches.prefix.max_bytes
    assert cached_tokens(prompts[1]) == 0  # evicted
    assert cached_tokens(prompts[2]) > 0

    a, b = noise(7), noise(8)
    _, image_bytes = _entry_bytes(family, [image_turn(a, "Describe.")])
    backend = TransformersBackend(tiny(family), dtype="float32", cache=CacheConfig(prefix_bytes=0, vision_bytes=int(image_bytes * 1.5)))
    llm = ChatQwenVL(model=tiny(family), backend=backend, max_tokens=1)
    caches = fresh(llm)

    def hits(image: Image.Image) -> int:
        return llm.invoke([image_turn(image, "Describe.")]).response_metadata["vision_cache_hits"]

    assert (hits(a), hits(b)) == (0, 0)
    assert len(caches.vision) == 1 and caches.vision.stats.bytes <= caches.vision.max_bytes
    assert (hits(b), hits(a)) == (1, 0)


def test_off_switch_runs_the_uncached_path(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the caches were consulted")

    llm = _llm(family, **OFF)
    assert llm.backend_impl.cache == CacheConfig(prefix_bytes=0, vision_bytes=0) and not llm.backend_impl.caching
    monkeypatch.setattr(_kv, "caches_for", fail)
    monkeypatch.setattr(_kv.Prefill, "plan", fail)
    messages = [SYSTEM, image_turn(noise(9), "Describe the picture.")]
    assert llm.backend_impl.prepare(llm.generation_request(messages)).image_keys is None
    for _ in range(2):
        result = llm.invoke(messages)
        assert "cache_read" not in result.usage_metadata["input_token_details"]
        assert "vision_cache_hits" not in result.response_metadata

    monkeypatch.setenv("VLKIT_PROMPT_CACHE", "0")
    assert not _llm(family).backend_impl.caching


def test_a_prompt_with_a_video_is_not_prefix_cached(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from vlkit.testing.clips import make_clip

    clip = make_clip(tmp_path / "clip.mp4", seconds=2, fps=10, size=(96, 72))
    messages = [SYSTEM, HumanMessage([{"type": "video", "path": str(clip)}, {"type": "image", "image": noise(10)}, "What happens?"])]
    cached, off = _llm("qwen3_vl"), _llm("qwen3_vl", **OFF)
    caches = fresh(cached)
    run_cached(cached, off, messages)
    on, reference = run_cached(cached, off, messages)
    assert_same(on, reference)
    assert on.cached == 0 and on.vision_hits == 1 and caches.prefix.stats.entries == 0


@pytest.mark.parametrize(
    ("shared", "length", "spans", "cut"),
    [
        (50, 80, [(10, 20)], 50),  # after the image: as shared
        (15, 80, [(10, 20)], 10),  # inside the image: before it
        (20, 80, [(10, 20)], 20),  # right after it
        (80, 80, [(10, 20)], 79),  # the whole prompt: one token left to prefill
        (80, 80, [(70, 80)], 70),  # ... and that token would be inside an image
    ],
)
def test_prefix_cut(shared: int, length: int, spans: list[tuple[int, int]], cut: int) -> None:
    assert _kv.prefix_cut(shared, length, spans) == cut


def test_units_name_each_image_by_its_key() -> None:
    ids = [1, 2, 9, 9, 9, 3, 9, 9, 4]
    spans = _kv.image_spans(ids, 9)
    assert spans == [(2, 5), (6, 8)]
    assert _kv.prompt_units(ids, spans, ["img:a", "img:b"]) == [1, 2, "img:a", "img:a", "img:a", 3, "img:b", "img:b", 4]
