"""What the model sees of images: pruning keeps exactly the newest that fit (the state keeps them all),
and for models other than ChatQwenVL, tool images move into a user message after the tool results."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool

from tests.agents.scripted import answer, block_color, call, images_in, png_block
from vlkit.agents import create_vlm_agent
from vlkit.agents._images import count_images, prune_images, visual_token_cost

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (90, 90, 90)]


def test_prune_keeps_exactly_the_last_n_images_and_leaves_the_input_alone() -> None:
    messages = [HumanMessage(content=[png_block(COLORS[0]), png_block(COLORS[1]), "compare these"])]
    messages += [
        ToolMessage(content=[{"type": "text", "text": f"shot {i}"}, png_block(c)], tool_call_id=f"c{i}")
        for i, c in enumerate(COLORS[2:], start=2)
    ]
    pruned = prune_images(messages, max_images=3)
    kept = images_in(pruned)
    assert [block_color(b) for b in kept] == COLORS[-3:]
    placeholders = [b for m in pruned if isinstance(m.content, list) for b in m.content
                    if isinstance(b, dict) and b.get("type") == "text" and "older image was removed" in b["text"]]
    assert len(placeholders) == len(COLORS) - 3
    assert count_images(messages) == len(COLORS)  # the input is untouched
    assert pruned[-1] is messages[-1]  # messages with nothing to prune are not copied
    assert pruned[0].content[2] == "compare these" and pruned[1].content[0]["text"] == "shot 2"
    assert prune_images(messages, max_images=10) == messages


def test_token_budget_counts_each_image_at_the_size_the_model_sees() -> None:
    from vlkit.vision import FAMILIES

    family = FAMILIES["qwen2_vl"]
    cost = visual_token_cost(family, (4 * 28 * 28, 256 * 28 * 28))
    small, large = png_block(COLORS[0], (56, 56)), png_block(COLORS[1], (1280, 800))
    assert cost(small) == 4  # 56x56 -> 2x2 tokens of 28 px
    assert cost(large) <= 256 and cost(large) > 200  # resized into the 256-token budget
    messages = [ToolMessage(content=[b], tool_call_id=str(i)) for i, b in enumerate([large, large, small, small])]
    kept = images_in(prune_images(messages, max_image_tokens=cost(large) + 8, image_cost=cost))
    assert len(kept) == 3  # large + two small fit, the older large does not
    # the newest image is kept even when it alone is over the budget
    assert len(images_in(prune_images(messages[:1], max_image_tokens=10, image_cost=cost))) == 1


def test_each_model_call_sees_only_the_newest_screenshots(scripted) -> None:
    shots = iter(COLORS)

    @tool
    def screenshot() -> list[dict[str, Any]]:
        """Take a screenshot of the screen."""
        return [{"type": "text", "text": "the screen now:"}, png_block(next(shots))]

    steps = 6
    model = scripted(*[call("screenshot") for _ in range(steps)], answer("seen them all"))
    state = create_vlm_agent(model, [screenshot], max_images=2, max_steps=10).invoke(
        {"messages": [{"role": "user", "content": "look six times"}]}
    )
    assert len(model.calls) == steps + 1
    for k, sent in enumerate(model.calls):
        assert [block_color(b) for b in images_in(sent)] == COLORS[:k][-2:]
    assert count_images(state["messages"]) == steps  # the state keeps every image
    assert "older image was removed" in str(model.calls[-1][3].content)


def test_stride_drops_old_images_in_groups_so_the_prefix_holds_for_several_steps() -> None:
    messages = [ToolMessage(content=[png_block(c)], tool_call_id=str(i)) for i, c in enumerate(COLORS)]
    kept = {n: [block_color(b) for b in images_in(prune_images(messages[:n], max_images=4, stride=2))]
            for n in range(4, 8)}
    assert {n: len(k) for n, k in kept.items()} == {4: 4, 5: 3, 6: 4, 7: 3}
    assert kept[5] == COLORS[2:5] and kept[6] == COLORS[2:6]  # the same two dropped: steps 5 and 6 share a prefix
    step5, step6 = prune_images(messages[:5], max_images=4, stride=2), prune_images(messages[:6], max_images=4, stride=2)
    assert [m.content for m in step5] == [m.content for m in step6[:5]]


def test_tool_images_move_into_one_user_message_after_the_run_of_tool_results() -> None:
    from langchain_core.messages import AIMessage

    from vlkit.agents._images import move_tool_images

    calls = [{"name": "shot", "args": {}, "id": f"c{i}", "type": "tool_call"} for i in range(2)]
    messages = [
        HumanMessage(content="look twice"),
        AIMessage(content="", tool_calls=calls),
        ToolMessage(content=[{"type": "text", "text": "first"}, png_block(COLORS[0])], tool_call_id="c0", name="shot"),
        ToolMessage(content=[png_block(COLORS[1])], tool_call_id="c1", name="shot"),
    ]
    moved = move_tool_images(messages)
    assert [m.type for m in moved] == ["human", "ai", "tool", "tool", "human"]
    assert moved[2].content == [{"type": "text", "text": "first"}] and "image below" in moved[3].text
    assert [block_color(b) for b in images_in([moved[4]])] == COLORS[:2]
    assert "tool 'shot' (call c0)" in moved[4].text and moved[0] is messages[0]
    assert count_images(messages) == 2  # the input is untouched


def test_a_plain_chat_model_gets_tool_images_in_a_user_message(scripted) -> None:
    @tool
    def shot() -> list[dict[str, Any]]:
        """Take a screenshot."""
        return [{"type": "text", "text": "screen:"}, png_block(COLORS[3])]

    model = scripted(call("shot"), answer("yellow"))
    create_vlm_agent(model, [shot]).invoke({"messages": [{"role": "user", "content": "what colour?"}]})
    sent = model.calls[1]
    assert [m.type for m in sent[-2:]] == ["tool", "human"]
    assert not images_in([sent[-2]]) and [block_color(b) for b in images_in([sent[-1]])] == [COLORS[3]]
