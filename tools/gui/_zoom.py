"""Zoom-and-verify (optional, off by default): re-ground the target in an enlarged crop.

A small model under a CPU budget sees a 1920×1080 screen at ~600×340, so one of its units spans three
screen pixels and a 16-pixel link is five units tall. Cropping ``1/zoom`` of each side around the planned
point and asking again gives the model ``zoom``× the resolution on the region that matters; the refined
point is mapped back by the crop's offset. Only the point moves — the action kind and its text stay.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PIL import Image

from vlkit.errors import ModelOutputError
from vlkit.tools.gui._actions import Action, DragAction, PointAction
from vlkit.tools.gui._functions import prompt_text

if TYPE_CHECKING:
    from vlkit.tools.gui._planner import GUIActionPlanner

__all__ = ["crop_box", "refine"]

logger = logging.getLogger(__name__)

_POINTER_KINDS = {"desktop": ("left_click",), "mobile": ("click",)}


def crop_box(size: tuple[int, int], point: tuple[int, int], zoom: float) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the ``1/zoom`` crop centred on ``point``, kept inside the image."""
    width, height = size
    crop_w, crop_h = max(1, round(width / zoom)), max(1, round(height / zoom))
    left = min(max(0, point[0] - crop_w // 2), width - crop_w)
    top = min(max(0, point[1] - crop_h // 2), height - crop_h)
    return left, top, left + crop_w, top + crop_h


def refine(planner: "GUIActionPlanner", image: Image.Image, action: Action, goal: str) -> Action:
    """``action`` with its point re-grounded in a crop around it (unchanged when the model fails)."""
    if not isinstance(action, (PointAction, DragAction)) or planner.zoom is None:
        return action
    box = crop_box(image.size, action.point, planner.zoom)
    crop = image.crop(box)
    query = prompt_text("zoom_query.txt").substitute(goal=goal)
    try:
        request = planner.prepare(crop, query, kinds=_POINTER_KINDS[planner.device])
        refined = planner.decide(request)
    except ModelOutputError as exc:  # keep the first plan; the zoom is a refinement, not a requirement
        logger.info("zoom-and-verify kept the first point: %s", exc)
        return action
    if refined.point is None:
        return action
    x, y = box[0] + refined.point[0], box[1] + refined.point[1]
    update = {"x": x, "y": y} if isinstance(action, PointAction) else {"x2": x, "y2": y}
    return action.model_copy(update={**update, "raw": action.raw + "\n[zoom] " + refined.raw})
