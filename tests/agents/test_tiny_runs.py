"""Real runs on tiny random checkpoints: sampled at temperature 1, every step is still a usable tool call
or the final answer (the grammar of "one of these tools"), and every run ends within ``max_steps``."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from tests.agents.scripted import png_block
from vlkit.agents import create_vlm_agent, run_summary

RUNS_PER_FAMILY = 10  # 30 runs over the three families
MAX_STEPS = 3


class Point(BaseModel):
    """A point on the 640x400 screen."""

    x: int = Field(ge=0, le=639)
    y: int = Field(ge=0, le=399)


@tool
def look() -> list[dict[str, Any]]:
    """Look at the screen (returns a screenshot)."""
    return [{"type": "text", "text": "screen:"}, png_block((20, 120, 220), (96, 64))]


@tool(args_schema=Point)
def click(x: int, y: int) -> str:
    """Click at (x, y) on the screen."""
    return f"clicked ({x}, {y})"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


TOOLS = [look, click, add]
NAMES = {t.name for t in TOOLS}


@pytest.mark.slow
def test_every_sampled_step_is_a_tool_call_or_the_final_answer(tiny_path: str) -> None:
    from vlkit.models import ChatQwenVL

    base = ChatQwenVL(model=tiny_path, max_tokens=40, temperature=1.0)
    outcomes: list[str] = []
    for seed in range(RUNS_PER_FAMILY):
        llm = base.model_copy(update={"seed": seed})
        state = create_vlm_agent(llm, TOOLS, max_steps=MAX_STEPS, max_retries=MAX_STEPS).invoke(
            {"messages": [{"role": "user", "content": [png_block((250, 250, 250)), "Click the blue button."]}]}
        )
        summary = run_summary(state)
        replies = [m for m in state["messages"] if isinstance(m, AIMessage)]
        for reply in replies:
            assert not reply.invalid_tool_calls, (seed, reply.invalid_tool_calls)
            if reply.tool_calls:
                assert {c["name"] for c in reply.tool_calls} <= NAMES, reply.tool_calls
            else:  # the last reply: a final_answer call, or the max_steps stop
                assert reply is replies[-1]
                assert "vlkit_thought" in reply.additional_kwargs or summary.stop_reason == "max_steps"
        assert not [m for m in state["messages"] if isinstance(m, HumanMessage)][1:], "no parse-failure feedback"
        assert all(m.status != "error" for m in state["messages"] if isinstance(m, ToolMessage))
        assert summary.steps <= MAX_STEPS and summary.stop_reason in (None, "max_steps")
        outcomes.append(summary.stop_reason or "answered")
    assert len(outcomes) == RUNS_PER_FAMILY
