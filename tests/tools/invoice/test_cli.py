"""``vlkit invoice`` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from vlkit.tools.invoice import InvoiceResult

VLKIT = shutil.which("vlkit")
pytestmark = [pytest.mark.skipif(VLKIT is None, reason="the vlkit console script is not installed"), pytest.mark.slow]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VLKIT, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "160"})


def test_tiny_receipt_prints_the_table_writes_json_and_draws(receipt_png: Path, tmp_path: Path) -> None:
    # a file name that is Rich markup must be printed as is, never interpreted
    src = tmp_path / "[reverse]receipt.png"
    shutil.copy(receipt_png, src)
    out, boxes = tmp_path / "out.jsonl", tmp_path / "boxes"
    result = run("invoice", "--tiny", "qwen2_vl", "--max-tokens", "160", str(src), "--json", str(out), "--draw", str(boxes))
    # exit 1 when a check failed (random weights read noise), 0 when all passed: the table says which
    failed = "FAIL" in result.stdout
    assert result.returncode == (1 if failed else 0), result.stderr
    assert "[reverse]receipt.png" in result.stdout  # escaped, shown literally
    assert "check" in result.stdout and ("ok" in result.stdout or "FAIL" in result.stdout)
    assert "random" in result.stderr and "noise" in result.stderr
    (line,) = out.read_text(encoding="utf-8").splitlines()
    parsed = InvoiceResult.model_validate_json(line)
    assert parsed.readers == ["rapidocr"] and parsed.checks and parsed.error is None
    (drawn,) = boxes.iterdir()
    (width, height), (page_width, page_height) = Image.open(drawn).size, Image.open(receipt_png).size
    assert width > page_width and height >= page_height  # the page, and a column of labels beside it


def test_eval_prints_the_scores(evalset: Path, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("004-invoice.pdf", "004-invoice.json"):
        shutil.copy(evalset / name, folder / name)
    out = tmp_path / "eval.jsonl"
    result = run("invoice", "eval", str(folder), "--tiny", "qwen3_vl", "--max-tokens", "64", "--json", str(out))
    assert result.returncode == 0, result.stderr
    for column in ("field F1", "TED accuracy", "all checks pass"):
        assert column in result.stdout
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["file"] == "004-invoice.pdf" and 0.0 <= row["ted_accuracy"] <= 1.0


def test_bad_file_is_one_red_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"not a pdf")
    result = run("invoice", "--tiny", "qwen2_vl", str(bad))
    # reported per file, like `kb add` (issue 25.9): exit status 1 once the batch is done, no model loaded
    assert result.returncode == 1 and "failed" in result.stderr and "broken.pdf" in result.stderr
    assert "Traceback" not in result.stderr and "tiny random" not in result.stderr


def test_help() -> None:
    top = run("invoice", "--help")
    assert top.returncode == 0 and "extract" in top.stdout and "eval" in top.stdout
    extract = run("invoice", "extract", "--help")
    for option in ("--json", "--draw", "--model", "--tiny", "--max-tokens", "--reader"):
        assert option in extract.stdout
