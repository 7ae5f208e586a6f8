"""Screenshot → HTML: the tool, the render-and-compare loop and the Design2Code-style visual score.

``ScreenshotToHTML`` (a LangChain tool, and ``.convert()`` for plain Python; it returns an
``HTMLResult``) and ``visual_score`` (usable on its own: any two pictures of pages, scored on ``TERMS``).
The names load lazily; the eval set is :mod:`vlkit.tools.html.evalset`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

_EXPORTS = {
    "ScreenshotToHTML": "vlkit.tools.html._tool",
    "HTMLResult": "vlkit.tools.html.refine",
    "visual_score": "vlkit.tools.html.score",
    "TERMS": "vlkit.tools.html.score",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.tools.html._tool import ScreenshotToHTML
    from vlkit.tools.html.refine import HTMLResult
    from vlkit.tools.html.score import TERMS, visual_score
