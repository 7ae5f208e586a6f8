"""``/v1/kb/search`` and ``/v1/kb/ask`` over a vlkit document index (``vlkit serve --index DIR``).

Answers carry their sources as ``[file p.N]`` citations with page numbers; the page images are served
under ``/v1/kb/pages/{doc_id}/{page}.png`` so a client (the web UI) can show what the answer cites.
"""

import asyncio
import threading
from pathlib import Path
from typing import Any, Callable

from vlkit.serve.schemas import APIError, KBAskRequest, KBSearchRequest, parse_body

__all__ = ["KnowledgeBase", "add_kb_routes", "hit_json"]


class KnowledgeBase:
    """An index, its searcher and a cited-answer QA over the served model; shared by the API and the UI."""

    def __init__(self, path: str | Path, llm: Any, *, chroma_url: str | None = None) -> None:
        from vlkit.retrieval import DocumentIndex, DocumentQA, HybridSearcher

        self.index = DocumentIndex(path, chroma_url=chroma_url)
        self.searcher = HybridSearcher(self.index)
        self.qa = DocumentQA(llm, self.index, searcher=self.searcher)
        self.lock = threading.Lock()
        """Ingest and queries do not overlap (the embedded store is one folder)."""

    def search(self, query: str, k: int) -> list[Any]:
        with self.lock:
            return self.searcher.search(query, k=k)

    def ask(self, question: str) -> Any:
        with self.lock:
            return self.qa.ask(question)

    def add(self, paths: list[str], progress: Callable[[int, int], None] | None = None) -> Any:
        with self.lock:
            return self.index.add(paths, progress=progress)


def hit_json(hit: Any) -> dict[str, Any]:
    return {
        "doc_id": hit.doc_id, "file": hit.file_name, "page": hit.page, "citation": hit.citation,
        "score": round(float(hit.score), 6), "text": hit.text,
        "image_url": f"/v1/kb/pages/{hit.doc_id}/{hit.page}.png" if hit.image_path else None,
    }  # fmt: skip


def add_kb_routes(app: Any, kb: KnowledgeBase, *, authorize: Callable[[Any], None], read: Callable[[Any], Any]) -> None:
    from fastapi import Request
    from fastapi.responses import FileResponse

    limiter = app.state.limiter

    @app.post("/v1/kb/search")
    async def kb_search(request: Request) -> Any:
        authorize(request)
        req = parse_body(await read(request), KBSearchRequest)
        hits = await asyncio.to_thread(kb.search, req.query, req.k)
        return {"object": "list", "query": req.query, "data": [hit_json(h) for h in hits]}

    @app.post("/v1/kb/ask")
    async def kb_ask(request: Request) -> Any:
        authorize(request)
        ticket = limiter.admit()  # the answer runs the model: same limits as chat completions
        try:
            req = parse_body(await read(request), KBAskRequest)
            if req.stream:
                raise APIError(400, "stream is not supported on /v1/kb/ask; send stream=false", param="stream")
            await ticket.acquire()
            answer = await asyncio.to_thread(kb.ask, req.question)
        finally:
            ticket.release()
        cited = answer.cited
        return {"object": "kb.answer", "question": req.question, "answer": answer.text, "found": answer.found,
                "citations": [h.citation for h in cited], "sources": [hit_json(h) for h in answer.sources]}  # fmt: skip

    @app.get("/v1/kb/pages/{doc_id}/{page}.png")
    async def kb_page(request: Request, doc_id: str, page: int) -> Any:
        authorize(request)
        path = kb.index.page_image(doc_id, page)
        if path is None or not Path(path).is_file():
            raise APIError(404, f"no page image for document {doc_id[:64]} page {page}")
        return FileResponse(path, media_type="image/png")
