"""``--draw`` pictures: on an A4 page rendered at the CLI's dpi, every evidence box has a label readable at
100 % that says what was read there and why a check failed, inside the picture, covering no other label
or box.

The scripted model only supplies a known answer with known mistakes; the pages, the checks, the grounding
and the drawing are real.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from tests.tools.invoice.conftest import ScriptedChatModel
from tests.tools.invoice.test_extract import PDF, truth
from vlkit.tools.invoice import InvoiceExtractor
from vlkit.tools.invoice.draw import GREEN, RED, draw_evidence, draw_page
from vlkit.tools.invoice._pages import read_pages

CAP_HEIGHT = 14
"""Capitals and digits at least this many pixels tall: readable at 100 % zoom."""


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _extract(evalset: Path, **changes: object) -> tuple:
    answer = {**truth(evalset), **changes}
    extractor = InvoiceExtractor(ScriptedChatModel(answers=[answer]), reask=False)
    result = extractor.extract(evalset / PDF)
    (page,) = read_pages(evalset / PDF, dpi=extractor.dpi)  # what `vlkit invoice --draw` draws on
    return result, page


def test_labels_say_what_was_read_and_why_a_check_failed(evalset: Path) -> None:
    good = truth(evalset)
    wrong_total = str(Decimal(good["total"]) + 100)
    result, page = _extract(evalset, total=wrong_total)
    assert page.image().size == (1190, 1684)  # A4 at 144 dpi
    image, placed = draw_page(result, page)
    labels = {p.text[0].split(":")[0]: p for p in placed}

    assert labels["invoice_number"].text[0] == f"invoice_number: {good['invoice_number']}"
    total = " ".join(labels["total"].text)
    assert total.startswith(f"total: {wrong_total}") and "failed grounded" in total and "does not appear" in total
    failed = {check.name for check in result.failed}
    assert {"grounded", "subtotal_plus_tax"} <= failed
    assert any("failed subtotal_plus_tax:" in line for p in placed for line in p.text)  # said once, in full

    for label in placed:
        x0, y0, x1, y1 = label.box
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height, label
        assert all(line[3] - line[1] >= CAP_HEIGHT for line in label.lines), label  # the drawn text's height
        colour = RED if label.text[0].split(":")[0] in {f for c in result.failed for f in c.fields} else GREEN
        inside = image.crop(label.box).getcolors(1 << 16)
        assert any(rgb == colour for _, rgb in inside), (label.text, colour)  # the text is drawn, in its colour
    targets = [p.target for p in placed if p.target]
    for a, b in itertools.combinations(placed, 2):
        assert not _overlap(a.box, b.box), (a.text, b.text)
    for label in placed:
        assert not any(_overlap(label.box, t) for t in targets), label.text
    # beside the page, in the order their boxes are read, top to bottom
    tops = [p.box[1] for p in placed if p.target]
    centres = [(p.target[1] + p.target[3]) / 2 for p in placed if p.target]
    assert tops == sorted(tops) and centres == sorted(centres)


def test_failed_checks_without_a_box_are_listed_under_the_first_page(evalset: Path, tmp_path: Path) -> None:
    result, page = _extract(evalset, total=None)
    assert any(c.name == "has_total" for c in result.failed)
    image, placed = draw_page(result, page)
    strip = placed[-1]
    assert strip.target is None and image.height > page.image().height
    assert strip.box[1] >= page.image().height and strip.box[3] <= image.height
    assert any(line.startswith("has_total: no total was read") for line in strip.text)
    (written,) = draw_evidence(result, [page], tmp_path)
    assert written.name == "004-invoice-p1.png" and written.stat().st_size > 0


@pytest.mark.parametrize("width", [200, 600])
def test_long_values_wrap_inside_the_label_column(width: int) -> None:
    from vlkit.tools._labels import label_font, wrap

    font = label_font(24)
    text = "seller.address: 上海市浦东新区张江高科技园区碧波路690号 Building 3, Floor 12, Room 1203"
    lines = wrap(text, font, width, max_lines=3)
    assert 1 < len(lines) <= 3 and all(font.getlength(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "").startswith("seller.address:上海市")
