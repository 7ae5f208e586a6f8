"""GUI-action planning: the next click/type/scroll in real screen pixels, right for every Qwen family.

Planning (:class:`GUIActionPlanner`) never touches the screen; an :class:`Executor` does, and only through
an :class:`ActionPolicy`. Heavy parts (Playwright, RapidOCR, pyautogui) import when used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Action": "vlkit.tools.gui.actions",
    "PointAction": "vlkit.tools.gui.actions",
    "DragAction": "vlkit.tools.gui.actions",
    "TypeAction": "vlkit.tools.gui.actions",
    "KeyAction": "vlkit.tools.gui.actions",
    "ScrollAction": "vlkit.tools.gui.actions",
    "WaitAction": "vlkit.tools.gui.actions",
    "SystemButtonAction": "vlkit.tools.gui.actions",
    "OpenAction": "vlkit.tools.gui.actions",
    "AnswerAction": "vlkit.tools.gui.actions",
    "TerminateAction": "vlkit.tools.gui.actions",
    "parse_action": "vlkit.tools.gui.actions",
    "ScreenGeometry": "vlkit.tools.gui.coordinates",
    "GUIActionPlanner": "vlkit.tools.gui.planner",
    "ActionPolicy": "vlkit.tools.gui.policy",
    "PolicyDecision": "vlkit.tools.gui.policy",
    "find_injected_instructions": "vlkit.tools.gui.policy",
    "Executor": "vlkit.tools.gui.executor",
    "ExecutionResult": "vlkit.tools.gui.executor",
    "PageExecutor": "vlkit.tools.gui.executor",
    "DesktopExecutor": "vlkit.tools.gui.executor",
    "draw_action": "vlkit.tools.gui.draw",
    "evaluate": "vlkit.tools.gui.eval",
    "generate_evalset": "vlkit.tools.gui.evalset",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vlkit.tools.gui' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
