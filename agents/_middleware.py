"""The middleware that makes a small VLM a usable agent, on LangChain v1's ``AgentMiddleware`` hooks.

* :class:`FinalAnswerMiddleware` — every step is a tool call: ``tool_choice="any"`` over the tools plus
  a ``final_answer`` tool (ChatQwenVL decodes that under an xgrammar grammar locally, so a small model
  cannot break the format), and a ``final_answer`` call becomes the run's plain final ``AIMessage``.
* :class:`ToolFeedbackMiddleware` — what the model can fix comes back to it: a tool raising a
  :class:`~vlkit.errors.ModelOutputError` (off-screen point, URL off the allowlist) or LangChain's
  ``ToolException``, an unknown tool, arguments that do not fit the schema (with the schema appended)
  and unparseable calls become observations naming the valid choices. A
  :class:`~vlkit.errors.UserError` stops the run with the error. After ``max_retries`` failed steps in a
  row the run ends with a clear message instead of looping.
* :class:`StepLimitMiddleware` — ``max_steps`` model calls per run, then a clear stop.

What goes to the model as images (pruning, images out of tool messages) is in :mod:`vlkit.agents._images`.

Runs that stop early set ``stop_reason`` in the state (``"max_steps"``, ``"retry_limit"``); a normal end
leaves it ``None``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse, hook_config
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field
from typing_extensions import NotRequired

from vlkit.errors import InvalidArgumentError, ModelOutputError

__all__ = [
    "FINAL_ANSWER",
    "FEEDBACK_KEY",
    "FinalAnswerMiddleware",
    "StepLimitMiddleware",
    "ToolFeedbackMiddleware",
    "VlmAgentState",
    "steps_taken",
]

logger = logging.getLogger(__name__)

FINAL_ANSWER = "final_answer"
FEEDBACK_KEY = "vlkit_feedback"
"""``additional_kwargs`` flag on the human messages this module writes (not the user's turns)."""
STOP_KEY = "vlkit_stop_reason"


class VlmAgentState(AgentState[Any]):
    """Agent state plus why the run stopped early (``None`` when the model answered)."""

    stop_reason: NotRequired[str | None]


# --------------------------------------------------------------------------- final answer


class FinalAnswerArgs(BaseModel):
    """Arguments of the ``final_answer`` tool."""

    answer: str = Field(description="The complete answer to the user's task.")


def _final_answer(answer: str) -> str:
    return answer


def final_answer_tool() -> BaseTool:
    """The ``final_answer`` tool the model calls to end the task."""
    return StructuredTool.from_function(
        func=_final_answer,
        name=FINAL_ANSWER,
        description="Give the final answer to the user's task and stop. Call it once you know the answer.",
        args_schema=FinalAnswerArgs,
    )


class FinalAnswerMiddleware(AgentMiddleware[VlmAgentState, Any]):
    """Each step must call a tool; ``final_answer(answer)`` ends the run with ``answer`` as the reply.

    The model may also answer in plain text when a server ignores ``tool_choice``; that ends the run too
    (it is LangChain's normal exit), so no reply is ever lost.
    """

    state_schema = VlmAgentState

    def __init__(self) -> None:
        super().__init__()
        self.tools = [final_answer_tool()]

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        return _finalize(handler(_forced(request)))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        return _finalize(await handler(_forced(request)))


def _forced(request: ModelRequest) -> ModelRequest:
    # A middleware further out may have chosen a tool already (e.g. a test or a planner); keep it.
    if request.tool_choice is None and request.tools:
        return request.override(tool_choice="any")
    return request


def _finalize(response: ModelResponse) -> ModelResponse:
    result: list[BaseMessage] = []
    for message in response.result:
        if isinstance(message, AIMessage) and any(c["name"] == FINAL_ANSWER for c in message.tool_calls):
            call = next(c for c in message.tool_calls if c["name"] == FINAL_ANSWER)
            others = [c["name"] for c in message.tool_calls if c["name"] != FINAL_ANSWER]
            if others:
                logger.info("final_answer given together with %s; the answer ends the run", ", ".join(others))
            message = AIMessage(
                content=str(call["args"].get("answer", "")),
                id=message.id,
                name=message.name,
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
                additional_kwargs={**message.additional_kwargs, "vlkit_thought": message.text},
            )
        result.append(message)
    return ModelResponse(result=result, structured_response=response.structured_response)


# --------------------------------------------------------------------------- tool errors and retries


class ToolFeedbackMiddleware(AgentMiddleware[VlmAgentState, Any]):
    """Model-fixable errors go back to the model as observations; user errors stop the run.

    Args:
        max_retries: failed steps in a row (every tool call of the step failed, or the call did not
            parse) after which the run ends with ``stop_reason="retry_limit"``.
    """

    state_schema = VlmAgentState

    def __init__(self, max_retries: int = 3) -> None:
        super().__init__()
        if max_retries < 0:
            raise InvalidArgumentError(f"max_retries must be 0 or more; got {max_retries}")
        self.max_retries = max_retries

    # -- tool calls
    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            result = handler(request)
        except (ModelOutputError, ToolException) as exc:
            return _error_message(request, exc)
        return _with_schema(request, result)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        try:
            result = await handler(request)
        except (ModelOutputError, ToolException) as exc:
            return _error_message(request, exc)
        return _with_schema(request, result)

    # -- unparseable calls (servers without a grammar): LangChain would end the run on them
    @hook_config(can_jump_to=["model"])
    def after_model(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        return _feedback_for_invalid_calls(state)

    @hook_config(can_jump_to=["model"])
    async def aafter_model(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        return _feedback_for_invalid_calls(state)

    # -- retry limit
    @hook_config(can_jump_to=["end"])
    def before_model(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        return self._check_retries(state)

    @hook_config(can_jump_to=["end"])
    async def abefore_model(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        return self._check_retries(state)

    def _check_retries(self, state: VlmAgentState) -> dict[str, Any] | None:
        failures, last_error = _failed_steps_in_a_row(state["messages"])
        if failures <= self.max_retries:
            return None
        text = (
            f"Stopped: the last {failures} steps failed (retry limit {self.max_retries}). "
            f"Last error: {last_error}"
        )
        return _stop(text, "retry_limit")


def _error_message(request: Any, exc: Exception) -> ToolMessage:
    call = request.tool_call
    logger.info("tool %s: %s", call["name"], exc)
    return ToolMessage(content=f"Error: {exc}", tool_call_id=call["id"], name=call["name"], status="error")


def _with_schema(request: Any, result: Any) -> Any:
    """Arguments that failed validation: say what the tool takes, so the next call can fit."""
    tool = request.tool
    if not (isinstance(result, ToolMessage) and result.status == "error" and tool is not None):
        return result
    if not isinstance(result.content, str) or "Error invoking tool" not in result.content:
        return result
    schema = tool.tool_call_schema.model_json_schema() if hasattr(tool.tool_call_schema, "model_json_schema") else {}
    props = {name: spec.get("type", spec.get("anyOf", "any")) for name, spec in schema.get("properties", {}).items()}
    required = schema.get("required", [])
    hint = f"\n'{tool.name}' takes {json.dumps(props)} (required: {', '.join(required) or 'none'})."
    return result.model_copy(update={"content": result.content + hint})


def _feedback_for_invalid_calls(state: VlmAgentState) -> dict[str, Any] | None:
    messages = state["messages"]
    last = messages[-1] if messages else None
    if not isinstance(last, AIMessage) or not last.invalid_tool_calls:
        return None
    errors = [str(c.get("error") or "the tool call could not be parsed") for c in last.invalid_tool_calls]
    # The unusable calls are dropped from the reply (no backend can render half a call, and LangChain
    # would otherwise answer them with tool messages some servers reject); the model is told why.
    cleaned = AIMessage(
        content=last.content,
        id=last.id,
        name=last.name,
        tool_calls=last.tool_calls,
        usage_metadata=last.usage_metadata,
        response_metadata=last.response_metadata,
        additional_kwargs={**last.additional_kwargs, "vlkit_invalid_tool_calls": list(last.invalid_tool_calls)},
    )
    if last.tool_calls:
        logger.info("dropped %d unusable tool call(s) next to valid ones: %s", len(errors), "; ".join(errors))
        return {"messages": [cleaned]}
    text = "Your last reply was not a usable tool call: " + "; ".join(errors) + ". Call one of the tools."
    feedback = HumanMessage(content=text, additional_kwargs={FEEDBACK_KEY: True})
    return {"messages": [cleaned, feedback], "jump_to": "model"}


def _failed_steps_in_a_row(messages: Sequence[AnyMessage]) -> tuple[int, str]:
    """How many of the latest steps failed, newest first, and the newest error text."""
    failures, last_error = 0, ""
    i = len(messages) - 1
    while i >= 0:
        message = messages[i]
        if isinstance(message, HumanMessage) and message.additional_kwargs.get(FEEDBACK_KEY):
            failures += 1
            last_error = last_error or message.text
            i -= 2  # the feedback and the unusable reply before it
            continue
        if not isinstance(message, ToolMessage):
            break
        results: list[ToolMessage] = []
        while i >= 0 and isinstance(messages[i], ToolMessage):
            results.append(messages[i])  # type: ignore[arg-type]
            i -= 1
        if not all(r.status == "error" for r in results):
            break
        failures += 1
        last_error = last_error or results[0].text
        i -= 1  # the AI message that made the calls
    return failures, last_error


# --------------------------------------------------------------------------- step limit


class StepLimitMiddleware(AgentMiddleware[VlmAgentState, Any]):
    """At most ``max_steps`` model calls per run (since the user's last message), then a clear stop."""

    state_schema = VlmAgentState

    def __init__(self, max_steps: int = 20) -> None:
        super().__init__()
        if max_steps < 1:
            raise InvalidArgumentError(f"max_steps must be 1 or more; got {max_steps}")
        self.max_steps = max_steps

    def before_agent(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        # a new run on a checkpointed thread starts without the previous run's stop reason
        return {"stop_reason": None} if state.get("stop_reason") else None

    async def abefore_agent(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        return self.before_agent(state, runtime)

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        steps = steps_taken(state["messages"])
        if steps < self.max_steps:
            return None
        text = (
            f"Stopped after {steps} steps without a final answer (max_steps={self.max_steps}); "
            "raise max_steps or give a narrower task."
        )
        return _stop(text, "max_steps")

    @hook_config(can_jump_to=["end"])
    async def abefore_model(self, state: VlmAgentState, runtime: Any) -> dict[str, Any] | None:
        return self.before_model(state, runtime)


def steps_taken(messages: Sequence[AnyMessage]) -> int:
    """Model replies since the user's last own message (this run's steps)."""
    steps = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage) and not message.additional_kwargs.get(FEEDBACK_KEY):
            break
        if isinstance(message, AIMessage) and not message.response_metadata.get(STOP_KEY):
            steps += 1
    return steps


def _stop(text: str, reason: str) -> dict[str, Any]:
    logger.info("agent stopped: %s", text)
    message = AIMessage(content=text, response_metadata={STOP_KEY: reason})
    return {"messages": [message], "stop_reason": reason, "jump_to": "end"}
