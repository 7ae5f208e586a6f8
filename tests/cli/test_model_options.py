"""Issue 25.6: ``--base-url`` implies ``--backend openai`` on every command, by one rule in vlkit/cli/llm.py.

`chat`, `html`, `kb ask` and `agent` used to build a local model when given only ``--base-url`` (the error
was "not in the local cache"). Each command that has ``--base-url`` is run against a server that is not
there (port 9, discard) and must say so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_inputs import RECEIPT, gui_set, html_set, invoice_set, options_named, screenshot
from tests.cli.kb_helpers import write_pdf

pytestmark = pytest.mark.usefixtures("shared_use")

DEAD = "http://127.0.0.1:9/v1"


def _args(command: tuple[str, ...], tmp: Path, kb_index: Path) -> list[str]:
    """A run of ``command`` that gets as far as asking the model (the family given where a tool needs it)."""
    family = ["--family", "qwen2_vl"]
    return {
        ("chat",): ["chat", "hi"],
        ("agent",): ["agent", "What is the total?", "--tools", "invoice", *family],
        ("kb", "ask"): ["kb", "ask", "Where does basalt magma erupt?", "--index", str(kb_index), "--max-images", "0"],
        ("kb", "add"): ["kb", "add", str(write_pdf(tmp / "doc.pdf", [("Title", "Body text.")])), "--reader", "vlm",
                        "--index", str(tmp / "kb"), "--dpi", "72"],
        ("html", "convert"): ["html", "convert", str(screenshot(tmp / "shot.png")), *family],
        ("html", "eval"): ["html", "eval", str(html_set(tmp / "set")), "--rounds", "1", *family],
        ("invoice", "extract"): ["invoice", str(RECEIPT), "--reader", "none", *family],
        ("invoice", "eval"): ["invoice", "eval", str(invoice_set(tmp / "inv")), "--reader", "none", *family],
        ("gui", "plan"): ["gui", "plan", str(screenshot(tmp / "shot.png")), "Sign in", *family],
        ("gui", "eval"): ["gui", "eval", str(gui_set(tmp / "gui")), *family],
    }[command]


WITH_BASE_URL = sorted(options_named("base_url"))


def test_every_command_with_base_url_is_covered():
    assert set(WITH_BASE_URL) == {
        ("chat",), ("agent",), ("kb", "ask"), ("kb", "add"), ("html", "convert"), ("html", "eval"),
        ("invoice", "extract"), ("invoice", "eval"), ("gui", "plan"), ("gui", "eval"),
    }  # a new command with --base-url: add it to _args, and it is tested below


@pytest.mark.parametrize("command", WITH_BASE_URL, ids=" ".join)
def test_base_url_alone_means_the_server(vlkit_main, tmp_path, kb_index, command, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local model would fail fast with "not in the local cache"
    res = vlkit_main(*_args(command, tmp_path, kb_index), "--base-url", DEAD)
    message = " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert "not in the local cache" not in message and "tiny random" not in message, res.output
    assert f"cannot reach the server at {DEAD}" in message, res.output
    # kb add reports the file as failed and goes on (1); every other command stops with one error line (2)
    assert res.code == (1 if command == ("kb", "add") else 2), res.output


@pytest.mark.parametrize("command", ["chat", "kb ask"])
def test_contradicting_backend_options_are_refused_by_name(vlkit_main, kb_index, command):
    args = ["chat", "hi"] if command == "chat" else ["kb", "ask", "q", "--index", str(kb_index)]
    res = vlkit_main(*args, "--backend", "transformers", "--base-url", DEAD)
    assert res.code == 2 and "--base-url" in res.err and "--backend transformers" in res.err, res.output
    res = vlkit_main(*args, "--tiny", "qwen2_vl", "--base-url", DEAD)
    assert res.code == 2 and "--tiny" in res.err and "drop --base-url" in res.err, res.output
    assert "tiny random" not in res.err  # refused before a checkpoint is built

