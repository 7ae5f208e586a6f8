"""``evaluate``: point-in-box accuracy of a planner over a GUI-grounding set (ScreenSpot's rule)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from vlkit.errors import ModelOutputError
from vlkit.tools.gui.evalset import EvalItem, load_items

__all__ = ["EvalReport", "ItemResult", "evaluate"]

logger = logging.getLogger(__name__)


@dataclass
class ItemResult:
    """One item: where the planner pointed, and whether that is inside the target box."""

    item: EvalItem
    point: tuple[int, int] | None
    hit: bool
    kind: str | None = None
    error: str | None = None
    """The model-output error, when the answer was unusable (counts as a miss)."""


@dataclass
class EvalReport:
    """Accuracy overall and per viewport / element kind."""

    results: list[ItemResult] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(r.hit for r in self.results) / len(self.results) if self.results else 0.0

    def by(self, key: Callable[[EvalItem], str]) -> dict[str, tuple[int, int]]:
        """``{group: (hits, items)}`` grouped by ``key(item)``."""
        groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for result in self.results:
            group = groups[key(result.item)]
            group[0] += int(result.hit)
            group[1] += 1
        return {name: (hits, total) for name, (hits, total) in sorted(groups.items())}


def evaluate(
    planner_for: Callable[[str], object],
    folder: str | Path,
    *,
    limit: int | None = None,
    on_item: Callable[[ItemResult], None] | None = None,
) -> EvalReport:
    """Plan every item of the set in ``folder`` and score point-in-box.

    ``planner_for(device)`` returns the :class:`~vlkit.tools.gui.GUIActionPlanner` for an item's
    device (``desktop`` or ``mobile``). An unusable answer is a miss, recorded with its error.
    """
    from vlkit.vision import open_image

    items = load_items(folder)[: limit or None]
    report = EvalReport()
    planners: dict[str, object] = {}
    for item in items:
        planner = planners.setdefault(item.device, planner_for(item.device))
        screenshot = open_image(Path(folder) / item.image)
        try:
            action = planner.plan(screenshot, item.instruction)  # type: ignore[attr-defined]
            result = ItemResult(item, action.point, item.contains(action.point), action.kind)
        except ModelOutputError as exc:
            result = ItemResult(item, None, False, error=str(exc))
        report.results.append(result)
        if on_item is not None:
            on_item(result)
    return report
