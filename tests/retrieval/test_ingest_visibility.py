"""Issue 9 item 10: a document is searchable as soon as its last page is committed — while the next
file is still being read — not after the next file."""

from __future__ import annotations

import time

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class SlowTranscriber(BaseChatModel):
    """A VLM reader's model (control flow only): page ``i`` reads as ``texts[i]``; from call ``slow_from``
    on each call takes ``delay`` seconds and first runs ``probe`` (what another process would see)."""

    texts: list[str]
    slow_from: int
    delay: float
    probe: object
    calls: int = 0
    seen: list = []

    @property
    def _llm_type(self) -> str:
        return "slow-transcriber"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls += 1
        if self.calls >= self.slow_from:
            self.seen.append(self.probe())
            time.sleep(self.delay)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.texts[self.calls - 1]))])


def test_first_document_is_visible_while_the_second_is_read(make_index, tmp_path, text_pdf, docs):
    from vlkit.retrieval.index import DocumentIndex
    from vlkit.retrieval.search import HybridSearcher

    second = tmp_path / "second.pdf"
    docs.chinese_pdf(second)  # 2 pages, read after report.pdf's 3
    path = tmp_path / "kb"

    def probe():
        other = DocumentIndex(path, embedder=kb.embedder)  # a second connection: what a searcher sees
        try:
            states = {d.file_name: d.state for d in other.documents()}
            hits = [c.file_name for c, _ in HybridSearcher(other).lexical_search("zebracorn", 3)]
            return states.get("report.pdf"), hits
        finally:
            other.close()

    texts = ["# One\nThe zebracorn grazes here.", "# Two\nbeta", "# Three\ngamma", "# Vier\ndelta", "# Fünf\nepsilon"]
    chat = SlowTranscriber(texts=texts, slow_from=4, delay=1.5, probe=probe, seen=[])
    kb = make_index(model=chat)
    summary = kb.add([text_pdf, second], reader="vlm")
    assert [f.status for f in summary.files] == ["added", "added"] and chat.calls == 5
    # by the second document's last page, the first is complete and found
    assert chat.seen[-1] == ("complete", ["report.pdf"]), chat.seen
