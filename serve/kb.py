"""``/v1/kb/search`` and ``/v1/kb/ask`` over a vlkit document index, shared with the web UI's Documents tab.

``vlkit serve --index DIR`` serves an existing index (``vlkit kb add`` builds one); without ``--index`` the
server indexes the UI's uploads into a temporary folder it names at start-up, and these routes work on it.
Answers carry their sources as ``[file p.N]`` citations with page numbers; the page images are served
under ``/v1/kb/pages/{doc_id}/{page}.png`` so a client (the web UI) can show what the answer cites.
An answer is generated through the server's one generation path (:class:`~vlkit.serve.runner.Runner`):
the same queue, pre-run token count, ``max_tokens`` and cancellation as a chat completion.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' ``Request`` annotations at runtime.
import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any, Callable

from vlkit.serve.runner import Runner
from vlkit.serve.schemas import APIError, KBAskRequest, KBSearchRequest, parse_body

__all__ = ["KnowledgeBase", "add_kb_routes", "hit_json"]


class KnowledgeBase:
    """An index, its searcher and the cited-answer prompt over the served model; shared by the API and the UI.

    Args:
        index: an open :class:`~vlkit.retrieval.DocumentIndex`, or a folder to open (created on first use).
        llm: the served chat model (the QA's prompt is built for it; the runner runs it).
        temporary: the folder is the server's own, deleted when it stops (said in the UI).
    """

    def __init__(self, index: Any, llm: Any, *, chroma_url: str | None = None, temporary: bool = False) -> None:
        self.llm, self.chroma_url, self.temporary = llm, chroma_url, temporary
        self.path = Path(index) if isinstance(index, (str, Path)) else Path(index.path)
        self._index = None if isinstance(index, (str, Path)) else index
        self._qa: Any = None
        self.lock = threading.Lock()
        """Ingest and queries do not overlap (the embedded store is one folder)."""

    @property
    def index(self) -> Any:
        with self.lock:
            return self._open()[0]

    def _open(self) -> tuple[Any, Any]:
        """The index and its QA, opened on first use (the caller holds the lock)."""
        if self._qa is None:
            from vlkit.retrieval import DocumentIndex, DocumentQA

            if self._index is None:
                self._index = DocumentIndex(self.path, chroma_url=self.chroma_url)
            self._qa = DocumentQA(self.llm, self._index)
        return self._index, self._qa

    def search(self, query: str, k: int) -> list[Any]:
        with self.lock:
            return self._open()[1].searcher.search(query, k=k)

    def add(self, paths: list[str], progress: Callable[[int, int], None] | None = None) -> Any:
        with self.lock:
            return self._open()[0].add(paths, progress=progress)

    def prompt(self, question: str) -> tuple[list[Any], list[Any]]:
        """The relevant pages and the messages that ask the model about them (no pages: no messages)."""
        with self.lock:
            qa = self._open()[1]
            pages = qa.retrieve(question)
            return pages, (qa.messages(question, pages) if pages else [])

    async def answer(self, runner: Runner, ticket: Any, question: str, *, max_tokens: int | None = None) -> tuple[Any, Any]:
        """``(Answer, job)``: the cited answer, generated through ``runner`` under ``ticket``; the job is
        None when no page was relevant (the model is not run, as in :meth:`DocumentQA.ask`)."""
        from vlkit.retrieval import Answer
        from vlkit.retrieval.qa import NOT_FOUND, is_chinese

        pages, messages = await asyncio.to_thread(self.prompt, question)
        if not pages:
            return Answer(NOT_FOUND["zh" if is_chinese(question) else "en"], []), None
        job = runner.engine.job_for(messages, max_tokens=max_tokens)
        text = ""
        async with contextlib.aclosing(runner.run(ticket, job)) as chunks:
            async for chunk in chunks:
                text += chunk.content if isinstance(chunk.content, str) else ""
        return Answer(text, pages), job


def hit_json(hit: Any) -> dict[str, Any]:
    return {
        "doc_id": hit.doc_id, "file": hit.file_name, "page": hit.page, "citation": hit.citation,
        "score": round(float(hit.score), 6), "text": hit.text,
        "image_url": f"/v1/kb/pages/{hit.doc_id}/{hit.page}.png" if hit.image_path else None,
    }  # fmt: skip


def add_kb_routes(app: Any, kb: KnowledgeBase, runner: Runner, *, authorize: Callable[[Any], None],
                  read: Callable[[Any], Any]) -> None:  # fmt: skip
    from fastapi import Request
    from fastapi.responses import FileResponse

    @app.post("/v1/kb/search")
    async def kb_search(request: Request) -> Any:
        authorize(request)
        req = parse_body(await read(request), KBSearchRequest)
        hits = await asyncio.to_thread(kb.search, req.query, req.k)
        return {"object": "list", "query": req.query, "data": [hit_json(h) for h in hits]}

    @app.post("/v1/kb/ask")
    async def kb_ask(request: Request) -> Any:
        authorize(request)
        ticket = runner.admit()  # the answer runs the model: same limits as chat completions
        try:
            req = parse_body(await read(request), KBAskRequest)
            if req.stream:
                raise APIError(400, "stream is not supported on /v1/kb/ask; send stream=false", param="stream")
            answer, job = await kb.answer(runner, ticket, req.question, max_tokens=req.max_tokens)
        finally:
            ticket.release()
        usage = {"prompt_tokens": job.prompt_tokens if job else 0, "completion_tokens": job.completion_tokens if job else 0}
        return {"object": "kb.answer", "question": req.question, "answer": answer.text, "found": answer.found,
                "citations": [h.citation for h in answer.cited], "sources": [hit_json(h) for h in answer.sources],
                "usage": usage}  # fmt: skip

    @app.get("/v1/kb/pages/{doc_id}/{page}.png")
    async def kb_page(request: Request, doc_id: str, page: int) -> Any:
        authorize(request)
        path = await asyncio.to_thread(lambda: kb.index.page_image(doc_id, page))
        if path is None or not Path(path).is_file():
            raise APIError(404, f"no page image for document {doc_id[:64]} page {page}")
        return FileResponse(path, media_type="image/png")
