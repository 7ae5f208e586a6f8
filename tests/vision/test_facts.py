"""vision_facts: a tool asks the chat model how it sees images — ChatQwenVL on tiny checkpoints answers
itself, any other chat model needs family=."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel

from vlkit.errors import UnsupportedModelError
from vlkit.vision import FAMILIES, VisionFacts, pixels_for_tokens, resized_size, vision_facts


def _other_model() -> FakeMessagesListChatModel:
    """A chat model that is not a Qwen model vlkit knows (LangChain's scripted fake)."""
    return FakeMessagesListChatModel(responses=[])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_chat_qwen_vl_tells_its_family_and_budget(family: str) -> None:
    from vlkit import testing
    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(model=str(testing.tiny_checkpoint(family)), device="cpu")  # family from config.json
    assert isinstance(llm, VisionFacts)
    facts = vision_facts(llm)
    spec = FAMILIES[family]
    assert facts.family is spec and facts.budget == llm.visual_budget() == (spec.min_pixels, spec.cpu_max_pixels)
    assert facts.max_image_tokens == 256
    assert facts.view_size(1920, 1080) == resized_size(spec, 1920, 1080, *facts.budget)
    assert facts.image_tokens(448, 448) == (256 if spec.factor == 28 else 196)
    # the caller's budget wins over the model's; the model's own max_pixels is what it resizes with
    assert vision_facts(llm, max_pixels=spec.pixels_for_tokens(64)).max_image_tokens == 64
    small = ChatQwenVL(model=str(testing.tiny_checkpoint(family)), device="cpu", max_pixels=spec.pixels_for_tokens(100))
    assert vision_facts(small).max_image_tokens == 100


def test_a_served_chat_qwen_vl_needs_its_family_and_keeps_its_own_budget() -> None:
    from vlkit.models import ChatQwenVL

    served = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", max_pixels=100 * 32 * 32)
    with pytest.raises(UnsupportedModelError, match="pass family='qwen2_vl'") as unknown:
        vision_facts(served)
    assert "--family" in unknown.value.on("cli")
    facts = vision_facts(served, "qwen3_vl")  # the family given to the tool; the budget still the model's
    assert facts.family is FAMILIES["qwen3_vl"] and facts.max_image_tokens == 100
    named = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", family="qwen2_5_vl")
    assert vision_facts(named).family is FAMILIES["qwen2_5_vl"]


def test_any_other_chat_model_needs_family_and_gets_the_cpu_default() -> None:
    model = _other_model()
    assert not isinstance(model, VisionFacts)
    with pytest.raises(UnsupportedModelError, match="FakeMessagesListChatModel .*pass family='qwen2_vl', "
                       "'qwen2_5_vl' or 'qwen3_vl' to GUIActionPlanner") as unknown:
        vision_facts(model, asked_by="GUIActionPlanner")
    assert unknown.value.on("cli").endswith("pass --family qwen2_vl, qwen2_5_vl or qwen3_vl")
    facts = vision_facts(model, "qwen2_5_vl")
    assert facts.family is FAMILIES["qwen2_5_vl"] and facts.budget == (4 * 28 * 28, 256 * 28 * 28)
    assert facts.view_size(1920, 1080) == (588, 336) and facts.image_tokens(1920, 1080) == 21 * 12
    assert vision_facts(model, "qwen3_vl", max_pixels=64 * 32 * 32).max_image_tokens == 64
    with pytest.raises(UnsupportedModelError, match="family 'qwen9_vl' is not a Qwen family .* qwen2_vl, qwen2_5_vl"):
        vision_facts(model, "qwen9_vl")


def test_a_model_implementing_the_protocol_is_asked() -> None:
    class QwenLike(FakeMessagesListChatModel):
        def family_spec(self):
            return FAMILIES["qwen3_vl"]

        def visual_budget(self, family=None):
            return (4096, 50 * 32 * 32)

    model = QwenLike(responses=[])
    assert isinstance(model, VisionFacts)
    assert vision_facts(model).family is FAMILIES["qwen3_vl"] and vision_facts(model).max_image_tokens == 50


def test_pixels_for_tokens_uses_the_models_token_side_or_the_smallest() -> None:
    from vlkit.models import ChatQwenVL

    served = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
    assert pixels_for_tokens(ChatQwenVL(backend="openai", model="m", family="qwen3_vl"), 10) == 10 * 32 * 32
    assert pixels_for_tokens(served, 10, "qwen3_vl") == 10 * 32 * 32
    assert pixels_for_tokens(served, 10) == pixels_for_tokens(_other_model(), 10) == 10 * 28 * 28
    assert pixels_for_tokens(None, 10) == 10 * 28 * 28  # no model at all (a search-only tool)
    with pytest.raises(UnsupportedModelError, match="qwen9"):
        pixels_for_tokens(served, 10, "qwen9")
