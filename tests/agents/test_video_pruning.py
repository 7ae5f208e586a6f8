"""The agent's visual budget weighs a video by its tokens: the cost pruning uses is what the model counts for
the same video, and a video that does not fit is replaced by its own placeholder like an old image."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, ToolMessage

from tests.agents.scripted import block_color, images_in, png_block
from vlkit.agents._images import PLACEHOLDER, VIDEO_PLACEHOLDER, count_images, prune_images, visual_token_cost
from vlkit.testing.clips import make_clip
from vlkit.vision import FAMILIES

pytest.importorskip("av")

QWEN2 = FAMILIES["qwen2_vl"]
BUDGET = (4 * 28 * 28, 256 * 28 * 28)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=4, fps=10, size=(160, 120))


def _text(message) -> list[str]:
    return [b if isinstance(b, str) else b["text"] for b in message.content
            if isinstance(b, str) or b.get("type") == "text"]  # fmt: skip


def test_a_video_costs_what_the_model_counts_for_it(clip: Path) -> None:
    from tests.models.conftest import tiny
    from vlkit.models import ChatQwenVL
    from vlkit.vision import vision_facts

    llm = ChatQwenVL(model=tiny("qwen2_vl"))
    facts = vision_facts(llm)
    cost = visual_token_cost(facts.family, facts.budget)
    for block in ({"type": "video", "path": str(clip)}, {"type": "video", "path": str(clip), "fps": 1},
                  {"type": "video_url", "video_url": {"url": str(clip)}, "max_frames": 2}):  # fmt: skip
        counted = llm.backend_impl.count_tokens(llm.generation_request([HumanMessage(content=[block, "what?"])]))
        assert cost(block) == counted.video_tokens > 0, block
    assert cost({"type": "video", "path": str(clip), "fps": 1}) < cost({"type": "video", "path": str(clip)})


def test_a_video_that_does_not_fit_is_pruned_and_images_around_it_stay(clip: Path) -> None:
    cost = visual_token_cost(QWEN2, BUDGET)
    video = {"type": "video", "path": str(clip)}
    small = [png_block((255, 0, 0), (56, 56)), png_block((0, 0, 255), (56, 56))]
    assert cost(video) == 560 and cost(small[0]) == 4  # 8 frames of 392x280 (128 tokens at least): 4 x 140
    messages = [
        HumanMessage(content=[small[0], "first"]),
        ToolMessage(content=[{"type": "text", "text": "recording"}, video], tool_call_id="c1"),
        ToolMessage(content=[{"type": "text", "text": "shot"}, small[1]], tool_call_id="c2"),
    ]
    assert count_images(messages) == 3
    pruned = prune_images(messages, max_image_tokens=100, image_cost=cost)
    assert [block_color(b) for b in images_in(pruned)] == [(255, 0, 0), (0, 0, 255)]  # both images fit
    assert _text(pruned[1]) == ["recording", VIDEO_PLACEHOLDER]
    assert pruned[0] is messages[0] and pruned[2] is messages[2]

    # the newest item is kept even alone over the budget: a video just taken stays, older images go
    newest_video = [messages[0], messages[2], messages[1]]
    pruned = prune_images(newest_video, max_image_tokens=100, image_cost=cost)
    assert pruned[2] is messages[1] and images_in(pruned) == []
    assert _text(pruned[0]) == [PLACEHOLDER, "first"]


def test_a_video_counts_as_one_item_for_max_images(clip: Path) -> None:
    video = {"type": "video", "path": str(clip)}
    messages = [HumanMessage(content=[png_block((255, 0, 0)), video, png_block((0, 255, 0))])]
    pruned = prune_images(messages, max_images=2)
    assert pruned[0].content[0] == {"type": "text", "text": PLACEHOLDER}
    assert pruned[0].content[1] == video


def test_a_remote_video_is_weighed_as_the_whole_video_budget_not_downloaded() -> None:
    from vlkit.vision.video import video_budget

    cost = visual_token_cost(QWEN2, BUDGET)
    remote = {"type": "video_url", "video_url": {"url": "https://videos.example.com/clip.mp4"}}
    assert cost(remote) == video_budget(QWEN2, image_max_pixels=BUDGET[1]).total_tokens
