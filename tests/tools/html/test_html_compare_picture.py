"""The compare picture (``vlkit html --compare``): screenshot | render | differences, with a legend that
says what each colour of the heat-map means."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vlkit.tools.html.heatmap import LEGEND, side_by_side


def _has(region: Image.Image, colour: tuple[int, int, int]) -> bool:
    return bool((np.asarray(region.convert("RGB")) == colour).all(axis=2).any())


def test_the_legend_shows_every_mark_under_the_pictures() -> None:
    panels = [Image.new("RGB", (1280, 800), grey) for grey in ((250, 250, 250), (240, 240, 240), (200, 200, 200))]
    out = side_by_side(*panels, labels=("screenshot", "render", "differences"), legend=LEGEND)
    plain = side_by_side(*panels, labels=("screenshot", "render", "differences"))
    assert out.width == plain.width and out.height > plain.height  # the legend is a strip under the pictures
    strip = out.crop((0, plain.height, out.width, out.height))
    assert {kind for kind, _, _ in LEGEND} == {"fill", "box"}
    for _, colour, words in LEGEND:
        assert _has(strip, colour), words  # each swatch is drawn in its mark's colour
    assert not any(_has(plain, colour) for _, colour, _ in LEGEND)
    ink = np.asarray(strip.convert("L")) < 100  # the words, in black
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows.size and rows.max() - rows.min() >= 14  # text at least 14 px tall: readable at 100 %
    assert ink[:, : out.width // 3].any() and ink[:, out.width // 3 :].any()  # laid out across, not piled up


def test_a_legend_wider_than_the_picture_wraps_into_rows() -> None:
    narrow = side_by_side(Image.new("RGB", (200, 300), "white"), legend=LEGEND)
    wide = side_by_side(Image.new("RGB", (2000, 300), "white"), legend=LEGEND)
    assert narrow.width == 200 and narrow.height > wide.height  # more rows, nothing cut at the right edge
    right = np.asarray(narrow.convert("L"))[300:, -4:]
    assert (right > 250).all()


@pytest.mark.browser
def test_the_compare_picture_of_a_real_diff_has_the_legend(shots, edits) -> None:
    from vlkit.tools.render import render_html
    from vlkit.tools.html.score import visual_score

    reference = shots["landing"]
    candidate = render_html(dict(edits)["move"], *reference.size)
    score = visual_score(reference, candidate)
    out = side_by_side(reference, candidate, score.heatmap, labels=("screenshot", "render", "differences"), legend=LEGEND)
    strip = out.crop((0, out.height - 120, out.width, out.height))
    assert _has(strip, LEGEND[0][1]) and _has(strip, dict((w.split(":")[0], c) for _, c, w in LEGEND)["moved"])
