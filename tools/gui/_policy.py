"""``ActionPolicy``: what an executor may do without asking, and when it must ask first.

Qwen's cookbooks execute whatever the model says. vlkit puts a policy between a plan and the screen:

* **allowed kinds** — anything else is refused outright (no confirmation can override it);
* **allowed origins** — clicking a link to, or acting on a page of, another origin is *navigation off the
  allowlist*;
* **risky actions** ask the ``confirm`` callback first: typing into a password field, submitting a form
  (clicking a submit button, Enter in a form field), key chords (``ctrl+a``, ``alt+f4``), navigation off
  the allowlist. Without a callback they are refused;
* **instructions on the screen** — when the screen's text (OCR, RapidOCR) carries instructions aimed at the
  agent ("ignore previous instructions…"), every action from that screen needs confirmation: a web page
  must not be able to steer the agent.

The executor fills a :class:`ScreenContext` (what is under the pointer, what has focus, the page URL); the
policy itself never touches the screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from vlkit.tools.gui._actions import Action, KeyAction, PointAction, TypeAction

__all__ = [
    "ActionPolicy",
    "INJECTION_PATTERNS",
    "PolicyDecision",
    "ScreenContext",
    "find_injected_instructions",
    "screen_text",
]

INJECTION_PATTERNS: tuple[str, ...] = (
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|all|your|original)\b"
    r"[^.\n]{0,20}\b(?:instructions?|prompts?|directions?|rules|commands?|tasks?)\b",
    r"\b(?:new|updated|real|actual)\s+instructions?\s*(?:for|to)?\s*(?:the\s+)?(?:ai|agent|assistant|model|bot)?\s*:",
    r"\b(?:attention|note|message)\s*(?:to|for)?\s*(?:the\s+)?(?:ai|llm|agents?|assistants?|models?|bots?)\b",
    r"\b(?:ai|llm|agent|assistant|model|bot)s?\s*(?:,|:)?\s*(?:you\s+)?(?:must|should|shall|are\s+required\s+to)\s+"
    r"(?:now\s+)?(?:ignore|click|type|enter|send|navigate|visit|transfer|download|reveal|open)\b",
    r"\byou\s+are\s+now\s+(?:a|an|in|the)\b",
    r"\b(?:system\s+prompt|developer\s+mode|jailbreak)\b",
    r"(?:忽略|无视|忘记)(?:之前|以上|先前|前面|所有)?的?(?:所有)?(?:指令|指示|提示|要求)",
)
"""Phrases of prompt injection seen in web pages; matched case-insensitively, whitespace-normalised."""

_COMPILED = [re.compile(p, re.IGNORECASE) for p in INJECTION_PATTERNS]


def find_injected_instructions(text: str) -> list[str]:
    """The snippets of ``text`` that address an AI agent with instructions (empty when none)."""
    flat = re.sub(r"\s+", " ", text)
    return [m.group(0) for pattern in _COMPILED for m in pattern.finditer(flat)]


def screen_text(screenshot: Image.Image, min_score: float = 0.5) -> str:
    """The text on a screenshot, by RapidOCR (offline; the ``kb`` extra)."""
    from vlkit.documents import RapidOCRReader, SourcePage

    return RapidOCRReader(min_score=min_score).read(SourcePage(number=1, pixels=np.asarray(screenshot.convert("RGB"))))


@dataclass
class ScreenContext:
    """What the executor knows about the screen an action acts on (None: unknown)."""

    url: str | None = None
    """The page's URL (Playwright), for the origin allowlist."""
    target_tag: str | None = None
    """Tag of the element under the action's point (``a``, ``button``, ``input`` …)."""
    target_href: str | None = None
    """Absolute URL of the link under the point, when it is (inside) a link."""
    target_submits: bool = False
    """The element under the point submits a form (submit button / input)."""
    focused_type: str | None = None
    """``type`` of the focused input (``password``, ``text`` …), or the tag of another focused element."""
    focused_in_form: bool = False
    """The focused element is inside a form (Enter submits it)."""
    screen_text: str | None = None
    """OCR'd text of the screenshot the action was planned on."""


