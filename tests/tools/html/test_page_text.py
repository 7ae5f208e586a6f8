"""render_with_text: the render's text lines from Chromium's own layout, grouped the way OCR groups them."""

from __future__ import annotations

import numpy as np
import pytest

from vlkit.errors import RenderError
from vlkit.tools.html.page_text import RenderedPage, render_with_text
from vlkit.tools.render import render_html

pytestmark = pytest.mark.browser

PAGE = """<!DOCTYPE html><html><head><style>
body { margin: 20px; font: 16px sans-serif; }
.clip { height: 40px; overflow: hidden; width: 300px; }
table td { padding: 2px 4px; }
</style></head><body>
<h1>Release notes</h1>
<p>Call <code>json.dumps()</code> with <a href="#">indent=2</a> to pretty-print.</p>
<ul><li>First point</li><li>Second point</li></ul>
<table><tr><td>apt install foo</td><td>aptitude install foo</td></tr></table>
<p style="visibility:hidden">hidden words</p><p style="display:none">gone words</p>
<p style="color:rgba(0,0,0,0)">transparent words</p>
<div class="clip"><p style="margin:0">shown line</p><p style="margin:30px 0 0">scrolled away</p></div>
<p style="text-transform:uppercase">loud text</p>
<p style="margin-top:2000px">below the fold</p>
</body></html>"""


@pytest.fixture(scope="module")
def page(chromium) -> RenderedPage:
    return render_with_text(PAGE, 640, 480)


def test_lines_are_what_is_shown(page: RenderedPage) -> None:
    assert [ln.text for ln in page.lines] == [
        "Release notes",
        "Call json.dumps() with indent=2 to pretty-print.",  # inline runs of one line are one line
        "First point",  # list markers are not text
        "Second point",
        "apt install foo",  # two table cells are two lines, however close
        "aptitude install foo",
        "shown line",  # the rest of the clipped box is not visible
        "LOUD TEXT",  # as drawn, after text-transform
    ]  # hidden, display:none, transparent and below-the-fold text is left out


def test_boxes_cover_the_ink(page: RenderedPage) -> None:
    pixels = np.asarray(page.image.convert("L"))
    for line in page.lines:
        x0, y0, x1, y1 = line.box
        assert 0 <= x0 < x1 <= page.image.width and 0 <= y0 < y1 <= page.image.height
        inside = pixels[y0:y1, x0:x1]
        assert inside.min() < 128, line  # dark glyphs inside every box
    title = page.lines[0]
    assert title.box[3] - title.box[1] > page.lines[1].box[3] - page.lines[1].box[1]  # h1 is taller


def test_the_picture_is_render_htmls(page: RenderedPage) -> None:
    assert np.array_equal(np.asarray(page.image), np.asarray(render_html(PAGE, 640, 480)))


def test_device_scale_and_resize_scale_the_boxes(chromium) -> None:
    one = render_with_text("<h1 style='margin:10px'>Scaled</h1>", 320, 200)
    two = render_with_text("<h1 style='margin:10px'>Scaled</h1>", 320, 200, device_scale_factor=2)
    assert two.image.size == (640, 400)
    assert [ln.text for ln in two.lines] == ["Scaled"]
    assert two.lines[0].box == pytest.approx(tuple(2 * v for v in one.lines[0].box), abs=2)
    half = two.resized((320, 200))
    assert half.image.size == (320, 200) and half.lines[0].box == pytest.approx(one.lines[0].box, abs=2)


def test_nothing_leaves_the_page(chromium, counting_server) -> None:
    html = f"<img src='{counting_server.url}/pixel.png'><link rel=stylesheet href='{counting_server.url}/a.css'><p>text</p>"
    page = render_with_text(html, 320, 200)
    assert [ln.text for ln in page.lines] == ["text"]
    assert counting_server.requests == [] and counting_server.connections == 0


def test_limits_are_render_htmls(chromium) -> None:
    with pytest.raises(RenderError, match="byte limit"):
        render_with_text("<p>x</p>" * 10, 100, 100, max_html_bytes=20)
    with pytest.raises(RenderError, match="width"):
        render_with_text("<p>x</p>", 0, 100)
