"""Screenshot → HTML: the tool, the render-and-compare loop and the Design2Code-style visual score.

``ScreenshotToHTML`` (a LangChain tool, and ``.convert()`` for plain Python), ``visual_score`` (usable
on its own: any two pictures of pages), and ``refine_html`` (the loop over any ``BaseChatModel``).
"""

from __future__ import annotations

from vlkit.tools.html.refine import HTMLResult, HTMLRound, extract_html, refine_html
from vlkit.tools.html.score import TERMS, DiffItem, TextBlock, VisualScore, visual_score
from vlkit.tools.html.tool import ScreenshotToHTML, ScreenshotToHTMLInput

__all__ = [
    "TERMS",
    "DiffItem",
    "HTMLResult",
    "HTMLRound",
    "ScreenshotToHTML",
    "ScreenshotToHTMLInput",
    "TextBlock",
    "VisualScore",
    "extract_html",
    "refine_html",
    "visual_score",
]
