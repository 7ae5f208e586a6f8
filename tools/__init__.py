"""VLM tools: screenshot → HTML, invoice → JSON, GUI-action planning.

Names import lazily, so ``import vlkit.tools`` needs no extra; each tool's heavy dependencies
(Playwright, scipy, rapidocr) load when the tool is used. Each tool's own package (``vlkit.tools.html``,
``vlkit.tools.invoice``, ``vlkit.tools.gui``) exports its result types and helpers too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ScreenshotToHTML": "vlkit.tools.html._tool",
    "visual_score": "vlkit.tools.html.score",
    "InvoiceExtractor": "vlkit.tools.invoice._tool",
    "GUIActionPlanner": "vlkit.tools.gui._planner",
    "ActionPolicy": "vlkit.tools.gui._policy",
    "PageExecutor": "vlkit.tools.gui._executor",
    "DesktopExecutor": "vlkit.tools.gui._executor",
    "draw_action": "vlkit.tools.gui.draw",
    "render_html": "vlkit.tools.render",
    "live_page": "vlkit.tools.render",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.tools.gui._executor import DesktopExecutor, PageExecutor
    from vlkit.tools.gui._planner import GUIActionPlanner
    from vlkit.tools.gui._policy import ActionPolicy
    from vlkit.tools.gui.draw import draw_action
    from vlkit.tools.html._tool import ScreenshotToHTML
    from vlkit.tools.html.score import visual_score
    from vlkit.tools.invoice._tool import InvoiceExtractor
    from vlkit.tools.render import live_page, render_html
