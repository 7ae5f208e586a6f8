"""Issue 25.7: every output path of every command goes through vlkit/cli/outputs.py.

`gui plan --draw /missing/dir/a.png` raised FileNotFoundError, `--draw out.txt` PIL's "unknown file
extension", `kb add docs --index notes.txt` NotADirectoryError — all after the model had run. Now missing
folders are made, and a wrong kind of path is one ``error:`` line naming the option, before any work.

The options are found in the Typer app itself: a path option added later without the helper fails
:func:`test_every_path_option_is_an_input_or_a_checked_output`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_inputs import RECEIPT, commands, gui_set, html_set, invoice_set, screenshot
from tests.cli.kb_helpers import write_pdf

pytestmark = pytest.mark.usefixtures("shared_use")

DEAD = "http://127.0.0.1:9/v1"

INPUTS = {
    ("agent",): {"image", "index"}, ("kb", "add"): {"paths"}, ("kb", "eval"): {"questions"},
    ("html", "convert"): {"screenshot"}, ("html", "eval"): {"folder"}, ("invoice", "extract"): {"files"},
    ("invoice", "eval"): {"folder"}, ("gui", "plan"): {"screenshot"}, ("gui", "eval"): {"folder"},
    ("serve",): {"index"},
}
"""Path parameters that are read, not written (checked by the command or the loader that reads them)."""


def _output_kind(param) -> str | None:
    """The kind given to vlkit.cli._outputs for this option (Typer wraps the callback; the kind is on it)."""
    wrapper = getattr(param, "callback", None)
    for cell in getattr(wrapper, "__closure__", None) or ():
        kind = getattr(cell.cell_contents, "vlkit_output", None)
        if kind is not None:
            return kind
    return None


OUTPUTS = sorted(
    (path, param.opts[0], _output_kind(param))
    for path, command in commands() for param in command.params if _output_kind(param) is not None
)


def test_every_path_option_is_an_input_or_a_checked_output():
    for path, command in commands():
        for param in command.params:
            if type(param.type).__name__ != "Path" or _output_kind(param) is not None:
                continue
            assert param.name in INPUTS.get(path, set()), f"{' '.join(path)} {param.opts[0]}: not checked as an output"
    assert {(p, o) for p, o, _ in OUTPUTS} >= {
        (("gui", "plan"), "--draw"), (("gui", "eval"), "--report"), (("html", "convert"), "--output"),
        (("html", "convert"), "--compare"), (("html", "eval"), "--json"), (("invoice", "extract"), "--json"),
        (("invoice", "extract"), "--draw"), (("invoice", "eval"), "--json"), (("agent",), "--images-dir"),
        (("kb", "add"), "--index"), (("kb", "ask"), "--index"),
    }


def _base(command: tuple[str, ...], tmp: Path, kb_index: Path) -> list[str]:
    """A run of ``command`` that parses its options and then stops at the (unreachable) model server."""
    family = ["--family", "qwen2_vl", "--base-url", DEAD]
    return {
        ("agent",): ["agent", "What is the total?", "--tools", "invoice", *family],
        ("html", "convert"): ["html", "convert", str(screenshot(tmp / "in" / "shot.png")), *family],
        ("html", "eval"): ["html", "eval", str(html_set(tmp / "set")), "--rounds", "1", *family],
        ("invoice", "extract"): ["invoice", str(RECEIPT), "--reader", "none", *family],
        ("invoice", "eval"): ["invoice", "eval", str(invoice_set(tmp / "inv")), "--reader", "none", *family],
        ("gui", "plan"): ["gui", "plan", str(screenshot(tmp / "in" / "shot.png")), "Sign in", *family],
        ("gui", "eval"): ["gui", "eval", str(gui_set(tmp / "gui")), *family],
        ("kb", "add"): ["kb", "add", str(write_pdf(tmp / "doc.pdf", [("Title", "Body text.")])), "--dpi", "72"],
        ("kb", "list"): ["kb", "list"],
        ("kb", "remove"): ["kb", "remove", "x.pdf"],
        ("kb", "search"): ["kb", "search", "basalt"],
        ("kb", "ask"): ["kb", "ask", "basalt?", "--base-url", DEAD],
        ("kb", "eval"): ["kb", "eval", str(tmp / "q.jsonl")],
    }[command]


def _one_error_line(res, *words: str) -> None:
    assert res.code == 2 and "Traceback" not in res.output, res.output
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("command, option, kind", OUTPUTS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_a_wrong_kind_of_path_is_one_error_line_naming_the_option(vlkit_main, tmp_path, kb_index, command, option,
                                                                  kind):
    base = _base(command, tmp_path, kb_index)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    if kind in ("folder", "index"):
        _one_error_line(vlkit_main(*base, option, a_file), option, str(a_file), "is a file")
        _one_error_line(vlkit_main(*base, option, a_file / "sub"), option, "is a file, not a folder")
    else:
        _one_error_line(vlkit_main(*base, option, tmp_path), option, "is a folder")
        _one_error_line(vlkit_main(*base, option, a_file / "out.png"), option, "is a file, not a folder")
    if kind == "image":
        _one_error_line(vlkit_main(*base, option, tmp_path / "out.txt"), option, "'.txt' is not a picture format",
                        ".png")


@pytest.mark.parametrize("command, option, kind", [o for o in OUTPUTS if o[2] in ("file", "image", "folder")],
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_missing_folders_of_an_output_are_made(vlkit_main, tmp_path, kb_index, command, option, kind):
    target = tmp_path / "new" / "deeper" / ("out" if kind == "folder" else "out.png")
    res = vlkit_main(*_base(command, tmp_path, kb_index), option, target)
    assert "Traceback" not in res.output and "No such file" not in res.output, res.output
    assert f"cannot reach the server at {DEAD}" in " ".join(res.err.split()), res.output  # it got to the model
    assert (target if kind == "folder" else target.parent).is_dir()


def test_kb_add_into_a_new_nested_index_folder(vlkit_main, tmp_path, kb_pdf):
    index = tmp_path / "a" / "b" / "kb"
    res = vlkit_main("kb", "add", kb_pdf, "--index", index, "--dpi", "72")
    assert res.code == 0 and (index / "manifest.sqlite").is_file(), res.output


def test_reading_commands_never_create_the_index_folder(vlkit_main, tmp_path):
    missing = tmp_path / "nowhere" / "kb"
    res = vlkit_main("kb", "list", "--index", missing)
    assert res.code == 2 and "no index at" in res.err and not missing.parent.exists()


@pytest.mark.slow
def test_gui_plan_draws_into_a_folder_it_makes(vlkit_main, tmp_path):
    """The issue's own case, run for real on a tiny checkpoint: the picture is written."""
    from PIL import Image

    shot = screenshot(tmp_path / "shot.png")
    drawn = tmp_path / "missing" / "dir" / "a.jpg"
    res = vlkit_main("gui", "plan", shot, "Sign in", "--tiny", "qwen2_5_vl", "--max-tokens", "96", "--draw", drawn)
    assert res.code == 0, res.output
    with Image.open(drawn) as image:
        assert image.format == "JPEG" and image.size == (320, 200)
