"""``create_vlm_agent``: LangChain v1's ``create_agent`` with the middleware a small VLM needs.

The result is the compiled LangGraph graph ``create_agent`` returns, so ``invoke`` / ``stream`` /
``astream``, checkpointers, ``HumanInTheLoopMiddleware`` and LangGraph tooling work unchanged.

Example:
    ```python
    from vlkit.agents import create_vlm_agent, run_summary
    from vlkit.models import ChatQwenVL
    from vlkit.tools import InvoiceExtractor

    llm = ChatQwenVL()
    agent = create_vlm_agent(llm, [InvoiceExtractor(model=llm)], max_steps=8)
    state = agent.invoke({"messages": [{"role": "user", "content": [
        {"type": "image", "path": "a.png"}, "Which invoice is over 500?"]}]})
    print(run_summary(state).answer)
    ```
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import BaseTool

from vlkit.errors import PASS_FAMILY, UnsupportedModelError
from vlkit.extras import require
from vlkit.vision.facts import VisionFacts, vision_facts

from vlkit.agents._images import ImagePruningMiddleware, ToolImagesToUserMiddleware, visual_token_cost
from vlkit.agents._middleware import FinalAnswerMiddleware, StepLimitMiddleware, ToolFeedbackMiddleware, steps_taken

__all__ = ["DEFAULT_IMAGES_IN_BUDGET", "RunSummary", "create_vlm_agent", "default_system_prompt", "run_summary"]

logger = logging.getLogger(__name__)

DEFAULT_IMAGES_IN_BUDGET = 4
"""Default visual budget of one prompt: this many full-size images of the model's per-image budget
(1,024 visual tokens on CPU, 5,120 on GPU). Smaller images cost less, so more of them fit."""


def default_system_prompt(structured: bool = False) -> str:
    """The system prompt used when none is given (package data: ``agents/prompts/``)."""
    name = "system_structured.txt" if structured else "system.txt"
    return resources.files("vlkit.agents").joinpath("prompts", name).read_text(encoding="utf-8").strip()


def create_vlm_agent(
    model: BaseChatModel,
    tools: Sequence[BaseTool | Any] = (),
    *,
    system_prompt: str | None = None,
    max_steps: int = 20,
    image_budget: int | None = None,
    max_images: int | None = None,
    max_retries: int = 3,
    prune_stride: int = 1,
    move_tool_images: bool | None = None,
    middleware: Sequence[Any] = (),
    checkpointer: Any = None,
    response_format: Any = None,
    family: str | None = None,
    store: Any = None,
    context_schema: type | None = None,
    name: str | None = None,
    debug: bool = False,
) -> Any:
    """An agent graph over ``model`` and ``tools`` in which every step is a usable tool call.

    Args:
        model: any LangChain chat model with ``bind_tools``; a ChatQwenVL decodes each step under a
            grammar of "one of these tool calls" locally.
        tools: LangChain tools (``BaseTool``, functions). A tool may return image content blocks.
        system_prompt: replaces the default prompt (``agents/prompts/system.txt``).
        max_steps: model calls per run; then the run stops with ``stop_reason="max_steps"``.
        image_budget: visual tokens all images of one prompt may take; older images are replaced by a
            placeholder. Default: :data:`DEFAULT_IMAGES_IN_BUDGET` full-size images of the model's
            per-image budget (needs the Qwen family: read from a ChatQwenVL, or ``family=``).
        max_images: most images per prompt (default: no count limit when the family is known, else 4).
        max_retries: failed steps in a row fed back to the model before the run stops
            (``stop_reason="retry_limit"``).
        prune_stride: drop old images this many at a time, so the prompt prefix stays the same for that
            many steps (a prefix cache on the server reuses it); 1 keeps exactly the newest that fit.
        move_tool_images: send the images of tool results in a user message after them (servers reject
            images in tool messages). None: yes for any model but ChatQwenVL, which does it itself where
            its backend needs it and renders them natively for local Qwen models.
        middleware: more ``AgentMiddleware`` (``HumanInTheLoopMiddleware``, summarization, …); they run
            inside vlkit's limits and outside image pruning.
        checkpointer: a LangGraph checkpointer (needed for human-in-the-loop interrupts).
        response_format: a pydantic model / JSON schema / ``ToolStrategy``: the final answer is that
            schema (``state["structured_response"]``) instead of ``final_answer`` text.
        family: ``qwen2_vl`` / ``qwen2_5_vl`` / ``qwen3_vl`` when ``model`` is not a ChatQwenVL.
        store, context_schema, name, debug: passed to ``create_agent``.
    """
    agents = require("langchain.agents", "agent", "the agent loop")
    from langchain.agents.structured_output import ToolStrategy

    pruning = _pruning(model, family, image_budget, max_images, prune_stride)
    structured = response_format is not None
    if structured and not isinstance(response_format, ToolStrategy):
        # The answer schema as one more tool: with tool_choice forced (create_agent does it for a
        # ToolStrategy) a local ChatQwenVL decodes it under the grammar like every other step.
        response_format = ToolStrategy(response_format)
    stack: list[Any] = [StepLimitMiddleware(max_steps), ToolFeedbackMiddleware(max_retries)]
    if not structured:
        stack.append(FinalAnswerMiddleware())
    if move_tool_images is None:
        # A VisionFacts model is a ChatQwenVL (or built like one): it places tool images itself.
        move_tool_images = not isinstance(model, VisionFacts)
    stack += [*middleware, pruning]
    if move_tool_images:
        stack.append(ToolImagesToUserMiddleware())
    return agents.create_agent(
        model,
        list(tools),
        system_prompt=system_prompt if system_prompt is not None else default_system_prompt(structured),
        middleware=stack,
        response_format=response_format,
        checkpointer=checkpointer,
        store=store,
        context_schema=context_schema,
        name=name,
        debug=debug,
    )


def _pruning(
    model: BaseChatModel, family: str | None, image_budget: int | None, max_images: int | None, stride: int
) -> ImagePruningMiddleware:
    facts = None
    if family is not None or isinstance(model, VisionFacts):
        try:
            facts = vision_facts(model, family, asked_by="create_vlm_agent")
        except UnsupportedModelError:  # a ChatQwenVL over a server, family not given
            if image_budget is not None or family is not None:
                raise
    if facts is None:
        if image_budget is not None:
            raise UnsupportedModelError(
                f"image_budget needs the Qwen family of {type(model).__name__}; ", PASS_FAMILY,
                ", or use max_images instead",
            )
        keep = max_images or DEFAULT_IMAGES_IN_BUDGET
        logger.info("family of %s unknown; keeping the last %d images", type(model).__name__, keep)
        return ImagePruningMiddleware(keep, stride=stride)
    tokens = image_budget if image_budget is not None else DEFAULT_IMAGES_IN_BUDGET * facts.max_image_tokens
    cost = visual_token_cost(facts.family, facts.budget)
    return ImagePruningMiddleware(max_images, max_image_tokens=tokens, image_cost=cost, stride=stride)


# --------------------------------------------------------------------------- results


@dataclass
class RunSummary:
    """What a finished run produced: the answer, why it ended, and what it cost."""

    answer: str
    """The final reply's text (the ``final_answer``, or the stop message)."""
    steps: int
    """Model calls in the run."""
    stop_reason: str | None = None
    """``None`` when the model answered; ``"max_steps"`` or ``"retry_limit"`` otherwise."""
    structured: Any = None
    """``structured_response`` when the agent has a ``response_format``."""
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Every tool call of the run (name, args, id), in order."""


def run_summary(state: dict[str, Any]) -> RunSummary:
    """Summarize the last run in an agent state (the value ``invoke`` returns)."""
    messages: list[AnyMessage] = list(state.get("messages", []))
    start = 0
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage) and not messages[i].additional_kwargs.get("vlkit_feedback"):
            start = i
            break
    run = messages[start:]
    replies = [m for m in run if isinstance(m, AIMessage)]
    usage = [m.usage_metadata for m in replies if m.usage_metadata]
    answer = replies[-1].text if replies else ""
    return RunSummary(
        answer=answer,
        steps=steps_taken(messages),
        stop_reason=state.get("stop_reason"),
        structured=state.get("structured_response"),
        input_tokens=sum(u.get("input_tokens", 0) for u in usage),
        output_tokens=sum(u.get("output_tokens", 0) for u in usage),
        tool_calls=[dict(c) for m in replies for c in m.tool_calls],
    )
