"""Tiny random checkpoints of every family, sampled at temperature 1: the grammar keeps every answer one
valid, on-screen action; and ``vlkit gui plan --tiny … --draw`` writes the picture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from vlkit.tools.gui._actions import DESKTOP_KINDS, MOBILE_KINDS, parse_action
from vlkit.tools.gui._planner import GUIActionPlanner

pytestmark = pytest.mark.slow

SEEDS = 20


def _screen(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (243, 245, 248))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 40], fill=(29, 35, 48))
    draw.rounded_rectangle([width // 3, height // 2, 2 * width // 3, height // 2 + 44], 6, fill=(47, 111, 236))
    draw.text((width // 2 - 20, height // 2 + 14), "Sign in", fill="white")
    return image


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_sampled_tiny_models_always_give_a_valid_on_screen_action(family: str, tiny_checkpoints) -> None:
    from vlkit.models import ChatQwenVL

    kinds, points = set(), 0
    for seed in range(SEEDS):
        device = "desktop" if seed % 2 == 0 else "mobile"
        screen = _screen(1366, 768) if device == "desktop" else _screen(412, 915)
        llm = ChatQwenVL(model=tiny_checkpoints(family), temperature=1.0, seed=seed, max_tokens=80, max_pixels=64 * 32 * 32)
        action = GUIActionPlanner(model=llm, device=device).plan(screen, "Sign in")
        assert parse_action(action.model_dump()) == action  # a well-formed member of the union
        assert action.kind in (DESKTOP_KINDS if device == "desktop" else MOBILE_KINDS)
        kinds.add(action.kind)
        for x, y in [p for p in (action.point, getattr(action, "start", None)) if p is not None]:
            assert 0 <= x < screen.width and 0 <= y < screen.height, (seed, action)
            points += 1
    assert len(kinds) >= 3 and points >= 3, kinds  # random weights really explore the action space


def test_cli_plan_tiny_draws_the_action(tmp_path: Path) -> None:
    from vlkit.cli import app

    shot, out = tmp_path / "screen.png", tmp_path / "plan.png"
    _screen(800, 500).save(shot)
    result = CliRunner().invoke(
        app, ["gui", "plan", str(shot), "Sign in", "--tiny", "qwen2_5_vl", "--draw", str(out), "--json", "--max-tokens", "96"]
    )
    assert result.exit_code == 0, result.output
    action = parse_action(json.loads(result.stdout[result.stdout.index("{"):]))
    drawn = Image.open(out)
    assert drawn.size == (800, 500)
    assert drawn.convert("RGB").tobytes() != _screen(800, 500).tobytes()  # something was drawn
    assert action.kind in DESKTOP_KINDS
