"""GUI-action planning: the next click/type/scroll in real screen pixels, right for every Qwen family.

Planning (:class:`GUIActionPlanner`) never touches the screen; an executor (:class:`PageExecutor`,
:class:`DesktopExecutor`) does, and only through an :class:`ActionPolicy`. Heavy parts (Playwright,
RapidOCR, pyautogui) import when used. The eval set is :mod:`vlkit.tools.gui.evalset`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

_EXPORTS = {
    "Action": "vlkit.tools.gui._actions",
    "parse_action": "vlkit.tools.gui._actions",
    "GUIActionPlanner": "vlkit.tools.gui._planner",
    "ActionPolicy": "vlkit.tools.gui._policy",
    "PageExecutor": "vlkit.tools.gui._executor",
    "DesktopExecutor": "vlkit.tools.gui._executor",
    "draw_action": "vlkit.tools.gui.draw",
    "evaluate": "vlkit.tools.gui._eval",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.tools.gui._actions import Action, parse_action
    from vlkit.tools.gui._eval import evaluate
    from vlkit.tools.gui._executor import DesktopExecutor, PageExecutor
    from vlkit.tools.gui._planner import GUIActionPlanner
    from vlkit.tools.gui._policy import ActionPolicy
    from vlkit.tools.gui.draw import draw_action
