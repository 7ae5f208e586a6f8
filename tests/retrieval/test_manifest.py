"""The SQLite manifest: states, visibility, atomic page commits."""

from __future__ import annotations

from vlkit.retrieval.store import DocRow, Manifest, PageRow
from vlkit.retrieval.types import Chunk


def _chunk(doc_id: str, page: int, i: int, text: str) -> Chunk:
    return Chunk(id=f"{doc_id}:{page}:{i}", doc_id=doc_id, file_name="f.pdf", sha256="s", page=page,
                 reader="text", text=text, start=0, end=len(text))


def test_pending_documents_are_hidden_until_complete(tmp_path):
    m = Manifest(tmp_path / "m.sqlite")
    m.start_doc(DocRow("d1", "f.pdf", "/x/f.pdf", "s", 2, "pending", None))
    m.commit_pages([PageRow("d1", 1, "text", "page one", None, "H")], [_chunk("d1", 1, 0, "page one")])
    assert m.done_pages("d1") == {1: "H"} and m.hidden_ids() == ["d1"] and list(m.complete_chunks()) == []
    v = m.version
    m.commit_pages([PageRow("d1", 2, "text", "page two", "abc", "")], [_chunk("d1", 2, 0, "page two")])
    m.complete_doc("d1", [])
    assert m.version == v + 1 and m.hidden_ids() == [] and m.complete_ids() == ["d1"]
    assert [r[0] for r in m.complete_chunks()] == ["d1:1:0", "d1:2:0"]
    assert m.pages_by_key([("d1", 2), ("nope", 1)])[("d1", 2)].image_sha == "abc"


def test_recommitting_a_page_replaces_its_chunks(tmp_path):
    m = Manifest(tmp_path / "m.sqlite")
    m.start_doc(DocRow("d1", "f.pdf", "/x/f.pdf", "s", 1, "pending", None))
    m.commit_pages([PageRow("d1", 1, "text", "a b", None, "")], [_chunk("d1", 1, 0, "a"), _chunk("d1", 1, 1, "b")])
    m.commit_pages([PageRow("d1", 1, "text", "a", None, "")], [_chunk("d1", 1, 0, "a")])  # redone after a crash
    assert m.chunk_ids("d1") == {"d1:1:0"} and m.count_pages("d1") == 1


def test_replacing_and_dropping_returns_unshared_images(tmp_path):
    m = Manifest(tmp_path / "m.sqlite")
    for doc_id, shas in (("old", ["shared", "mine"]), ("new", ["shared"])):
        m.start_doc(DocRow(doc_id, "f.pdf", "/x/f.pdf", doc_id, len(shas), "pending", "old" if doc_id == "new" else None))
        m.commit_pages([PageRow(doc_id, i + 1, "text", "t", sha, "") for i, sha in enumerate(shas)], [])
    m.complete_doc("old", [])
    m.complete_doc("new", ["old"])  # one transaction: new visible, old removing
    assert [d.state for d in m.docs()] == ["removing", "complete"]
    assert m.drop_doc("old") == ["mine"] and [d.doc_id for d in m.docs()] == ["new"]
