"""visual_score with real Chromium renders and real RapidOCR: identity, graded damage, the diff in words."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from vlkit.errors import ImageUnreadableError
from vlkit.tools.html import TERMS, visual_score
from vlkit.tools.render import render_html

pytestmark = pytest.mark.browser

SIZE = (1280, 800)


@pytest.mark.parametrize("name", ["landing", "news_zh", "settings_zh", "dashboard"])
def test_a_page_scores_at_least_099_against_itself(shots, name) -> None:
    score = visual_score(shots[name], shots[name].copy())
    assert score.total >= 0.99
    assert all(getattr(score, t) >= 0.99 for t in TERMS), score.terms()
    assert len(score.reference_blocks) >= 5  # OCR really read the page
    assert [d.kind for d in score.diff] == []


def test_chinese_text_is_read(shots) -> None:
    texts = " ".join(b.text for b in visual_score(shots["news_zh"], shots["news_zh"]).reference_blocks)
    assert "科技日报" in texts and "热门文章" in texts


def test_a_lossy_copy_still_scores_high(shots) -> None:
    # JPEG at quality 80: OCR runs again on different pixels; every term must stay close to 1
    buffer = io.BytesIO()
    shots["pricing"].save(buffer, format="JPEG", quality=80)
    score = visual_score(shots["pricing"], Image.open(io.BytesIO(buffer.getvalue())))
    assert score.total >= 0.97, score.terms()
    assert score.block_match >= 0.95 and score.text >= 0.97


def test_graded_edits_give_strictly_falling_scores(shots, edits) -> None:
    reference = shots["landing"]
    totals = [visual_score(reference, reference).total]
    scores = {}
    for name, html in edits:
        scores[name] = visual_score(reference, render_html(html, *SIZE))
        totals.append(scores[name].total)
    assert all(a > b for a, b in zip(totals, totals[1:])), totals
    assert totals[-1] < 0.5  # a blank page is far off
    for s in scores.values():
        assert all(0.0 <= v <= 1.0 for v in s.terms().values())

    # each edit shows up in the term that measures it and in the diff
    colour = scores["colour"]
    assert colour.colour < 1.0 and colour.block_match == pytest.approx(1.0)
    assert any(d.kind == "colour" and "Deploy faster" in d.text and "#cc3333" in d.detail for d in colour.diff)
    moved = scores["move"]
    assert moved.position < colour.position
    moved_items = [d for d in moved.diff if d.kind == "moved"]
    assert moved_items and all("too low" in d.detail for d in moved_items)
    assert {d.text for d in moved_items} >= {"Instant deploys", "Global edge"}
    # the cards moved together: one sentence names them, with the distance
    assert re.search(r"^- blocks '.*' and \d+ more are 1[4-8]\d px too low$", moved.describe(), re.M), moved.describe()
    deleted = scores["delete"]
    assert deleted.block_match < moved.block_match
    missing = {d.text for d in deleted.diff if d.kind == "missing"}
    assert {"Docs", "Blog"} <= missing
    assert "missing text 'Docs' at top-right" in deleted.describe()
    blank = scores["blank"]
    assert blank.block_match == blank.text == blank.position == blank.colour == 0.0
    assert len([d for d in blank.diff if d.kind == "missing"]) == len(blank.reference_blocks)


def test_heatmap_marks_where_the_pages_differ(shots, edits) -> None:
    reference = shots["landing"]
    deleted = dict(edits)["delete"]
    score = visual_score(reference, render_html(deleted, *SIZE))
    heat = score.heatmap
    assert heat is not None and heat.size == reference.size
    # red where the deleted paragraph was (x 43-674, y ~200-250), grey where nothing changed (bottom right)
    r, g, b = heat.getpixel((200, 212))
    assert r > 150 and r > g + 60
    r2, g2, b2 = heat.getpixel((1200, 780))
    assert abs(r2 - g2) < 10


def test_no_text_on_either_side_is_a_match_of_nothing(chromium) -> None:
    a = render_html("<body style='margin:0;background:#3366cc'></body>", 200, 120)
    s = visual_score(a, a)
    assert s.total == pytest.approx(1.0) and s.reference_blocks == []
    b = render_html("<body style='margin:0;background:#ffffff'></body>", 200, 120)
    off = visual_score(a, b)
    assert off.appearance < 0.01 and any(d.kind == "background" and "#3366cc" in d.detail for d in off.diff)


def test_paths_are_accepted_and_sizes_may_differ(tmp_path, shots) -> None:
    ref = tmp_path / "ref.png"
    shots["login"].save(ref)
    half = shots["login"].resize((640, 400))
    s = visual_score(ref, half)
    assert s.position > 0.97 and s.block_match > 0.5  # positions are compared in page-relative terms
    with pytest.raises(ImageUnreadableError, match="cannot read image"):
        visual_score(tmp_path / "missing.png", half)


# --------------------------------------------------------------------------- the render's text from its DOM


def test_only_the_screenshot_is_read_by_ocr(pages, monkeypatch, chromium) -> None:
    from vlkit.tools.html import score as score_mod
    from vlkit.tools.html.page_text import render_with_text

    calls: list[tuple[int, ...]] = []
    real = score_mod._ocr_lines
    monkeypatch.setattr(score_mod, "_ocr_lines", lambda pixels, m: calls.append(pixels.shape) or real(pixels, m))
    size = (1100, 700)  # a size no other test OCRs: nothing cached yet
    shot = render_html(pages["login"], *size)
    first = visual_score(shot, render_with_text(pages["login"], *size))
    moved = pages["login"].replace("<body", "<body style='padding-top:60px'", 1)
    second = visual_score(shot, render_with_text(moved, *size))
    assert calls == [(700, 1100, 3)]  # the screenshot, once; neither render
    assert first.total >= 0.99 and second.position < first.position
    visual_score(shot, render_html(moved, *size))  # a bare picture has no DOM: it is OCR'd
    assert len(calls) == 2


def test_dom_and_ocr_candidates_agree_on_the_built_in_pages(pages, shots) -> None:
    from vlkit.tools.html.page_text import render_with_text

    for name in ("landing", "news_zh", "dashboard"):
        dom = visual_score(shots[name], render_with_text(pages[name], *SIZE))
        assert dom.total >= 0.99, (name, dom.terms(), dom.describe())
        assert [d.kind for d in dom.diff if d.kind in ("missing", "extra")] == [], (name, dom.describe())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["git_tutorial", "py_datastructures", "sqlite_datatypes"])
def test_content_outranks_style_on_real_pages(name: str, chromium) -> None:
    """The graded set (real Debian documentation pages): every content removal below every restyle and
    move, each kind's steps falling, the page itself on top at 0.99 or more."""
    from vlkit.tools.html.gradedset import graded_variants, ordering_agreement, real_pages
    from vlkit.tools.html.page_text import render_with_text

    variants = graded_variants(real_pages()[name], SIZE)
    assert {"restyle-4", "remove-25", "remove-75", "move-2"} <= set(variants)
    reference = render_with_text(variants["self"], *SIZE).image
    scores = {v: visual_score(reference, render_with_text(html, *SIZE)).total for v, html in variants.items()}
    assert scores["self"] >= 0.99, scores
    agreement = ordering_agreement({name: scores})
    assert agreement.total >= 30 and agreement.wrong == [], (agreement.wrong, scores)
    assert max(scores[v] for v in ("remove-25", "remove-50", "remove-75")) < min(
        scores[v] for v in variants if v.startswith("restyle")
    )
