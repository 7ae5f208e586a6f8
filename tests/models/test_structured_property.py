"""Property: with_structured_output on an image prompt always returns a valid instance (50 seeds × 3 families).

The tiny checkpoints have random weights and sample at temperature 1 with a different seed each call,
so every answer is arbitrary; the grammar (and its budget guard) must still make each one a complete,
valid instance of a schema with nested objects, lists, enums, numbers and optional fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import pytest
from pydantic import BaseModel

from tests.models.conftest import tiny
from vlkit.models import ChatQwenVL

pytestmark = pytest.mark.slow

SEEDS = range(50)


class Part(BaseModel):
    kind: Literal["knob", "wheel", "panel"]
    weight: float


class Shape(BaseModel):
    name: str
    parts: list[Part]
    size: int
    color: Optional[Literal["red", "blue"]] = None
    main: Optional[Part] = None
    tags: list[str] = []


def test_structured_output_is_always_a_valid_instance(family: str, chart_png: Path) -> None:
    llm = ChatQwenVL(model=tiny(family), max_tokens=64, temperature=1.0, max_pixels=64 * 32 * 32)
    structured = llm.with_structured_output(Shape, include_raw=True)
    message = [
        {"role": "user", "content": [{"type": "image", "path": str(chart_png)}, {"type": "text", "text": "Shape?"}]}
    ]
    failures = []
    for seed in SEEDS:
        out = structured.invoke(message, seed=seed)
        if not isinstance(out["parsed"], Shape):
            failures.append((seed, out["parsing_error"], out["raw"].content))
    assert not failures, failures[:3]