class PolicyDecision(BaseModel):
    """Whether an action may run, and why it needed asking."""

    allowed: bool
    risks: list[str] = Field(default_factory=list)
    """Why the action is risky (each one asked the confirm callback)."""
    refused: str | None = None
    """Why the action was refused without asking (kind not allowed), or that confirmation was denied."""
    injected: list[str] = Field(default_factory=list)
    """Instructions to the agent found in the screen text."""

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.risks)


ConfirmCallback = Callable[[Action, list[str]], bool]


class ActionPolicy(BaseModel):
    """Rules an :class:`~vlkit.tools.gui._executor.Executor` applies before touching the screen.

    Example:
        ```python
        policy = ActionPolicy(
            allowed_kinds={"left_click", "type", "scroll"},
            allowed_origins=["https://intranet.example.com"],
            confirm=lambda action, risks: input(f"{action.describe()} ({'; '.join(risks)})? [y/N] ") == "y",
        )
        ```
    """

    allowed_kinds: set[str] | None = None
    """Action kinds that may run at all; None: every kind."""
    allowed_origins: list[str] | None = None
    """``scheme://host[:port]`` the agent may act on and navigate to; None: any origin."""
    confirm: ConfirmCallback | None = None
    """Asked ``confirm(action, risks) -> bool`` before a risky action; None: risky actions are refused."""
    detect_injection: bool = True
    """OCR the screenshot and require confirmation when its text gives the agent instructions."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    def origin_allowed(self, url: str | None) -> bool:
        """Whether ``url``'s origin is on the allowlist (always, without one; ``about:``/``data:`` pages too)."""
        if self.allowed_origins is None or not url:
            return True
        parts = urlsplit(url)
        if parts.scheme in {"about", "data", "blob", "javascript"}:  # not a navigation to another site
            return True
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        return origin in {o.rstrip("/").lower() for o in self.allowed_origins}

    def review(self, action: Action, context: ScreenContext | None = None) -> PolicyDecision:
        """The risks of ``action`` in ``context`` (no callback is called)."""
        context = context or ScreenContext()
        if self.allowed_kinds is not None and action.kind not in self.allowed_kinds:
            allowed = ", ".join(sorted(self.allowed_kinds)) or "none"
            return PolicyDecision(allowed=False, refused=f"action '{action.kind}' is not allowed (allowed: {allowed})")
        risks: list[str] = []
        if isinstance(action, TypeAction) and (context.focused_type or "").lower() == "password":
            risks.append("typing into a password field")
        if isinstance(action, PointAction) and action.kind not in {"mouse_move", "right_click"}:
            if context.target_submits:
                risks.append("submitting a form")
            if context.target_href and not self.origin_allowed(context.target_href):
                risks.append(f"navigation off the allowlist to {_origin(context.target_href)}")
        if isinstance(action, KeyAction):
            if action.is_chord:
                risks.append("key chord " + "+".join(action.keys))
            if any(k.lower() in {"enter", "return", "kp_enter"} for k in action.keys) and context.focused_in_form:
                risks.append("submitting a form (Enter in a form field)")
        if not self.origin_allowed(context.url):
            risks.append(f"acting on a page off the allowlist ({_origin(context.url or '')})")
        injected: list[str] = []
        if self.detect_injection and context.screen_text:
            injected = find_injected_instructions(context.screen_text)
            if injected:
                risks.append(f"the screen carries instructions aimed at the agent: {injected[0]!r}")
        return PolicyDecision(allowed=not risks, risks=risks, injected=injected)

    def authorize(self, action: Action, context: ScreenContext | None = None) -> PolicyDecision:
        """:meth:`review`, then ask ``confirm`` for a risky action; ``allowed`` is the final answer."""
        decision = self.review(action, context)
        if decision.refused or not decision.risks:
            return decision
        if self.confirm is None:
            return decision.model_copy(update={"refused": "risky action and no confirm callback: " + "; ".join(decision.risks)})
        if self.confirm(action, list(decision.risks)):
            return decision.model_copy(update={"allowed": True})
        return decision.model_copy(update={"refused": "confirmation denied: " + "; ".join(decision.risks)})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url[:80]
