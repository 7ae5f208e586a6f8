"""The documents tab shows a cited page so that it can be read (issue 25.5): the whole page at the width of
the preview (not cropped to a strip), a click opens it large, and the cited passage is marked on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.ui_browser import screenshot

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.slow]

FILLER = [
    "The cafeteria on the ground floor opens at nine and serves lunch until half past two every weekday.",
    "Visitors collect a badge at the front desk and return it when they leave the building in the evening.",
    "Printers on each floor take the same toner cartridges; spare cartridges are kept in the supply room.",
    "Parking spaces in the north garage are assigned by team; the south garage is first come, first served.",
    "Meeting rooms are booked through the calendar; a booking that nobody claims within ten minutes lapses.",
    "The library lends laptops for a week at a time; chargers are in the drawer under the returns shelf.",
    "Fire drills happen twice a year; the assembly point is the car park across the street from reception.",
    "Plants in the atrium are watered on Mondays and Thursdays by the facilities team, please do not water them.",
    "Lost property is kept at reception for a month and then given to charity if nobody has claimed it.",
    "The gym in the basement is open from six in the morning until ten at night, towels are provided.",
    "Desks by the windows are shared; please clear them at the end of the day so the cleaners can work.",
    "Bicycles may be left in the courtyard racks; the gate is locked at eight and opened again at seven.",
]
BACKUP = "Backups run every six hours and are kept for 30 days in the second data centre."
LINE, GAP, FONT = 15, 12, 10


def manual(path: Path) -> float:
    """A two-page PDF: page 1 is filler with the backup sentence near its foot; the sentence's top and
    bottom as fractions of the page height are returned."""
    fitz = pytest.importorskip("fitz")
    doc = fitz.open()
    page = doc.new_page()
    y = 60.0
    for text in FILLER:  # one paragraph each, so chunks end between them
        page.insert_text((60, y), text, fontsize=FONT)
        y += LINE + GAP
    y += 40
    page.insert_text((60, y), BACKUP, fontsize=FONT)
    backup = (y - FONT) / page.rect.height, (y + 3) / page.rect.height
    doc.new_page().insert_text((72, 72), "Rotate the API key in Settings > Security.", fontsize=FONT)
    doc.save(path)
    return backup


def test_a_cited_page_is_shown_whole_at_full_width_zoomable_with_the_passage_marked(ui_page, tmp_path: Path) -> None:
    page = ui_page
    pdf = tmp_path / "handbook.pdf"
    top, bottom = manual(pdf)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#vlkit-doc-files input[type=file]").set_input_files(str(pdf))
    page.locator("#vlkit-doc-add").click()
    page.wait_for_function("document.querySelector('#vlkit-doc-status')?.innerText.includes('Indexed')", timeout=180_000)
    page.locator("#vlkit-doc-question textarea").fill("How often do backups run?")
    page.locator("#vlkit-doc-ask").click()
    page.wait_for_function("document.querySelector('#vlkit-doc-sources')?.innerText.includes('[handbook.pdf p.1]')",
                           timeout=180_000)  # fmt: skip
    # the server (and its index) is shared by the session's UI tests: other documents may be cited too,
    # so everything below reads the figure of this page only
    figure = page.locator("#vlkit-doc-pages figure", has_text="handbook.pdf p.1").first
    image = figure.locator("img")
    image.evaluate("img => img.complete || new Promise(done => img.addEventListener('load', done, {once: true}))")
    shown = image.evaluate("""img => {
        const r = img.getBoundingClientRect(), box = document.querySelector('#vlkit-doc-pages').getBoundingClientRect();
        return {width: r.width, height: r.height, preview: box.width, natural: [img.naturalWidth, img.naturalHeight],
                fit: getComputedStyle(img).objectFit};
    }""")
    screenshot(page, "cited-page", tmp_path, full_page=True)
    natural_w, natural_h = shown["natural"]
    assert shown["width"] >= 0.9 * shown["preview"], shown  # fit to the width of the preview
    assert abs(shown["width"] / shown["height"] - natural_w / natural_h) < 0.01 * natural_w / natural_h, shown  # whole
    assert shown["fit"] != "cover"

    marks = figure.locator(".vlkit-mark").evaluate_all("""(marks) => marks.map(m => {
        const img = m.closest('figure').querySelector('img').getBoundingClientRect(), r = m.getBoundingClientRect();
        return [(r.top - img.top) / img.height, (r.bottom - img.top) / img.height];
    })""")  # fmt: skip
    assert marks, "the cited passage is not marked"
    middle = (top + bottom) / 2
    assert any(a <= middle <= b for a, b in marks), (marks, top, bottom)  # the backup sentence is marked ...
    first_line = (60 - FONT) / 792, 63 / 792
    assert not any(a <= sum(first_line) / 2 <= b for a, b in marks), marks  # ... and not the whole page

    image.click()  # a click opens the page large, at its own resolution at least
    page.wait_for_function("document.querySelector('#vlkit-doc-pages figure.zoomed') !== null")
    assert "zoomed" in (figure.get_attribute("class") or "")
    zoomed = image.evaluate("img => img.getBoundingClientRect().width")
    assert zoomed >= min(natural_w, 1200) - 1 and zoomed > 1.3 * shown["width"], (zoomed, shown)
    screenshot(page, "cited-page-zoomed", tmp_path)
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelector('#vlkit-doc-pages figure.zoomed') === null")
