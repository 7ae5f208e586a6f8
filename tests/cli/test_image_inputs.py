"""Issue 25.8: every image a command takes goes through vlkit's one checked loader.

`gui plan` decoded a 144 MP screenshot (PIL's DecompressionBombWarning) where the other commands refused
it from its header. Each command that takes images gets a PNG whose header claims 12000x12000 pixels:
it must be refused before decoding (no PIL warning) and before a model is built.
"""

from __future__ import annotations

import warnings

import pytest
from PIL import Image

from tests.cli.cli_inputs import commands, gui_set, html_set, huge_png, invoice_set

pytestmark = pytest.mark.usefixtures("shared_use")

TINY = ["--tiny", "qwen2_vl"]


def _case(command: tuple[str, ...], tmp) -> tuple[list[str], int]:
    """The command run on the huge image, and the exit status it must end with (1: a batch reports the file
    and goes on; 2: refused with one error line)."""
    huge = huge_png(tmp / "huge.png")
    return {
        ("chat",): (["chat", "-i", str(huge), "describe", *TINY], 2),
        ("agent",): (["agent", "-i", str(huge), "describe it", "--tools", "invoice", *TINY], 2),
        ("gui", "plan"): (["gui", "plan", str(huge), "Sign in", *TINY], 2),
        ("gui", "eval"): (["gui", "eval", str(gui_set(tmp / "gui", huge_png)), *TINY], 2),
        ("html", "convert"): (["html", "convert", str(huge), *TINY], 2),
        ("html", "eval"): (["html", "eval", str(html_set(tmp / "set", huge_png)), *TINY], 2),
        ("invoice", "extract"): (["invoice", str(huge), *TINY], 1),
        ("invoice", "eval"): (["invoice", "eval", str(invoice_set(tmp / "inv", huge_png)), *TINY], 2),
        ("kb", "add"): (["kb", "add", str(huge), "--index", str(tmp / "kb")], 1),
    }[command]


IMAGE_COMMANDS = [("chat",), ("agent",), ("gui", "plan"), ("gui", "eval"), ("html", "convert"), ("html", "eval"),
                  ("invoice", "extract"), ("invoice", "eval"), ("kb", "add")]


def test_the_list_holds_every_command_that_takes_images():
    """A command that takes images has --max-image-pixels (the limit the loader checks); kb add has its own."""
    from tests.cli.cli_inputs import options_named

    assert options_named("max_image_pixels") - {("kb", "ask")} == set(IMAGE_COMMANDS)


@pytest.mark.parametrize("command", IMAGE_COMMANDS, ids=" ".join)
def test_a_huge_image_is_refused_before_decoding(vlkit_main, tmp_path, command):
    args, code = _case(command, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = vlkit_main(*args)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    message = " ".join(res.output.split())
    assert res.code == code and "Traceback" not in res.output, res.output
    assert "12000x12000" in message, res.output
    assert "tiny random" not in message  # refused before a model was built
    if code == 2:
        lines = [line for line in res.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), res.err


@pytest.mark.parametrize("command", [("chat",), ("gui", "plan"), ("html", "convert"), ("invoice", "extract")],
                         ids=" ".join)
def test_max_image_pixels_lowers_the_limit(vlkit_main, tmp_path, command):
    """The option reaches the loader: a 320x200 image is refused under a 50,000-pixel limit."""
    from tests.cli.cli_inputs import screenshot

    shot = str(screenshot(tmp_path / "shot.png"))
    args = {("chat",): ["chat", "-i", shot, "hi"], ("gui", "plan"): ["gui", "plan", shot, "Sign in"],
            ("html", "convert"): ["html", "convert", shot], ("invoice", "extract"): ["invoice", shot]}[command]
    res = vlkit_main(*args, *TINY, "--max-image-pixels", "50000")
    assert "320x200" in " ".join(res.output.split()) and res.code in (1, 2), res.output
    assert "tiny random" not in res.output


@pytest.mark.parametrize("command", [("chat",), ("agent",)], ids=" ".join)
def test_a_folder_given_as_an_image_is_named_a_folder(vlkit_main, tmp_path, command):
    res = vlkit_main(*command, "-i", tmp_path, "describe", *TINY)
    assert res.code == 2 and f"--image {tmp_path} is a folder" in res.err, res.output
    assert "not found" not in res.err
