"""The planner as a LangChain tool, and ``vlkit gui eval`` over the generated set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vlkit.tools.gui._actions import parse_action
from vlkit.tools.gui.evalset import load_items
from vlkit.tools.gui._planner import GUIActionPlanner


def test_the_planner_is_a_langchain_tool(tmp_path: Path, native_model: type) -> None:
    shot = tmp_path / "s.png"
    Image.new("RGB", (1280, 800), "white").save(shot)
    tool = GUIActionPlanner(model=native_model(family="qwen3_vl", target=(0.5, 0.5, 0.5, 0.5)), family="qwen3_vl")
    assert set(tool.args) == {"screenshot", "goal", "history"}
    out = tool.invoke({"screenshot": str(shot), "goal": "Click the centre", "history": ["Opened the app."]})
    action = parse_action(json.loads(out))
    assert (action.kind, action.x, action.y) == ("left_click", 640, 400)


@pytest.mark.browser
@pytest.mark.slow
def test_cli_eval_reports_point_in_box_accuracy(evalset: Path, tmp_path: Path) -> None:
    from vlkit.cli import app

    report = tmp_path / "report.jsonl"
    result = CliRunner().invoke(
        app, ["gui", "eval", str(evalset), "--tiny", "qwen3_vl", "--limit", "3", "--max-tokens", "96", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "point-in-box accuracy" in result.stdout and "desktop-1920" in result.stdout
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    items = load_items(evalset)[:3]
    assert [line["instruction"] for line in lines] == [item.instruction for item in items]
    for line, item in zip(lines, items):
        hit = line["point"] is not None and item.contains(tuple(line["point"]))
        assert line["hit"] is hit
