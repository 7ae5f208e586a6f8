"""`vlkit agent`: a real offline run on a tiny checkpoint, typed errors, and model/user text printed
literally (never as Rich markup)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from typer.testing import CliRunner

from tests.agents.scripted import png_block
from vlkit.cli import app

RECEIPT = Path(__file__).resolve().parents[2] / "examples" / "assets" / "receipt.png"


@pytest.mark.slow
def test_tiny_run_streams_steps_and_ends_with_answer_and_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "agent", "What is the total?", "--tiny", "qwen2_vl", "-i", str(RECEIPT), "--tools", "invoice",
        "--max-steps", "2", "--max-tokens", "32", "--images-dir", str(tmp_path),
    ])
    # random weights may answer nothing or run out of steps: exit status 1 then (vlkit/cli/exits.py)
    assert result.exit_code in (0, 1), result.output
    assert "step 1" in result.output and "answer" in result.output
    assert re.search(r"\d+ steps? in [\d.]+s", result.output) and "prompt tokens" in result.output
    assert "tiny random qwen2_vl checkpoint" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tools", "kb"], "needs --index"),
        (["--tools", "browser"], "need --allow"),
        (["--tools", "email"], "unknown tool(s) email"),
    ],
)
def test_user_mistakes_are_typed_errors_before_anything_loads(args: list[str], message: str) -> None:
    from vlkit.errors import UserError

    result = CliRunner().invoke(app, ["agent", "task", "--tiny", "qwen2_vl", *args])
    assert isinstance(result.exception, UserError) and message in str(result.exception)
    assert "tiny random" not in result.output  # refused before the model was built


def test_steps_print_model_and_tool_text_literally(tmp_path: Path) -> None:
    from vlkit.cli._agent import _StepPrinter
    from vlkit.cli._console import console

    printer = _StepPrinter(tmp_path)
    call = {"name": "lookup", "args": {"q": "[bold]x[/bold]"}, "id": "c1", "type": "tool_call"}
    with console.capture() as captured:
        printer.show("model", {"messages": [AIMessage(content="I think [red]so[/red]", tool_calls=[call])]})
        printer.show("tools", {"messages": [ToolMessage(
            content=[{"type": "text", "text": "found [link=x]here[/link]"}, png_block((1, 2, 3))], tool_call_id="c1")]})
    out = captured.get()
    assert "[red]so[/red]" in out and "[bold]x[/bold]" in out and "[link=x]here[/link]" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step01_01.png"]
