"""`vlkit kb add/list/remove/search` on a folder of mixed files, through the real root CLI."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from conftest import make_bad_files
from vlkit.cli import app


@pytest.fixture
def folder(tmp_path, text_pdf, chinese_pdf):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(text_pdf, d / "report.pdf")
    shutil.copy(chinese_pdf, d / "chinese.pdf")
    make_bad_files(tmp_path / "bad")
    shutil.copy(tmp_path / "bad" / "zero.pdf", d / "zero.pdf")
    return d


def test_add_list_search_remove(folder, tmp_path, monkeypatch):
    runner = CliRunner()
    index = str(tmp_path / "kb")
    monkeypatch.setenv("COLUMNS", "200")
    res = runner.invoke(app, ["kb", "add", str(folder), "--index", index, "--dpi", "72"])
    assert res.exit_code == 1, res.output  # one file failed
    assert "2 added, 1 failed" in res.output and "the PDF has no pages" in res.output
    res = runner.invoke(app, ["kb", "add", str(folder / "report.pdf"), "--index", index, "--dpi", "72"])
    assert res.exit_code == 0 and "1 unchanged" in res.output
    res = runner.invoke(app, ["kb", "list", "--index", index])
    assert res.exit_code == 0 and "report.pdf" in res.output and "chinese.pdf" in res.output
    assert res.output.count("complete") == 2
    res = runner.invoke(app, ["kb", "search", "basalt magma volcano", "-k", "1", "--index", index])
    assert res.exit_code == 0 and "[report.pdf p.3]" in res.output
    res = runner.invoke(app, ["kb", "remove", "report.pdf", "--index", index])
    assert res.exit_code == 0 and "removed 'report.pdf'" in res.output
    res = runner.invoke(app, ["kb", "list", "--index", index])
    assert "report.pdf" not in res.output and "chinese.pdf" in res.output


def test_env_index_and_typed_error_exit_code(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("VLKIT_INDEX", str(tmp_path / "envkb"))
    res = CliRunner().invoke(app, ["kb", "list"])
    assert res.exit_code == 0 and "empty" in res.output and (tmp_path / "envkb").is_dir()
    proc = subprocess.run([sys.executable, "-c", "from vlkit.cli import main; main()", "kb", "remove", "ghost"],
                          capture_output=True, text=True, env={**__import__("os").environ, "COLUMNS": "200"})
    assert proc.returncode == 2 and "error: no document 'ghost'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["add", "list", "remove", "search"])
def test_help_names_the_options(command):
    res = CliRunner().invoke(app, ["kb", command, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "--index" in res.output and "--chroma-url" in res.output


def test_embedder_is_chosen_at_add_and_remembered(tmp_path, text_pdf):
    from vlkit.retrieval.index import DocumentIndex

    runner = CliRunner()
    index = str(tmp_path / "kb")
    res = runner.invoke(app, ["kb", "add", str(text_pdf), "--index", index, "--dpi", "72", "--embedder", "minilm"])
    assert res.exit_code == 0, res.output
    # search and list reopen the index with the embedder stored in its manifest
    res = runner.invoke(app, ["kb", "search", "basalt magma volcano", "-k", "1", "--index", index])
    assert res.exit_code == 0 and "p.3]" in res.output, res.output
    kb = DocumentIndex(index)
    assert kb.embedder.name == "st:all-MiniLM-L6-v2"
    kb.close()
    # a different embedder for an existing index is refused with a message that says why
    res = runner.invoke(app, ["kb", "add", str(text_pdf), "--index", index, "--embedder", "use"])
    from vlkit.errors import UserError

    assert isinstance(res.exception, UserError) and "built with embedder 'st:all-MiniLM-L6-v2'" in str(res.exception)


def test_new_index_defaults_to_multilingual_use(tmp_path):
    from vlkit.retrieval.index import DocumentIndex

    kb = DocumentIndex(tmp_path / "kb")
    assert kb.embedder.name == "use:multilingual-v3" and kb.stored_embedder_spec() is None
    kb.close()
