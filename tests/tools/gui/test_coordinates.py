"""ScreenGeometry: screen pixels ↔ model units per family, exact at many sizes, aspects and budgets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlkit.vision import FAMILIES, resized_size, smart_resize
from vlkit.tools.gui._coordinates import ScreenGeometry

TOKENS = [4, 16, 64, 256, 1280, 4096, 16384]


@st.composite
def geometries(draw: st.DrawFn) -> ScreenGeometry:
    family = FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
    width = draw(st.integers(min_value=60, max_value=8000))
    aspect = draw(st.floats(min_value=1 / 12, max_value=12))
    height = max(60, min(8000, round(width * aspect)))
    tokens = draw(st.sampled_from(TOKENS))
    budget = (family.min_pixels, max(family.min_pixels, tokens * family.factor**2))
    divisor = 1000 if family.model_type == "qwen2_vl" else draw(st.sampled_from([999, 1000]))
    return ScreenGeometry.for_family(family, (width, height), budget, divisor=divisor)


def _units(geo: ScreenGeometry, axis: int) -> int:
    return geo.divisor if geo.is_relative else geo.model_size[axis]


@settings(max_examples=400, deadline=None)
@given(geo=geometries(), fx=st.floats(0, 1), fy=st.floats(0, 1))
def test_model_units_round_trip_exactly_when_the_screen_is_larger(geo: ScreenGeometry, fx: float, fy: float) -> None:
    max_x, max_y = geo.model_extent
    ux, uy = round(fx * max_x), round(fy * max_y)
    sx, sy = geo.to_screen(ux, uy)
    assert 0 <= sx < geo.screen_size[0] and 0 <= sy < geo.screen_size[1]
    back = geo.to_model(sx, sy)
    for axis, (u, b) in enumerate(((ux, back[0]), (uy, back[1]))):
        if geo.screen_size[axis] >= _units(geo, axis):
            assert b == u, (geo, (ux, uy), (sx, sy), back)
        else:  # an upscaled screenshot: several units share one pixel
            assert abs(b - u) <= math.ceil(_units(geo, axis) / geo.screen_size[axis])


@settings(max_examples=400, deadline=None)
@given(geo=geometries(), fx=st.floats(0, 1, exclude_max=True), fy=st.floats(0, 1, exclude_max=True))
def test_screen_points_move_less_than_one_model_unit(geo: ScreenGeometry, fx: float, fy: float) -> None:
    x, y = int(fx * geo.screen_size[0]), int(fy * geo.screen_size[1])
    model = geo.to_model(x, y)
    assert geo.in_model_bounds(*model)
    back = geo.to_screen(*model)
    for axis, (p, b) in enumerate(((x, back[0]), (y, back[1]))):
        pixels_per_unit = geo.screen_size[axis] / _units(geo, axis)
        assert abs(b - p) <= max(1.0, pixels_per_unit), (geo, (x, y), model, back)


@settings(max_examples=300, deadline=None)
@given(geo=geometries(), data=st.data())
def test_a_box_centre_written_in_model_units_lands_inside_the_box(geo: ScreenGeometry, data: st.DataObject) -> None:
    """What the planner relies on: a model pointing at a box's centre, in its own units, hits the box."""
    boxes = []
    for axis in range(2):
        size = geo.screen_size[axis]
        span = max(2, math.ceil(2 * size / _units(geo, axis)) + 2)  # at least two model units wide
        if span >= size:
            return
        start = data.draw(st.integers(0, size - span))
        boxes.append((start, start + data.draw(st.integers(span, size - start))))
    (left, right), (top, bottom) = boxes
    centre = ((left + right) / 2, (top + bottom) / 2)
    sx, sy = geo.to_screen(*geo.to_model(*centre))
    assert left <= sx < right and top <= sy < bottom


@pytest.mark.parametrize(
    "family, size, tokens",
    [("qwen2_5_vl", (412, 3000), 256), ("qwen3_vl", (100, 1900), 64), ("qwen2_vl", (1920, 70), 64)],
)
def test_smart_resize_changes_the_aspect_and_each_axis_scales_on_its_own(family: str, size: tuple, tokens: int) -> None:
    spec = FAMILIES[family]
    budget = (spec.min_pixels, tokens * spec.factor**2)
    geo = ScreenGeometry.for_family(spec, size, budget)
    w, h = geo.model_size
    assert (w, h) == resized_size(spec, *size, *budget)  # the backend's own function
    assert (h, w) == smart_resize(size[1], size[0], spec.factor, *budget)
    assert abs((w / h) / (size[0] / size[1]) - 1) > 0.05  # the aspect really changed
    # the far corner maps into the last model unit on both axes, whatever the aspect change
    far = geo.to_screen(*geo.model_extent)
    for axis in range(2):
        assert size[axis] - size[axis] / _units(geo, axis) - 1 <= far[axis] <= size[axis] - 1
    back = geo.to_model(*far)
    for axis in range(2):
        if size[axis] >= _units(geo, axis):  # exact unless the axis was upscaled
            assert back[axis] == geo.model_extent[axis]


def test_the_declared_resolution_follows_the_family() -> None:
    budget = (3136, 256 * 28 * 28)
    geo25 = ScreenGeometry.for_family(FAMILIES["qwen2_5_vl"], (1920, 1080), budget)
    assert geo25.declared_resolution == geo25.model_size == (588, 336)
    assert geo25.to_screen(294, 168) == (961, 541)  # pixel centres: (294.5 / 588) * 1920
    geo3 = ScreenGeometry.for_family(FAMILIES["qwen3_vl"], (1920, 1080), (4096, 256 * 32 * 32))
    assert geo3.declared_resolution == (1000, 1000) and geo3.to_screen(500, 500) == (960, 540)
    geo3_mobile = ScreenGeometry.for_family(FAMILIES["qwen3_vl"], (1920, 1080), (4096, 256 * 32 * 32), divisor=999)
    assert geo3_mobile.declared_resolution == (999, 999) and geo3_mobile.to_screen(999, 999) == (1919, 1079)
