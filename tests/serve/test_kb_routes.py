"""/v1/kb/search and /v1/kb/ask over a real index (PyMuPDF pages, embedded Chroma), with page citations."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import MODEL_NAME, tiny

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def kb_app(tmp_path_factory: pytest.TempPathFactory) -> object:
    fitz = pytest.importorskip("fitz")
    from vlkit.models import ChatQwenVL
    from vlkit.serve.app import ServeConfig, create_app
    from vlkit.serve.engine import Engine
    from vlkit.serve.kb import KnowledgeBase

    folder = tmp_path_factory.mktemp("kb")
    pdf = folder / "manual.pdf"
    doc = fitz.open()
    for text in ["Backups run every six hours and are kept for 30 days.", "Rotate the API key under Settings > Security."]:
        doc.new_page().insert_text((72, 72), text, fontsize=14)
    doc.save(pdf)
    llm = ChatQwenVL(model=tiny("qwen2_vl"), max_tokens=8)
    kb = KnowledgeBase(folder / "index", llm)
    assert kb.add([str(pdf)]).pages == 2
    engine = Engine(llm, name=MODEL_NAME)
    engine.load()
    return create_app(engine, ServeConfig(), kb=kb)


async def test_search_returns_pages_with_citations_and_images(kb_app: object) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kb_app), base_url="http://t", timeout=120) as client:
        found = (await client.post("/v1/kb/search", json={"query": "how often do backups run", "k": 2})).json()
        best = found["data"][0]
        assert best["citation"] == "[manual.pdf p.1]" and "six hours" in best["text"]
        image = await client.get(best["image_url"])
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        bad = await client.post("/v1/kb/search", json={"query": "", "k": 500})
        assert bad.status_code == 400 and bad.json()["error"]["param"] in ("query", "k")
        missing = await client.get("/v1/kb/pages/nope/1.png")
        assert missing.status_code == 404 and "error" in missing.json()


async def test_ask_answers_from_the_cited_pages(kb_app: object) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=kb_app), base_url="http://t", timeout=300) as client:
        reply = (await client.post("/v1/kb/ask", json={"question": "How long are backups kept?"})).json()
        assert reply["found"] and reply["answer"]
        assert reply["sources"][0]["citation"].startswith("[manual.pdf p.")
        assert all(c.startswith("[manual.pdf p.") for c in reply["citations"])  # random weights rarely cite; if so, right
