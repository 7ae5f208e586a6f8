"""The one coordinate type of the GUI tools: screen pixels ↔ the model's units, per Qwen family.

The three families write a screen point differently, and mixing them up is the usual bug:

* **Qwen2-VL** grounds with ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>``, integers relative to the image,
  0–1000;
* **Qwen2.5-VL** writes absolute pixels *of the smart-resized image it saw* (its ``computer_use`` function is
  told "the screen's resolution is W×H" with the resized size);
* **Qwen3-VL** writes relative 0–1000 in its ``computer_use`` / ``mobile_use`` calls. Its cookbooks disagree
  on the divisor: the official ``computer_use.ipynb`` tells the model "The screen's resolution is
  1000x1000" and maps back with ``x / 1000 * width``; ``mobile_agent.ipynb`` says 999x999 and ``x / 999``.
  vlkit follows ``computer_use.ipynb`` (1000) by default; ``relative_divisor=999`` follows the mobile one.

:class:`ScreenGeometry` holds the three sizes (original screenshot, model view, relative grid) and converts
both ways with *pixel-centre* semantics: screen pixel ``i`` covers ``[i, i+1)``, so model unit → screen →
model is the identity whenever the screenshot has at least as many pixels as the model has units (always the
case for screenshots, which are downscaled), and screen → model → screen moves a point by less than one
model unit. The model-view size comes from :func:`vlkit.vision.resized_size`, the function the
transformers backend resizes with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vlkit.vision.families import FamilySpec
from vlkit.vision.resize import resized_size

__all__ = ["DEFAULT_RELATIVE_DIVISOR", "ScreenGeometry"]

DEFAULT_RELATIVE_DIVISOR = 1000
"""Qwen3-VL's official computer-use cookbook divides by 1000 (its mobile cookbook by 999)."""


@dataclass(frozen=True)
class ScreenGeometry:
    """One screenshot as one model sees it: converts points between screen pixels and model units.

    ``convention`` is the family's (``"absolute"``: pixels of the resized image; ``"relative_1000"``:
    0…``divisor`` of the image). Model units are what the model writes; screen pixels are integers of the
    original screenshot.

    Example:
        ```python
        geo = ScreenGeometry.for_family(FAMILIES["qwen2_5_vl"], (1920, 1080), (3136, 200704))
        geo.model_size          # (588, 336): "The screen's resolution is 588x336."
        geo.to_screen(294, 168) # (960, 540)
        ```
    """

    screen_size: tuple[int, int]
    """(width, height) of the original screenshot in pixels."""
    model_size: tuple[int, int]
    """(width, height) of the smart-resized image the model sees."""
    convention: str
    """``"absolute"`` (resized pixels) or ``"relative_1000"`` (0…divisor)."""
    divisor: int = DEFAULT_RELATIVE_DIVISOR
    """The relative grid's maximum (1000, or 999 as in Qwen3-VL's mobile cookbook)."""

    @classmethod
    def for_family(
        cls,
        family: FamilySpec,
        screen_size: tuple[int, int],
        budget: tuple[int, int],
        *,
        divisor: int = DEFAULT_RELATIVE_DIVISOR,
        convention: str | None = None,
    ) -> "ScreenGeometry":
        """The geometry of a ``screen_size`` screenshot for ``family`` under ``budget`` (min, max pixels)."""
        return cls(
            screen_size=(int(screen_size[0]), int(screen_size[1])),
            model_size=resized_size(family, int(screen_size[0]), int(screen_size[1]), *budget),
            convention=convention or family.coordinates,
            divisor=divisor,
        )

    # ------------------------------------------------------------------ sizes and bounds

    @property
    def is_relative(self) -> bool:
        return self.convention != "absolute"

    @property
    def model_extent(self) -> tuple[int, int]:
        """Largest x and y the model may write (inclusive): ``divisor`` or resized width/height − 1."""
        if self.is_relative:
            return self.divisor, self.divisor
        return self.model_size[0] - 1, self.model_size[1] - 1

    @property
    def declared_resolution(self) -> tuple[int, int]:
        """The "screen's resolution" the function definition tells the model."""
        return (self.divisor, self.divisor) if self.is_relative else self.model_size

    def _units(self, axis: int) -> float:
        return float(self.divisor) if self.is_relative else float(self.model_size[axis])

    # ------------------------------------------------------------------ conversions

    def to_screen(self, x: float, y: float) -> tuple[int, int]:
        """Model units (what the model wrote; may be fractional, e.g. a box centre) → screen pixels."""
        return self._axis_to_screen(x, 0), self._axis_to_screen(y, 1)

    def to_model(self, x: float, y: float) -> tuple[int, int]:
        """Screen pixels → the integer model units a model should write for that point."""
        return self._axis_to_model(x, 0), self._axis_to_model(y, 1)

    def _axis_to_screen(self, value: float, axis: int) -> int:
        size = self.screen_size[axis]
        units = self._units(axis)
        # absolute: unit u is resized pixel u, whose centre is u + 0.5; relative: u / divisor of the side
        position = (value + 0.5) * size / units if not self.is_relative else value * size / units
        return min(size - 1, max(0, math.floor(position)))

    def _axis_to_model(self, value: float, axis: int) -> int:
        size = self.screen_size[axis]
        units = self._units(axis)
        centre = (value + 0.5) * units / size  # the screen pixel's centre, in model units
        if self.is_relative:  # nearest unit, halves rounded down (keeps units → pixels → units exact at W == N)
            return min(self.divisor, max(0, math.ceil(centre - 0.5)))
        return min(int(units) - 1, max(0, math.floor(centre)))

    def in_model_bounds(self, x: float, y: float) -> bool:
        """Whether a model point lies on the screen (0 … :attr:`model_extent`)."""
        max_x, max_y = self.model_extent
        return 0 <= x <= max_x and 0 <= y <= max_y
