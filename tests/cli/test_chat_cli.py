"""``vlkit chat`` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

VLKIT = shutil.which("vlkit")
pytestmark = pytest.mark.skipif(VLKIT is None, reason="the vlkit console script is not installed")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VLKIT, *args], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120", **(env or {})}
    )


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_chat_tiny_streams_an_answer(family: str, chart_png: Path) -> None:
    result = run("chat", "--tiny", family, "--max-tokens", "12", "--image", str(chart_png), "describe")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "no answer on stdout"
    assert "random" in result.stderr and "noise" in result.stderr
    assert "new tokens" in result.stderr  # the usage line


def test_help_answers() -> None:
    top = run("--help")
    assert top.returncode == 0 and "chat" in top.stdout
    chat = run("chat", "--help")
    for option in ("--image", "--model", "--backend", "--base-url", "--tiny", "--max-tokens", "--max-pixels"):
        assert option in chat.stdout


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    result = run("chat", "--tiny", "qwen2_vl", "--image", str(tmp_path / "missing.png"), "hi")
    assert result.returncode == 2
    assert "error:" in result.stderr and "missing.png" in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_default_model_says_how_to_fix(tmp_path: Path) -> None:
    result = run("chat", "hi", env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path), "VLKIT_MODEL": ""})
    assert result.returncode == 2
    assert "Qwen/Qwen2-VL-2B-Instruct" in result.stderr and "--model" in result.stderr
