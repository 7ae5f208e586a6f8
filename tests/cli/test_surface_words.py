"""Issue 25.11: each surface names its own knob (vlkit.errors.Words, shown by the CLI as ``error.on("cli")``).

On the command line an empty prompt said "message 0 (HumanMessage) is empty; … HumanMessage(…)",
`gui plan --base-url` said "pass family=… to ChatQwenVL", a huge image "raise max_image_pixels", a cut-off
answer "raise max_tokens". Python callers keep the Python words.
"""

from __future__ import annotations

import pickle
import re

import pytest

from tests.cli.cli_inputs import commands, huge_png, screenshot
from tests.models.openai_server import text_stream
from vlkit import errors
from vlkit.errors import SURFACES, UnsupportedModelError, Words, said_on

pytestmark = pytest.mark.usefixtures("shared_use")

DEAD = "http://127.0.0.1:9/v1"
PHRASES = {name: value for name, value in vars(errors).items() if isinstance(value, Words)}


def _python_names(text: str) -> set[str]:
    """Python spellings in a phrase: ``max_image_pixels``, ``family=``."""
    return set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z_]+=", text))


# ------------------------------------------------------------------ the mechanism


def test_an_error_speaks_each_surface_and_python_by_default():
    error = UnsupportedModelError("the family of served model 'm' is unknown; ", errors.PASS_FAMILY)
    assert str(error) == "the family of served model 'm' is unknown; pass family='qwen2_vl', 'qwen2_5_vl' or 'qwen3_vl'"
    assert error.on("cli").endswith("pass --family qwen2_vl, qwen2_5_vl or qwen3_vl")
    assert "family=" not in error.on("http") and "--family" not in error.on("ui")
    assert said_on(error, "cli") == error.on("cli") and said_on(ValueError("plain"), "cli") == "plain"
    assert errors.UserError("plain").on("ui") == "plain"  # an error without Words reads the same everywhere
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    with pytest.raises(ValueError, match="unknown surface"):
        error.on("gui")


def test_a_phrase_must_give_every_surface():
    with pytest.raises(TypeError):
        Words(python="raise max_tokens", cli="raise --max-tokens")  # type: ignore[call-arg]
    assert SURFACES == ("python", "cli", "http", "ui")


@pytest.mark.parametrize("name", sorted(PHRASES))
def test_shared_phrases_use_no_python_names_off_python_and_real_flags_on_the_cli(name):
    words = PHRASES[name]
    for surface in ("cli", "ui"):  # (HTTP requests spell their fields as Python does: max_tokens)
        assert not _python_names(words.on(surface)) & _python_names(words.python), (surface, words.on(surface))
    flags = {opt for _, command in commands() for param in command.params for opt in param.opts}
    assert set(re.findall(r"--[a-z-]+", words.cli)) <= flags, words.cli


# ------------------------------------------------------------------ on the command line


@pytest.mark.parametrize("args", [["chat", ""], ["chat", "  \t"], ["agent", " ", "--tools", "invoice"],
                                  ["gui", "plan", "SHOT", " "], ["kb", "search", " "], ["kb", "ask", ""]],
                         ids=["chat empty", "chat blank", "agent", "gui plan", "kb search", "kb ask"])
def test_an_empty_prompt_is_refused_in_cli_words(vlkit_main, tmp_path, kb_index, args):
    args = [str(screenshot(tmp_path / "s.png")) if a == "SHOT" else a for a in args]
    if args[0] == "kb":
        args += ["--index", str(kb_index)]
    res = vlkit_main(*args, *(["--tiny", "qwen2_vl"] if args[0] != "kb" else []))
    assert res.code == 2 and "is empty" in res.err, res.output
    assert "HumanMessage" not in res.err and "tiny random" not in res.err


@pytest.mark.parametrize("command", ["gui plan", "html convert"])
def test_a_served_model_without_family_asks_for_the_flag(vlkit_main, tmp_path, command):
    shot = str(screenshot(tmp_path / "s.png"))
    args = ["gui", "plan", shot, "Sign in"] if command == "gui plan" else ["html", "convert", shot]
    res = vlkit_main(*args, "--base-url", DEAD)
    assert res.code == 2 and "pass --family qwen2_vl, qwen2_5_vl or qwen3_vl" in " ".join(res.err.split()), res.output
    assert "family=" not in res.err and "ChatQwenVL" not in res.err


@pytest.mark.parametrize("command", ["chat", "gui plan", "kb add", "invoice"])
def test_a_huge_image_names_the_cli_option(vlkit_main, tmp_path, command):
    huge = str(huge_png(tmp_path / "huge.png"))
    args = {"chat": ["chat", "-i", huge, "hi"], "gui plan": ["gui", "plan", huge, "Sign in"],
            "kb add": ["kb", "add", huge, "--index", str(tmp_path / "kb")], "invoice": ["invoice", huge]}[command]
    res = vlkit_main(*args)
    message = " ".join(res.output.replace("│", " ").split())  # a table cell may wrap the reason
    assert "raise --max-image-pixels" in message and "max_image_pixels" not in message, res.output


def test_a_cut_off_answer_names_max_tokens_as_a_flag(vlkit_main, tmp_path, openai_server):
    openai_server.queue(text_stream(['{"action": "left_cl'], finish_reason="length"))
    res = vlkit_main("gui", "plan", screenshot(tmp_path / "s.png"), "Sign in", "--base-url", openai_server.base_url,
                     "--family", "qwen2_vl")
    assert res.code == 2 and "raise --max-tokens" in res.err and "max_tokens" not in res.err, res.output


def test_python_callers_keep_python_words():
    from vlkit.models import ChatQwenVL

    with pytest.raises(UnsupportedModelError, match=r"pass family='qwen2_vl'"):
        ChatQwenVL(backend="openai", base_url=DEAD, model="m").family_spec()
