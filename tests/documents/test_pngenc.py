"""The page PNG writer: lossless against Pillow's decoder, grayscale only when that loses nothing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vlkit.documents import SourcePage, encode_png
from vlkit.errors import InvalidArgumentError


def _decode(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def test_colour_page_round_trips_exactly():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    img = _decode(encode_png(pixels))
    assert img.mode == "RGB" and img.size == (53, 37)
    assert np.array_equal(np.asarray(img), pixels)


def test_gray_page_is_stored_as_gray_and_decodes_to_the_same_rgb():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, size=(40, 31), dtype=np.uint8)
    pixels = np.repeat(gray[..., None], 3, axis=2)
    png = encode_png(pixels)
    img = _decode(png)
    assert img.mode == "L"
    assert np.array_equal(np.asarray(img.convert("RGB")), pixels)
    assert len(png) < len(encode_png(np.ascontiguousarray(np.dstack([gray, gray, 255 - gray]))))


def test_one_coloured_pixel_keeps_the_page_in_colour():
    pixels = np.full((20, 20, 3), 255, dtype=np.uint8)
    pixels[7, 11] = (255, 0, 0)
    img = _decode(encode_png(pixels))
    assert img.mode == "RGB" and tuple(np.asarray(img)[7, 11]) == (255, 0, 0)


def test_read_only_and_strided_input(tmp_path):
    base = np.random.default_rng(2).integers(0, 256, size=(30, 60, 3), dtype=np.uint8)
    view = base[:, ::2]  # not contiguous
    ro = np.frombuffer(base.tobytes(), dtype=np.uint8).reshape(base.shape)  # read-only, like pixmap samples
    assert np.array_equal(np.asarray(_decode(encode_png(view))), view)
    assert np.array_equal(np.asarray(_decode(encode_png(ro))), base)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4), np.float32), np.zeros(4, np.uint8)])
def test_rejects_what_is_not_an_rgb_or_gray_image(bad):
    with pytest.raises(InvalidArgumentError, match="uint8"):
        encode_png(bad)


def test_source_page_encodes_once_and_views_pixels_as_an_image():
    pixels = np.random.default_rng(3).integers(0, 256, size=(8, 9, 3), dtype=np.uint8)
    page = SourcePage(number=1, pixels=pixels)
    assert (page.width, page.height) == (9, 8)
    assert page.png is page.png
    assert np.array_equal(np.asarray(page.image()), pixels)


def test_plain_zlib_fallback_writes_the_same_image(monkeypatch):
    """Without the isal package the writer falls back to zlib; the image is the same."""
    import zlib

    from vlkit.documents import _pngenc as pngenc

    pixels = np.random.default_rng(4).integers(0, 256, size=(16, 24, 3), dtype=np.uint8)
    monkeypatch.setattr(pngenc, "_compress", zlib.compress)
    assert np.array_equal(np.asarray(_decode(pngenc.encode_png(pixels))), pixels)


def test_colour_outside_the_sampled_rows_keeps_the_page_in_colour():
    from vlkit.documents._pngenc import SAMPLE_ROWS

    pixels = np.full((4 * SAMPLE_ROWS, 10, 3), 200, dtype=np.uint8)
    pixels[SAMPLE_ROWS + 3, 4] = (200, 200, 201)  # a row the quick check skips
    img = _decode(encode_png(pixels))
    assert img.mode == "RGB" and np.array_equal(np.asarray(img), pixels)
