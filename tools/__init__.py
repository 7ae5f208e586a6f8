"""VLM tools: screenshot → HTML, invoice → JSON, GUI-action planning.

Names import lazily, so ``import vlkit.tools`` needs no extra; each tool's heavy dependencies
(Playwright, scipy, rapidocr) load when the tool is used.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it (each tool's issue adds its names here)
_EXPORTS: dict[str, str] = {
    "InvoiceExtractor": "vlkit.tools.invoice",
    "InvoiceResult": "vlkit.tools.invoice",
    "Invoice": "vlkit.tools.invoice",
    "check_invoice": "vlkit.tools.invoice",
    "parse_chinese_amount": "vlkit.tools.invoice",
    "is_valid_uscc": "vlkit.tools.invoice",
    "render_html": "vlkit.tools.render",
    "live_page": "vlkit.tools.render",
    "ScreenshotToHTML": "vlkit.tools.html",
    "HTMLResult": "vlkit.tools.html",
    "VisualScore": "vlkit.tools.html",
    "visual_score": "vlkit.tools.html",
    "GUIActionPlanner": "vlkit.tools.gui.planner",
    "Action": "vlkit.tools.gui.actions",
    "ScreenGeometry": "vlkit.tools.gui.coordinates",
    "ActionPolicy": "vlkit.tools.gui.policy",
    "PageExecutor": "vlkit.tools.gui.executor",
    "DesktopExecutor": "vlkit.tools.gui.executor",
    "draw_action": "vlkit.tools.gui.draw",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vlkit.tools' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
