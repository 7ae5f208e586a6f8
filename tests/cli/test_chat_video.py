"""``vlkit chat --video``: a real clip through the installed console script on a tiny checkpoint, and bad
videos refused from their header before any model loads; ``--base-url`` sends the video to the server."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_chat_cli import run
from vlkit.testing.clips import make_clip

pytest.importorskip("av")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=3, fps=10, size=(160, 120))


@pytest.mark.skipif(shutil.which("vlkit") is None, reason="the vlkit console script is not installed")
def test_chat_with_a_video_streams_an_answer_and_counts_the_video(clip: Path) -> None:
    result = run("chat", "--tiny", "qwen3_vl", "--max-tokens", "6", "--video", str(clip), "--fps", "1",
                 "--max-frames", "2", "what happens?")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "no answer on stdout"
    usage = " ".join(result.stderr.split())
    from vlkit.vision import FAMILIES
    from vlkit.vision.video import plan_video, video_budget, video_from_block

    family = FAMILIES["qwen3_vl"]  # the tiny checkpoint's context is 4096 tokens
    video = video_from_block({"type": "video", "path": str(clip), "fps": 1, "max_frames": 2})
    tokens = plan_video(video, family, video_budget(family, "cpu", context_tokens=4096)).tokens
    assert tokens == 140  # two frames of 160x120 upscaled to the 128-token minimum: 448x320, 14x10 tokens
    assert f"({tokens} of them video)" in usage and "new tokens" in usage


def test_help_names_the_video_options(vlkit_main: Callable) -> None:
    result = vlkit_main("chat", "--help")
    assert result.code == 0
    for option in ("--video", "--fps", "--max-frames"):
        assert option in result.out


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: tmp / "missing.mp4", "--video {path}: no such file"),
        (lambda tmp: tmp, "--video {path} is a folder"),
        (lambda tmp: (tmp / "notes.mp4").write_text("hello\n" * 40) and tmp / "notes.mp4", "not a readable video"),
        (lambda tmp: (tmp / "empty.mp4").write_bytes(b"") or tmp / "empty.mp4", "is empty"),
    ],
    ids=["missing", "folder", "not-a-video", "empty"],
)
def test_a_bad_video_is_one_line_before_any_model_loads(vlkit_main: Callable, tmp_path: Path, make, words: str) -> None:
    path = make(tmp_path)
    result = vlkit_main("chat", "--tiny", "qwen2_vl", "--video", path, "what happens?")
    assert result.code == 2
    message = " ".join(result.err.split())
    assert message.startswith("error:") and words.format(path=path) in message
    assert "random" not in result.err  # refused before the tiny checkpoint was even built or loaded


def test_base_url_sends_the_video_as_video_url(vlkit_main: Callable, openai_server, clip: Path) -> None:
    from tests.models.openai_server import text_stream

    openai_server.queue(text_stream(["A red circle."], usage=(500, 4)))
    result = vlkit_main("chat", "--base-url", openai_server.base_url, "--model", "qwen", "--video", str(clip),
                        "--fps", "0.5", "what moves?")  # fmt: skip
    assert result.code == 0, result.err
    assert "A red circle." in result.out
    part = openai_server.requests[0].body["messages"][0]["content"][0]
    assert part["type"] == "video_url" and part["fps"] == 0.5
    assert base64.b64decode(part["video_url"]["url"].split(",", 1)[1]) == clip.read_bytes()
