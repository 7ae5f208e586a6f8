"""Issue 25.12, the smaller CLI defects: `kb ask` streams and reports time and tokens like `chat`; exit
statuses (documented in every --help and the README) say when a run gave no result; rows of `kb add` /
`kb list` can be told apart at 80 columns; counts agree with their nouns; `gui eval --make DIR` makes DIR.

(Blank prompts and a folder given as an image are in test_surface_words.py and test_image_inputs.py.)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.cli.cli_inputs import commands
from tests.cli.kb_helpers import KB_PAGES, write_pdf
from tests.models.openai_server import text_stream, tool_call_stream

pytestmark = pytest.mark.usefixtures("shared_use")

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ kb ask answers like chat


def test_kb_ask_streams_and_prints_the_time_and_token_line(vlkit_main, kb_index, openai_server):
    openai_server.queue(text_stream(["Basalt magma ", "erupts in Hawaii ", "[report[final].pdf p.2]."], usage=(321, 9)))
    res = vlkit_main("kb", "ask", "Where does basalt magma erupt?", "--base-url", openai_server.base_url, "-k", "2",
                     "--max-images", "0", "--index", kb_index)
    assert res.code == 0, res.output
    assert "Basalt magma erupts in Hawaii [report[final].pdf p.2]." in res.out and "Sources:" in res.out
    assert openai_server.requests[0].body["stream"] is True  # asked as a stream, printed as it comes
    assert re.search(r"321 prompt tokens, 9 new tokens, first token after [\d.]+s, [\d.]+ tok/s", res.err), res.err


def test_kb_ask_without_a_relevant_page_does_not_call_the_model(vlkit_main, kb_index, openai_server):
    res = vlkit_main("kb", "ask", "zzyzx qwertyuiop flibbertigibbet", "--base-url", openai_server.base_url,
                     "--index", kb_index)
    assert res.code == 0 and "cannot find the answer" in res.out and not openai_server.requests, res.output


# ------------------------------------------------------------------ exit statuses


def test_agent_that_stops_at_max_steps_exits_1_in_cli_words(vlkit_main, openai_server):
    openai_server.queue(tool_call_stream([("c1", "nope", {"x": 1})]))
    res = vlkit_main("agent", "What is the total?", "--tools", "invoice", "--base-url", openai_server.base_url,
                     "--family", "qwen2_vl", "--max-steps", "1")
    assert res.code == 1, res.output
    assert "no final answer within 1 step; raise --max-steps" in res.out and "max_steps=" not in res.out


@pytest.mark.parametrize("answer, code", [("The total is 12.50 EUR.", 0), ("", 1)], ids=["answer", "empty"])
def test_agent_exit_status_follows_the_answer(vlkit_main, openai_server, answer, code):
    openai_server.queue(text_stream([answer]))
    res = vlkit_main("agent", "What is the total?", "--tools", "invoice", "--base-url", openai_server.base_url,
                     "--family", "qwen2_vl")
    assert res.code == code, res.output
    assert "1 step in" in res.err  # not "1 steps"


def test_every_help_lists_the_exit_statuses(vlkit_main):
    from vlkit.cli._exits import FAILED, INTERRUPTED, OK, USAGE

    assert (OK, FAILED, USAGE, INTERRUPTED) == (0, 1, 2, 130)
    for path, _ in commands():
        res = vlkit_main(*path, "--help")
        text = " ".join(res.out.split())
        assert res.code == 0 and "Exit status: 0 ok;" in text and "2 usage or input error" in text, path
        assert "130 interrupted" in text, path
    for path, failed in [(("invoice", "extract"), "a file could not be read, or an invoice failed a check"), (("agent",), "the run stopped without an answer"),
                         (("kb", "add"), "a file could not be read (the others are added)"), (("kb", "search"), "nothing matched")]:
        assert f"1 {failed}" in " ".join(vlkit_main(*path, "--help").out.split()), path


def test_the_readme_has_the_exit_status_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cli = readme[readme.index("## CLI"):]
    for status in ("| 0 |", "| 1 |", "| 2 |", "| 130 |"):
        assert status in cli


# ------------------------------------------------------------------ 80 columns, counts


def test_kb_rows_can_be_told_apart_at_80_columns(vlkit_main, tmp_path):
    deep = tmp_path / "some" / "deeply" / "nested" / "project" / "documents" / "archive"
    deep.mkdir(parents=True)
    names = ["quarterly-report-2023.pdf", "quarterly-report-2024.pdf", "annual-summary.pdf"]
    for i, name in enumerate(names):
        write_pdf(deep / name, KB_PAGES[i:i + 1])
    res = vlkit_main("kb", "add", tmp_path / "some", "--index", tmp_path / "kb", "--dpi", "72", columns=80)
    assert res.code == 0, res.output
    assert "".join(f"3 files in {deep},".split()) in "".join(res.out.split())  # the shared folder, once, above
    for name in names:
        assert name in res.out, res.out  # each whole, on its row
    ids = re.findall(r"\b[0-9a-f]{16}\b", res.out)
    assert len(set(ids)) == 3, res.out  # doc ids are never cut
    listed = vlkit_main("kb", "list", "--index", tmp_path / "kb", columns=80)
    assert listed.code == 0 and set(re.findall(r"\b[0-9a-f]{16}\b", listed.out)) == set(ids), listed.out
    assert all(name in listed.out for name in names) and max(map(len, listed.out.splitlines())) <= 80


def test_counts_agree_with_their_nouns(vlkit_main, tmp_path, kb_pdf):
    res = vlkit_main("kb", "add", kb_pdf, "--index", tmp_path / "kb", "--dpi", "72")
    assert res.code == 0 and "1 file, 3 pages read" in res.out and "1 files" not in res.out, res.output
    from vlkit.cli._console import plural

    assert [plural(n, "round") for n in (0, 1, 2)] == ["0 rounds", "1 round", "2 rounds"]


# ------------------------------------------------------------------ eval sets


def test_gui_eval_without_a_set_says_how_to_make_one(vlkit_main, tmp_path):
    missing = tmp_path / "gui-eval"
    res = vlkit_main("gui", "eval", missing, "--tiny", "qwen2_vl")
    assert res.code == 2 and f"vlkit gui eval {missing} --make" in " ".join(res.err.split()), res.output
    assert "does not exist" not in res.output


@pytest.mark.browser
@pytest.mark.slow
def test_gui_eval_make_creates_the_folder_as_its_help_says(vlkit_main, tmp_path):
    folder = tmp_path / "new" / "gui-eval"
    res = vlkit_main("gui", "eval", folder, "--make", "--tiny", "qwen3_vl", "--limit", "1")
    assert res.code == 0, res.output
    assert (folder / "items.jsonl").is_file() and "point-in-box accuracy" in res.out


@pytest.mark.browser
@pytest.mark.slow
def test_html_eval_generate_creates_the_folder(vlkit_main, tmp_path):
    folder = tmp_path / "new" / "html-eval"
    res = vlkit_main("html", "eval", folder, "--generate", "--baseline")
    assert res.code == 0 and any(folder.glob("*.html")), res.output
    shutil.rmtree(folder)
