"""The invoice, HTML and GUI tools get their text lines from vlkit.documents: one record, no retrieval.

A line of text with its box is :class:`vlkit.documents.TextLine` wherever a tool meets one, and reading a
document for a tool never imports the knowledge base (``vlkit.retrieval``: Chroma, embedders).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from vlkit.documents import PageLines, TextLine


def test_each_tool_uses_the_documents_line_record() -> None:
    from vlkit.tools.gui import _policy
    from vlkit.tools.html import page_text, score
    from vlkit.tools.invoice import _pages, grounding

    assert score.TextLine is TextLine and page_text.TextLine is TextLine
    assert grounding.TextLine is TextLine and grounding.PageLines is PageLines and _pages.PageLines is PageLines
    assert not any(hasattr(module, name) for module in (score, grounding, _pages, _policy)
                   for name in ("TextBlock", "TextBox", "PageText", "OCRBox"))


def test_the_invoice_tool_reads_pages_into_lines_with_boxes_without_retrieval(text_pdf) -> None:
    """In a fresh interpreter: the pages come with TextLines whose boxes lie on the rendered page, and
    nothing of vlkit.retrieval (nor chromadb) was imported to read them."""
    code = textwrap.dedent(
        f"""
        import sys
        from vlkit.documents import TextLine
        from vlkit.tools.invoice import read_pages
        import vlkit.tools.html.score, vlkit.tools.html.page_text, vlkit.tools.gui._policy
        (page,) = read_pages({str(text_pdf)!r}, reader="text")[:1]
        height, width = page.pixels.shape[:2]
        lines = page.text.lines
        assert page.reader == "text" and lines and all(type(line) is TextLine for line in lines)
        assert all(0 <= l.box[0] < l.box[2] <= width and 0 <= l.box[1] < l.box[3] <= height for l in lines)
        assert any("4821" in l.text for l in lines) and page.text.text.startswith("# Quarterly Report")
        loaded = [m for m in sys.modules if m.startswith("vlkit.retrieval") or m.split(".")[0] == "chromadb"]
        assert not loaded, loaded
        print("OK")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"


@pytest.mark.slow
def test_the_html_score_reads_a_screenshot_into_lines_with_their_colour(tmp_path) -> None:
    """The screenshot side of the visual score: RapidOCR's lines through the documents reader, each a
    TextLine with an integer box and the colour measured under it."""
    from PIL import Image, ImageDraw, ImageFont

    from vlkit.tools.html.score import ocr_blocks

    image = Image.new("RGB", (640, 200), "white")
    font = ImageFont.load_default(size=32)
    ImageDraw.Draw(image).text((40, 60), "Quarterly Report", fill=(200, 30, 30), font=font)
    (block,) = [b for b in ocr_blocks(image) if "Report" in b.text]
    assert isinstance(block, TextLine) and all(isinstance(v, int) for v in block.box)
    assert 30 <= block.box[0] <= 50 and block.colour is not None and block.colour[0] > 150 > block.colour[2]
