"""``GUIActionPlanner``: screenshot + goal → the next :data:`Action`, in the screenshot's own pixels.

The prompt is each family's native one — Qwen's ``computer_use`` / ``mobile_use`` function told "the
screen's resolution is W×H" (the resized size for Qwen2.5-VL, 1000×1000 for Qwen3-VL) with the steps so far
as text history, or a grounding prompt for Qwen2-VL. The screenshot is resized here, once, to the size the
model sees (:meth:`vlkit.vision.ModelVisionFacts.view_size`, the function ChatQwenVL's backend resizes with,
under the model's budget), and sent at that size: the backend's (or a server's) own smart_resize is then a
no-op, so the coordinates the model writes map back exactly. The family and budget are asked of the model
through :func:`vlkit.vision.vision_facts` (any chat model that is not a ChatQwenVL needs ``family=``).

A chat model that implements ``bind_tools`` is asked with the function bound (``tool_choice=name``;
``with_structured_output`` for Qwen2-VL's grounding): a local :class:`~vlkit.models.ChatQwenVL` decodes that
under a grammar compiled from the bounded action schema, so it is always one valid, on-screen action. A chat
model without tool calling gets the function in the system prompt (Hermes format) and answers in text.
Either way the answer is validated; a bad one raises :class:`~vlkit.errors.InvalidActionError`, naming what
is wrong.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from vlkit.errors import RAISE_MAX_TOKENS, InvalidActionError, ModelOutputError, OutputTruncatedError
from vlkit.tools.gui import _functions as functions
from vlkit.tools.gui._actions import Action
from vlkit.tools.gui._coordinates import DEFAULT_RELATIVE_DIVISOR, ScreenGeometry
from vlkit.vision import FamilySpec, ModelVisionFacts, open_image, vision_facts

__all__ = ["GUIActionPlanner", "PlanRequest", "load_screenshot"]

logger = logging.getLogger(__name__)

Screenshot = Image.Image | str | Path | bytes


def load_screenshot(screenshot: Screenshot) -> Image.Image:
    """A screenshot given as a PIL image, a path or PNG/JPEG bytes → an RGB PIL image, checked before decoding
    (:func:`vlkit.vision.open_image`: size limits, format, a truncated file)."""
    what = "the screenshot" if isinstance(screenshot, (bytes, Image.Image)) else f"the screenshot {str(screenshot)[:120]}"
    return open_image(screenshot, what=what)


@dataclass
class PlanRequest:
    """Everything one planning call sends, prepared (``GUIActionPlanner.prepare``); benchmarks time the parts."""

    geometry: ScreenGeometry
    messages: list[BaseMessage]
    runnable: Runnable
    grounding: bool
    function_name: str
    structured: bool
    """True when the runnable is ``with_structured_output(include_raw=True)`` (Qwen2-VL on ChatQwenVL)."""
    timings: dict[str, float] = field(default_factory=dict)


class GUIPlanInput(BaseModel):
    """Arguments of the planner as a LangChain tool."""

    screenshot: str = Field(description="Path of the screenshot (PNG or JPEG).")
    goal: str = Field(description="What the user wants done on this screen.")
    history: list[str] = Field(default_factory=list, description="The steps done so far, one line each.")


class GUIActionPlanner(BaseTool):
    """Plan the next GUI action for a goal on a screenshot, right for the model's Qwen family.

    Example:
        ```python
        from vlkit import ChatQwenVL
        from vlkit.tools import GUIActionPlanner

        planner = GUIActionPlanner(model=ChatQwenVL(model="Qwen/Qwen2.5-VL-3B-Instruct"))
        action = planner.plan("screen.png", "Open the settings")
        action.kind, action.point      # ('left_click', (1712, 48)) in screen.png's pixels
        ```
    """

    name: str = "gui_action_planner"
    description: str = (
        "Plan the next GUI action (click, type, scroll, ...) on a screenshot towards a goal. "
        "Returns the action as JSON with coordinates in the screenshot's pixels. Nothing is executed."
    )
    args_schema: type[BaseModel] = GUIPlanInput

    model: BaseChatModel
    """The vision-language model (a ChatQwenVL, or any chat model with ``family=`` given)."""
    device: Literal["desktop", "mobile"] = "desktop"
    """``desktop``: Qwen's ``computer_use`` actions; ``mobile``: ``mobile_use`` actions."""
    family: Literal["qwen2_vl", "qwen2_5_vl", "qwen3_vl"] | None = None
    """The model's Qwen family; read from a ChatQwenVL when not given."""
    min_pixels: int | None = Field(default=None, ge=1)
    """Visual budget floor (default: the model's)."""
    max_pixels: int | None = Field(default=None, ge=1)
    """Visual budget (default: the model's, 256 tokens on CPU); more pixels, finer coordinates."""
    relative_divisor: Literal[999, 1000] = DEFAULT_RELATIVE_DIVISOR
    """Qwen3-VL's 0…N grid: 1000 as in the official computer-use cookbook, 999 as in its mobile cookbook."""
    allowed_kinds: tuple[str, ...] | None = None
    """Offer only these actions to the model (the grammar enforces it locally); None: all of the device's."""
    zoom: float | None = Field(default=None, gt=1.0)
    """Zoom-and-verify (off by default): crop 1/zoom of the screen around the planned point, ground the
    target again in the enlarged crop and use that point."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Answer budget per call (default: the model's)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    # ------------------------------------------------------------------ public API

    def plan(self, screenshot: Screenshot, goal: str, history: Sequence[str | Action] = ()) -> Action:
        """The next action towards ``goal`` on ``screenshot``, given the steps done so far."""
        image = load_screenshot(screenshot)
        action = self.decide(self.prepare(image, goal, history))
        if self.zoom is not None and action.point is not None:
            from vlkit.tools.gui._zoom import refine

            action = refine(self, image, action, goal)
        return action

    def facts(self) -> ModelVisionFacts:
        """How the model sees the screenshot: its family and budget (this planner's settings first)."""
        return vision_facts(self.model, self.family, min_pixels=self.min_pixels, max_pixels=self.max_pixels,
                            asked_by="GUIActionPlanner")  # fmt: skip

    def spec(self) -> FamilySpec:
        """The Qwen family the prompt and coordinates are written for."""
        return self.facts().family

    def budget(self) -> tuple[int, int]:
        """``(min_pixels, max_pixels)`` the screenshot is resized to."""
        return self.facts().budget

    def geometry(self, size: tuple[int, int], facts: ModelVisionFacts | None = None) -> ScreenGeometry:
        """How a screenshot of ``size`` maps to the model's units."""
        facts = facts or self.facts()
        divisor = DEFAULT_RELATIVE_DIVISOR if facts.family.model_type == "qwen2_vl" else self.relative_divisor
        return ScreenGeometry.for_family(facts.family, size, facts.budget, divisor=divisor)

    # ------------------------------------------------------------------ the two halves of plan()

    def prepare(
        self, image: Image.Image, goal: str, history: Sequence[str | Action] = (), *, kinds: tuple[str, ...] | None = None
    ) -> PlanRequest:
        """Resize the screenshot to the model's view and build the prompt and the (constrained) runnable."""
        started = time.perf_counter()
        facts = self.facts()
        spec, budget = facts.family, facts.budget
        geometry = self.geometry(image.size, facts)
        view = image if image.size == geometry.model_size else image.resize(geometry.model_size, Image.Resampling.BICUBIC)
        resize_s = time.perf_counter() - started
        image_block = {"type": "image", "image": view, "min_pixels": budget[0], "max_pixels": budget[1]}
        kinds = kinds or self.allowed_kinds
        steps = "".join(
            f"Step {i}: {step if isinstance(step, str) else step.describe()}; " for i, step in enumerate(history, 1)
        )
        grounding = spec.model_type == "qwen2_vl"
        name = functions.FUNCTION_NAMES[self.device]
        native = _calls_tools(self.model)
        plain: Runnable = self.model.bind(max_tokens=self.max_tokens) if self.max_tokens and native else self.model
        structured = False
        if grounding:
            allowed = [k for k in functions.kinds_for(self.device) if kinds is None or k in kinds]
            text = functions.prompt_text("qwen2_vl_grounding.txt").substitute(
                device=self.device, goal=goal, history=steps or "none", kinds=", ".join(allowed)
            )
            messages: list[BaseMessage] = [HumanMessage(content=[image_block, text])]
            if native:
                schema = functions.grounding_schema(self.device, kinds)
                runnable: Runnable = self.model.with_structured_output(schema, include_raw=True)  # type: ignore[assignment]
                if self.max_tokens:
                    runnable = runnable.bind(max_tokens=self.max_tokens)
                structured = True
            else:
                runnable = plain
        else:
            tool = functions.function_definition(self.device, geometry, kinds)
            query = functions.prompt_text("user_query.txt").substitute(goal=goal, history=steps)
            if not steps:
                query = query.splitlines()[0]
            messages = [HumanMessage(content=[image_block, query])]
            if native:
                runnable = self.model.bind_tools([tool], tool_choice=name)
                if self.max_tokens:
                    runnable = runnable.bind(max_tokens=self.max_tokens)
            else:
                system = functions.prompt_text("hermes_system.txt").substitute(
                    tools=json.dumps(tool, ensure_ascii=False)
                )
                messages.insert(0, SystemMessage(content=system))
                runnable = plain
        return PlanRequest(geometry, messages, runnable, grounding, name, structured, {"resize_s": resize_s})

    def decide(self, request: PlanRequest) -> Action:
        """Run the prepared request and turn the answer into an :data:`Action` (validated)."""
        result = request.runnable.invoke(request.messages)
        return self.decode(request, result)

    def decode(self, request: PlanRequest, result: Any) -> Action:
        """The model's answer (AIMessage, or structured-output dict) → a validated :data:`Action`."""
        kinds = self.allowed_kinds
        if request.structured:
            raw_message: AIMessage = result["raw"]
            raw = raw_message.content if isinstance(raw_message.content, str) else str(raw_message.content)
            if result.get("parsing_error") is not None:
                error = result["parsing_error"]
                raise error if isinstance(error, ModelOutputError) else InvalidActionError(str(error))
            return functions.action_from_arguments(
                result["parsed"], request.geometry, self.device, grounding=True, raw=raw, kinds=kinds
            )
        message: AIMessage = result
        content = message.content if isinstance(message.content, str) else _text_of(message.content)
        if message.tool_calls:
            call = message.tool_calls[0]
            if call["name"] != request.function_name:
                raise InvalidActionError(f"unknown function {call['name']!r}; call {request.function_name}")
            raw = json.dumps({"name": call["name"], "arguments": call["args"]}, ensure_ascii=False)
            return functions.action_from_arguments(
                call["args"], request.geometry, self.device, thought=content.strip(), raw=raw, kinds=kinds
            )
        if message.invalid_tool_calls:
            bad = message.invalid_tool_calls[0]
            problem = str(bad.get("error") or bad.get("args"))
            if "truncated" in problem or (message.response_metadata or {}).get("finish_reason") == "length":
                raise OutputTruncatedError(
                    f"the {request.function_name} call was cut off at the token limit ({problem[:120]}); ",
                    RAISE_MAX_TOKENS, " (one call takes about 30 tokens with Qwen's tokenizer)",
                    raw=content,
                )
            raise InvalidActionError(f"the {request.function_name} call is unusable: {problem}")
        arguments, thought = functions.parse_answer_text(content, request.function_name, grounding=request.grounding)
        return functions.action_from_arguments(
            arguments, request.geometry, self.device, grounding=request.grounding, thought=thought, raw=content,
            kinds=kinds,
        )  # fmt: skip

    # ------------------------------------------------------------------ BaseTool

    def _run(self, screenshot: str, goal: str, history: list[str] | None = None, **_: Any) -> str:
        action = self.plan(screenshot, goal, history or ())
        return action.model_dump_json(exclude={"raw"})


def _calls_tools(model: BaseChatModel) -> bool:
    """Whether the model implements LangChain's tool calling (``BaseChatModel.bind_tools`` itself only raises
    ``NotImplementedError``); those that do not are given the function in the prompt instead."""
    return type(model).bind_tools is not BaseChatModel.bind_tools


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    return str(content)
