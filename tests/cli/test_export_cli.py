"""`vlkit export`: a checkpoint → a llama.cpp folder with a progress bar, then `vlkit chat --model OUT` on it;
bad input is one `error:` line with exit status 2 and nothing overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="the llamacpp extra (llama-cpp-python) is not installed")


def test_export_writes_a_folder_that_chat_runs_on_llamacpp(vlkit_main, tmp_path: Path) -> None:
    out = tmp_path / "q8"
    res = vlkit_main("export", "--tiny", "qwen3_vl", "--out", out, "--quant", "Q8_0", "--vision-quant", "Q8_0")
    assert res.code == 0, res.err
    manifest = json.loads((out / "vlkit-export.json").read_text())
    assert (manifest["format"], manifest["family"], manifest["quant"], manifest["mmproj_quant"]) == ("gguf", "qwen3_vl", "Q8_0", "Q8_0")
    assert f"vlkit chat --model {out}" in " ".join(res.out.split())
    for stage in ("language model → GGUF", "vision encoder → GGUF", "quantising to Q8_0"):
        assert stage in res.err  # the progress bars, on stderr
    chat = vlkit_main("chat", "--model", out, "--max-tokens", "3", "Hello")
    assert chat.code == 0, chat.err
    assert "3 new tokens" in chat.err


def test_export_refuses_bad_input_with_one_error_line(vlkit_main, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep")
    res = vlkit_main("export", "--tiny", "qwen2_vl", "--out", tmp_path / "taken")
    assert res.code == 2 and "--overwrite" in res.err and "overwrite=True" not in res.err
    assert (tmp_path / "taken" / "mine.txt").read_text() == "keep"
    res = vlkit_main("export", "--tiny", "qwen2_vl", "--out", tmp_path / "x", "--quant", "Q3_WRONG")
    assert res.code == 2 and "Q4_K_M" in res.err
    res = vlkit_main("export", tmp_path / "nowhere", "--out", tmp_path / "y")
    assert res.code == 2 and "error:" in res.err
    res = vlkit_main("export")
    assert res.code == 2 and "vlkit export MODEL" in res.err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_export_help_answers(vlkit_main) -> None:
    res = vlkit_main("export", "--help")
    assert res.code == 0
    text = " ".join(res.out.split())
    for needle in ("llama.cpp", "--quant", "Q4_K_M", "--vision-quant", "vlkit[llamacpp]", "Exit status"):
        assert needle in text
