"""`vlkit serve --index DIR` on a real index: every field of /v1/kb/search and /v1/kb/ask is honoured or
refused — ``max_tokens`` bounds the answer (issue 25.3: 1, 8 and 64 gave the same answer), ``k`` the hits."""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from tests.serve.conftest import Server, start_server, stop_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTION = "How long are backups kept?"


@pytest.fixture(scope="module")
def kb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    fitz = pytest.importorskip("fitz")
    from vlkit.retrieval import DocumentIndex

    folder = tmp_path_factory.mktemp("kb-server")
    pdf = folder / "manual.pdf"
    doc = fitz.open()
    for text in ["Backups run every six hours and are kept for 30 days.", "Rotate the API key under Settings > Security."]:
        doc.new_page().insert_text((72, 72), text, fontsize=14)
    doc.save(pdf)
    assert DocumentIndex(folder / "index").add([str(pdf)]).pages == 2
    server = start_server(folder, "--no-ui", "--index", str(folder / "index"), "--max-tokens", "64")
    yield server
    stop_server(server)


def ask(server: Server, **fields: object) -> httpx.Response:
    return httpx.post(f"{server.base_url}/kb/ask", json={"question": QUESTION, **fields}, timeout=300)


def test_ask_honours_max_tokens(kb_server: Server) -> None:
    answers = {n: ask(kb_server, max_tokens=n).json() for n in (1, 8, 64)}
    for n, answer in answers.items():
        assert answer["found"] and answer["sources"][0]["citation"].startswith("[manual.pdf p.")
        assert 1 <= answer["usage"]["completion_tokens"] <= n
        assert answer["usage"]["prompt_tokens"] > 0
    lengths = [len(answers[n]["answer"]) for n in (1, 8, 64)]
    assert lengths[0] < lengths[2] and answers[1]["answer"] != answers[64]["answer"]
    default = ask(kb_server).json()  # no max_tokens: the server's --max-tokens
    assert default["usage"]["completion_tokens"] <= 64


def test_ask_refuses_what_it_cannot_do(kb_server: Server) -> None:
    too_long = ask(kb_server, max_tokens=1 << 20)
    assert too_long.status_code == 400 and "context" in too_long.json()["error"]["message"]
    streamed = ask(kb_server, stream=True)
    assert streamed.status_code == 400 and streamed.json()["error"]["param"] == "stream"
    unknown = ask(kb_server, temperature=0.5)
    assert unknown.status_code == 400 and "temperature" in unknown.json()["error"]["message"]


def test_search_honours_k(kb_server: Server) -> None:
    def hits(k: int) -> list[dict]:
        response = httpx.post(f"{kb_server.base_url}/kb/search", json={"query": "backups", "k": k}, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    assert len(hits(1)) == 1 and len(hits(2)) == 2
    assert "documents: index" in kb_server.log.read_text(errors="replace")
