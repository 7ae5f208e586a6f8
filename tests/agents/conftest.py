"""Fixtures for the agent tests (helpers live in ``tests/agents/scripted.py``)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from tests.agents.scripted import Reply, ScriptedChat


@pytest.fixture
def scripted() -> Callable[..., ScriptedChat]:
    """``scripted(reply, reply, ..., repeat_last=False)`` -> a fresh ScriptedChat."""

    def make(*script: Reply, repeat_last: bool = False) -> ScriptedChat:
        return ScriptedChat(script=list(script), repeat_last=repeat_last)

    return make


@functools.cache
def tiny(family: str) -> str:
    from vlkit.testing import tiny_checkpoint

    return str(tiny_checkpoint(family))


@pytest.fixture(params=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def tiny_family(request: pytest.FixtureRequest) -> str:
    """Each tiny checkpoint family in turn; the value is the family name (path: ``tiny_path``)."""
    return request.param


@pytest.fixture
def tiny_path(tiny_family: str) -> str:
    return tiny(tiny_family)


def write_manual_pdf(path):
    """A 3-page text PDF: p1 "Backups" (nightly at 02:00), p2 "API keys" (rotate every 90 days), p3 "Printers"."""
    import pymupdf

    doc = pymupdf.open()
    pages = [
        ("Backups", ["Backups run nightly at 02:00 and are kept for 30 days.", "Restore from the admin console."]),
        ("API keys", ["Rotate each API key every 90 days in Settings > Security.", "Old keys stop working at once."]),
        ("Printers", ["The third-floor printer needs a badge to release jobs.", "Toner is in the supply room."]),
    ]
    for heading, lines in pages:
        page = doc.new_page()
        page.insert_text((72, 90), heading, fontsize=22)
        for i, line in enumerate(lines):
            page.insert_text((72, 130 + 22 * i), line, fontsize=12)
    doc.save(path)
    return path


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory):
    """A real DocumentIndex (embedded Chroma, packaged MiniLM embedder) over ``manual.pdf``."""
    pytest.importorskip("pymupdf")
    from vlkit.retrieval import DocumentIndex
    from vlkit.retrieval.embedders import SentenceTransformerEmbedder

    root = tmp_path_factory.mktemp("agent_kb")
    pdf = write_manual_pdf(root / "manual.pdf")
    index = DocumentIndex(root / "kb", embedder=SentenceTransformerEmbedder(), dpi=72)
    summary = index.add([pdf])
    assert not summary.failed, summary
    yield index
    index.close()


ASSETS = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "assets"


@pytest.fixture(scope="session")
def assets_url():
    """A real HTTP server on 127.0.0.1 serving examples/assets; yields its origin (http://127.0.0.1:PORT)."""
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(ASSETS), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
