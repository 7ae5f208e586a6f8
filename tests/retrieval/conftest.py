"""Shared fixtures for the knowledge-base tests: a real embedder (session-wide), index factories
(embedded Chroma, or a `chroma run` server), and the documents of tests/documents/conftest.py (its
docstring lists the words each one holds, which search and QA tests rely on).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.documents.conftest import (  # noqa: F401  (shared fixtures)
    TEST_DPI,
    chinese_pdf,
    docs,
    docs_dir,
    latin_ocr,
    locked_tree,
    mixed_pdf,
    run_unprivileged,
    scanned_chinese_png,
    scanned_pdf,
    text_pdf,
)

pymupdf = pytest.importorskip("pymupdf")


@pytest.fixture
def unused_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (right now)."""
    return free_port()


@pytest.fixture
def spy_queries(monkeypatch):
    """``spy_queries(index) -> calls``: every Chroma query the index makes from now on appends its
    ``doc_ids`` filter (``None``: unfiltered) to ``calls``, and still runs."""

    def spy(index) -> list:
        calls: list = []
        real = index.store.query

        def query(embedding, k, doc_ids=None):
            calls.append(doc_ids)
            return real(embedding, k, doc_ids)

        monkeypatch.setattr(index.store, "query", query)
        return calls

    return spy


@pytest.fixture(scope="session")
def embedder():
    """The packaged all-MiniLM-L6-v2, loaded once per session (real embeddings, offline)."""
    from vlkit.retrieval.embedders import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    emb.embed(["warm up"])
    return emb


@pytest.fixture
def make_index(tmp_path, embedder):
    """Factory: ``make_index(name="kb", **kwargs)`` -> a DocumentIndex in a fresh folder (embedded Chroma)."""
    from vlkit.retrieval.index import DocumentIndex

    made = []

    def make(name: str = "kb", **kwargs):
        kwargs.setdefault("embedder", embedder)
        kwargs.setdefault("dpi", TEST_DPI)
        index = DocumentIndex(tmp_path / name, **kwargs)
        made.append(index)
        return index

    yield make
    for index in made:
        index.close()


@pytest.fixture(scope="session")
def text_index(tmp_path_factory, embedder, text_pdf, chinese_pdf):
    """A session-wide index of the text-layer PDFs (fast; read-only for tests that search)."""
    from vlkit.retrieval.index import DocumentIndex

    index = DocumentIndex(tmp_path_factory.mktemp("text_kb") / "kb", embedder=embedder, dpi=TEST_DPI)
    summary = index.add([text_pdf, chinese_pdf])
    assert not summary.failed, summary
    yield index
    index.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    """A real `chroma run` server on loopback for the session; yields its URL."""
    import httpx

    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        pytest.skip("the chroma CLI is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen([str(exe), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma server did not start: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
