"""``vlkit chat`` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

VLKIT = shutil.which("vlkit")
pytestmark = pytest.mark.skipif(VLKIT is None, reason="the vlkit console script is not installed")


LOOPBACK_URLS = {"VLKIT_ALLOW_PRIVATE_URLS": "1"}
"""The tests' image server is on 127.0.0.1, which a chat model fetches from only when allowed."""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VLKIT, *args], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120", **(env or {})}
    )


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
    message = " ".join(result.stderr.split())  # Rich wraps the line
    assert "Qwen/Qwen2-VL-2B-Instruct" in message and "--model" in message
    # the download command the installed huggingface_hub ships, and the offline way to try vlkit
    assert "hf download Qwen/Qwen2-VL-2B-Instruct" in message and "huggingface-cli" not in message
    assert shutil.which("hf") is not None, "huggingface_hub no longer ships the `hf` command the message names"
    assert "--tiny" in message


def test_image_given_as_an_http_url(image_server: str) -> None:
    """`--image http://…` used to reach the loader as 'http:/127.0.0.1…' (a Path collapses the //)."""
    result = run("chat", "--tiny", "qwen2_vl", "--max-tokens", "4", "--image", f"{image_server}/chart.png", "describe",
                 env=LOOPBACK_URLS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "no answer on stdout"
    prompt_tokens = int(result.stderr.split(" prompt tokens")[0].split()[-1])
    assert prompt_tokens > 64, "the image did not reach the prompt"  # 448x448 is 256 visual tokens


def test_a_loopback_url_is_refused_unless_allowed(image_server: str) -> None:
    result = run("chat", "--tiny", "qwen2_vl", "--image", f"{image_server}/chart.png", "hi")
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "non-public address" in message and "VLKIT_ALLOW_PRIVATE_URLS=1" in message


def test_missing_url_image_is_one_clear_line(image_server: str) -> None:
    result = run("chat", "--tiny", "qwen2_vl", "--image", f"{image_server}/absent.png", "hi", env=LOOPBACK_URLS)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{image_server}/absent.png" in " ".join(result.stderr.split()) and "404" in result.stderr


def test_version() -> None:
    from vlkit import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"vlkit {__version__}"
