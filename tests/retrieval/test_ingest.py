"""Ingest with real parts: PyMuPDF documents, RapidOCR, sentence-transformers, embedded Chroma."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from vlkit.errors import DocumentError, UserError


def _pages(index, file_name):
    doc = next(d for d in index.documents() if d.file_name == file_name)
    return doc, {c.page: c for c in index.chunks() if c.doc_id == doc.doc_id}


def test_text_pdf_pages_headings_offsets_and_images(text_index):
    doc, first = _pages(text_index, "report.pdf")
    assert (doc.pages, doc.pages_done, doc.state) == (3, 3, "complete")
    chunks = [c for c in text_index.chunks() if c.doc_id == doc.doc_id]
    assert {c.reader for c in chunks} == {"text"}
    # Chunk.heading is the section path, rooted at the document title (vlkit.retrieval.chunking)
    assert [first[p].heading.split(" > ")[-1] for p in (1, 2, 3)] == ["Quarterly Report", "Photosynthesis", "Volcanoes"]
    for c in chunks:
        assert c.id == f"{doc.doc_id}:{c.page}:{c.id.rsplit(':', 1)[1]}"
        assert text_index.page_text(doc.doc_id, c.page)[c.start:c.end] == c.text
        assert c.sha256.startswith(doc.doc_id) and c.file_name == "report.pdf"
    assert "4821" in text_index.page_text(doc.doc_id, 1)
    assert text_index.page_image(doc.doc_id, 9) is None and text_index.page_text("nope", 1) == ""


def test_text_layer_page_images_are_rendered_on_demand_from_the_kept_pdf(make_index, text_pdf):
    import numpy as np
    import pymupdf
    from PIL import Image

    from vlkit.retrieval.store import render_key
    from vlkit.documents import render_pdf_page
    from vlkit.retrieval.search import HybridSearcher

    kb = make_index()
    kb.add(text_pdf)
    doc = kb.documents()[0]
    assert kb.images.source_path(doc.sha256).read_bytes() == text_pdf.read_bytes()  # the index keeps the PDF
    assert list(kb.pages_dir.glob("*.png")) == []  # ingest rendered no page image
    image = kb.page_image(doc.doc_id, 2)
    assert image == kb.images.path(render_key(doc.sha256, 2, kb.dpi)) and image.read_bytes()[:4] == b"\x89PNG"
    with pymupdf.open(text_pdf) as pdf:  # the pixels the page has at the index's dpi, losslessly
        want = render_pdf_page(pdf.load_page(1), kb.dpi)
    assert np.array_equal(np.asarray(Image.open(image).convert("RGB")), want)
    assert [p.name for p in kb.pages_dir.glob("*.png")] == [image.name]  # only the page asked for
    (hit,) = HybridSearcher(kb).search("basalt magma volcanoes", k=1)
    assert hit.page == 3 and Path(hit.image_path).is_file()  # a search renders the pages it returns ...
    assert sorted(p.name for p in kb.pages_dir.glob("*.png")) == sorted([image.name, Path(hit.image_path).name])
    missing = 1  # ... and only those
    kb.images.source_path(doc.sha256).unlink()  # the copy gone (by hand): no image, no error
    assert kb.page_image(doc.doc_id, missing) is None
    kb.remove(doc.doc_id)
    assert list(kb.pages_dir.glob("*.png")) == []  # removing the document removes what was rendered


def test_chinese_text_layer_and_dense_search(text_index):
    doc, pages = _pages(text_index, "chinese.pdf")
    assert "知识库检索测试" in text_index.page_text(doc.doc_id, 1)
    assert pages[2].heading.split(" > ")[-1] == "人工智能"
    top, score = text_index.dense_search("chlorophyll and sunlight", k=3)[0]
    assert (top.file_name, top.page) == ("report.pdf", 2) and 0.3 < score <= 1.0
    top, _ = text_index.dense_search("人工智能正在改变世界", k=1)[0]
    assert (top.file_name, top.page) == ("chinese.pdf", 2)


def test_version_grows_and_persists(make_index, text_pdf, chinese_pdf):
    kb = make_index()
    v0 = kb.version
    kb.add(text_pdf)
    v1 = kb.version
    kb.add(text_pdf)  # no-op
    assert v1 > v0 and kb.version == v1
    kb.remove("report.pdf")
    assert kb.version > v1
    reopened = make_index()
    assert reopened.version == kb.version


@pytest.mark.slow
def test_auto_reader_picks_per_page_and_ocr_reads_scans(make_index, mixed_pdf, scanned_pdf, latin_ocr):
    kb = make_index()
    summary = kb.add([mixed_pdf, scanned_pdf])
    assert [f.status for f in summary.files] == ["added", "added"] and summary.pages == 5
    mixed, pages = _pages(kb, "mixed.pdf")
    assert {p: c.reader for p, c in pages.items()} == {1: "text", 2: latin_ocr, 3: "text"}
    assert "camel" in kb.page_text(mixed.doc_id, 2) and "Oasis" in kb.page_text(mixed.doc_id, 2)
    scanned, pages = _pages(kb, "scanned.pdf")
    assert {c.reader for c in pages.values()} == {latin_ocr}
    assert "7305" in kb.page_text(scanned.doc_id, 1) and "Lighthouse" in kb.page_text(scanned.doc_id, 2)
    top, _ = kb.dense_search("lighthouse keeper ships", k=1)[0]
    assert (top.file_name, top.page) == ("scanned.pdf", 2)


@pytest.mark.slow
def test_images_png_jpeg_multipage_tiff(make_index, tmp_path, scanned_chinese_png, docs, latin_ocr):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    docs.tiff(folder / "sub" / "scan.tiff")
    docs.jpeg(folder / "trail.jpg")
    shutil.copy(scanned_chinese_png, folder / "fapiao.png")
    kb = make_index()
    summary = kb.add([folder])
    assert sorted((Path(f.path).name, f.status, f.pages) for f in summary.files) == [
        ("fapiao.png", "added", 1), ("scan.tiff", "added", 2), ("trail.jpg", "added", 1)]
    by_name = {d.file_name: d for d in kb.documents()}
    assert "Harbor Lighthouse" in kb.page_text(by_name["scan.tiff"].doc_id, 2)
    assert "ridge" in kb.page_text(by_name["trail.jpg"].doc_id, 1)
    fapiao = kb.page_text(by_name["fapiao.png"].doc_id, 1)
    assert "发票金额" in fapiao and "5190" in fapiao.replace(" ", "")  # OCR may space wide-set digits
    readers = {d: {c.reader for c in kb.chunks(by_name[d].doc_id)} for d in by_name}
    assert readers == {"fapiao.png": {"rapidocr"}, "scan.tiff": {latin_ocr}, "trail.jpg": {latin_ocr}}


def test_readding_unchanged_is_a_noop(make_index, text_pdf, tmp_path):
    text_pdf = Path(shutil.copy(text_pdf, tmp_path / "report.pdf"))
    kb = make_index()
    kb.add(text_pdf)
    before = sorted(c.id for c in kb.chunks())
    count = kb.store.count()
    summary = kb.add([text_pdf, text_pdf.parent])  # the folder holds it again
    statuses = {Path(f.path).name: f.status for f in summary.files}
    assert statuses["report.pdf"] == "unchanged" and summary.by_status("unchanged")[0].pages == 0
    assert sorted(c.id for c in kb.chunks() if c.file_name == "report.pdf") == before
    assert kb.store.count() >= count


def test_changed_file_replaces_its_pages(make_index, tmp_path, docs):
    path = tmp_path / "doc.pdf"
    docs.text_pdf(path)
    kb = make_index()
    first = kb.add(path).files[0]
    old_images = [kb.page_image(first.doc_id, p) for p in (1, 2, 3)]
    docs.chinese_pdf(path)  # same path, new content
    second = kb.add(path).files[0]
    assert second.status == "replaced" and second.doc_id != first.doc_id
    docs = kb.documents()
    assert [(d.doc_id, d.pages) for d in docs] == [(second.doc_id, 2)]
    assert {c.doc_id for c in kb.chunks()} == {second.doc_id}
    assert kb.store.ids(first.doc_id) == set() and kb.page_text(first.doc_id, 1) == ""
    assert not any(p.exists() for p in old_images)
    assert kb.dense_search("invoice total", k=3)[0][0].doc_id == second.doc_id


def test_remove_deletes_every_trace_of_one_document_and_nothing_of_another(make_index, tmp_path, text_pdf):
    copy = tmp_path / "copy_with_extra_page.pdf"
    import pymupdf

    doc = pymupdf.open(text_pdf)
    doc.new_page().insert_text((72, 72), "An extra page makes the bytes differ.", fontsize=12)
    doc.save(copy)
    kb = make_index()
    kb.add([text_pdf, copy])
    keep, gone = _pages(kb, "copy_with_extra_page.pdf")[0], _pages(kb, "report.pdf")[0]
    gone_images = [kb.page_image(gone.doc_id, p) for p in (1, 3)]
    kept_image = kb.page_image(keep.doc_id, 1)
    assert gone_images[0] != kept_image  # an identical page of another PDF has its own image
    assert all(p is not None and p.exists() for p in [*gone_images, kept_image])
    removed = kb.remove(str(text_pdf))  # by path
    assert removed == gone.chunks > 0
    assert [d.doc_id for d in kb.documents()] == [keep.doc_id]
    assert all(c.doc_id == keep.doc_id for c in kb.chunks())
    assert kb.store.ids(gone.doc_id) == set()
    assert not any(p.exists() for p in gone_images) and not kb.images.source_path(gone.sha256).exists()
    assert kept_image.exists() and kb.images.source_path(keep.sha256).exists()
    assert kb.remove(keep.doc_id) == keep.chunks
    assert kb.documents() == [] and kb.store.count() == 0 and list(kb.pages_dir.glob("*.png")) == []
    assert list(kb.images.sources.glob("*")) == []
    with pytest.raises(DocumentError, match="no document 'report.pdf'"):
        kb.remove("report.pdf")


def test_identical_image_files_pages_share_one_stored_image(make_index, tmp_path, scanned_chinese_png):
    from PIL import Image

    tiff = tmp_path / "two_frames.tiff"
    frame = Image.open(scanned_chinese_png).convert("RGB")
    frame.save(tiff, save_all=True, append_images=[frame.rotate(180)])
    kb = make_index()
    kb.add([scanned_chinese_png, tiff])
    png_doc, tiff_doc = (_pages(kb, n)[0] for n in (scanned_chinese_png.name, tiff.name))
    shared = kb.page_image(png_doc.doc_id, 1)
    assert shared == kb.page_image(tiff_doc.doc_id, 1)  # identical pixels -> one content-addressed image
    kb.remove(tiff_doc.doc_id)
    assert shared.exists() and len(list(kb.pages_dir.glob("*.png"))) == 1


def test_remove_ambiguous_name_asks_for_doc_id(make_index, tmp_path, docs):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    docs.text_pdf(tmp_path / "a" / "same.pdf")
    docs.chinese_pdf(tmp_path / "b" / "same.pdf")
    kb = make_index()
    kb.add([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(DocumentError, match="matches 2 documents"):
        kb.remove("same.pdf")


def test_bad_files_are_reported_and_the_others_ingest(make_index, tmp_path, text_pdf, docs):
    folder = tmp_path / "mixed_bag"
    bad = docs.bad_files(folder)
    shutil.copy(text_pdf, folder / "good.pdf")
    (folder / ".hidden.pdf").write_bytes(b"ignored")
    kb = make_index()
    summary = kb.add([folder, tmp_path / "missing.pdf"])
    errors = {Path(f.path).name: f.error for f in summary.failed}
    assert set(errors) == {p.name for k, p in bad.items() if k != "unsupported"} | {"missing.pdf"}
    assert "password" in errors["encrypted.pdf"]
    assert "not a readable PDF" in errors["corrupt.pdf"]
    assert "no pages" in errors["zero.pdf"]
    assert "50000x50000" in errors["bomb.png"] and "limit" in errors["bomb.png"]
    assert "no such file" in errors["missing.pdf"]
    (skipped,) = summary.skipped  # a type vlkit does not read is not a failure
    assert Path(skipped.path).name == "notes.docx" and skipped.error is None
    assert "unsupported file type '.docx'" in skipped.reason and ".pdf, .png" in skipped.reason
    assert [Path(f.path).name for f in summary.by_status("added")] == ["good.pdf"]
    assert [d.file_name for d in kb.documents()] == ["good.pdf"]


def test_a_pdf_whose_copy_cannot_be_kept_is_reported_and_the_others_ingest(make_index, text_pdf, scanned_chinese_png):
    kb = make_index()
    kb.images.sources.write_bytes(b"not a folder")  # where the PDF copies go cannot be written
    summary = kb.add([text_pdf, scanned_chinese_png])
    (failed,) = summary.failed
    assert Path(failed.path).name == "report.pdf" and "cannot write to the index" in failed.error
    assert [d.file_name for d in kb.documents()] == [scanned_chinese_png.name]  # the image file still went in
    assert kb.manifest.docs() and all(d.file_name != "report.pdf" for d in kb.manifest.docs())  # nothing half-added


def test_progress_reports_committed_pages(make_index, text_pdf, chinese_pdf):
    calls = []
    make_index().add([text_pdf, chinese_pdf], progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 5) and calls[-1] == (5, 5)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_forced_text_reader_on_a_scan_gives_empty_pages(make_index, scanned_pdf):
    kb = make_index()
    summary = kb.add(scanned_pdf, reader="text")
    doc_id = summary.files[0].doc_id
    assert summary.files[0].pages == 2 and kb.page_text(doc_id, 1) == ""
    assert kb.page_image(doc_id, 1) is not None  # the image is kept for the VLM all the same


def test_embedder_mismatch_is_refused(make_index, text_pdf):
    import numpy as np

    from vlkit.retrieval.embedders import Embedder

    class Other(Embedder):
        name = "other-model"

        def embed(self, texts):
            return np.ones((len(texts), 3), dtype=np.float32) / np.sqrt(3)

    make_index().add(text_pdf)
    with pytest.raises(UserError, match="built with embedder 'st:all-MiniLM-L6-v2'"):
        make_index(embedder=Other()).dense_search("anything", 1)


def test_bad_dpi_and_reader_are_user_errors(make_index, text_pdf):
    with pytest.raises(UserError, match="dpi"):
        make_index(dpi=5)
    with pytest.raises(UserError, match="choose one of: auto, text, rapidocr, tesseract, vlm"):
        make_index().add(text_pdf, reader="tessaract")
    with pytest.raises(UserError, match="needs a chat model"):
        make_index().add(text_pdf, reader="vlm")


@pytest.mark.server
def test_chroma_server_same_code_path(chroma_server, make_index, text_pdf, chinese_pdf):
    kb = make_index("remote", chroma_url=chroma_server)
    summary = kb.add([text_pdf, chinese_pdf])
    import chromadb
    from urllib.parse import urlparse

    url = urlparse(chroma_server)
    on_server = chromadb.HttpClient(host=url.hostname, port=url.port).get_collection(kb.store.collection.name)
    assert on_server.count() == len(list(kb.chunks())) > 0
    assert {f.status for f in summary.files} == {"added"}
    assert not (kb.path / "chroma").exists()
    top, _ = kb.dense_search("volcano basalt", k=1)[0]
    assert (top.file_name, top.page) == ("report.pdf", 3)
    assert kb.add(text_pdf).files[0].status == "unchanged"
    n = kb.remove("report.pdf")
    assert n > 0 and {c.file_name for c in kb.chunks()} == {"chinese.pdf"}
    assert kb.store.count() == len(list(kb.chunks()))


def test_unreachable_chroma_server_is_a_clear_error(tmp_path, embedder, unused_port):
    from vlkit.errors import ServerUnreachableError
    from vlkit.retrieval.index import DocumentIndex

    with pytest.raises(ServerUnreachableError, match="chroma run"):
        DocumentIndex(tmp_path / "kb", chroma_url=f"http://127.0.0.1:{unused_port}", embedder=embedder)


def test_chunks_fit_the_embedders_window(tmp_path, docs):
    """A model that reads 64 word pieces gets chunks of at most 256 characters, none cut short by it."""
    import pymupdf

    from vlkit.retrieval.embedders import SentenceTransformerEmbedder
    from vlkit.retrieval.index import DocumentIndex

    pdf = tmp_path / "long.pdf"
    with pymupdf.open() as doc:
        docs.text_page(doc, "Replication", [f"Step {i}: the follower copies segment {i} and acknowledges it." for i in range(14)])
        doc.save(pdf)

    short = SentenceTransformerEmbedder()
    short._load().max_seq_length = 64
    assert short.window_chars == 256
    index = DocumentIndex(tmp_path / "kb", embedder=short, dpi=docs.dpi)
    try:
        assert index.chunk_config.max_chars == 256
        index.add(pdf)
        lengths = [len(c.text) for c in index.chunks()]
        assert len(lengths) >= 3 and max(lengths) <= 256 + 80  # a heading line stays with its paragraph
        assert sum(lengths) > 800  # the page itself is far longer than one window
    finally:
        index.close()


class ScriptedChat(BaseChatModel):
    """Replies with scripted texts (control flow only: what the index does with a VLM reader's text)."""

    replies: list[str]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.replies.pop(0)))])


def test_vlm_reader_through_the_index(text_pdf, make_index):
    kb = make_index(model=ScriptedChat(replies=["# One\nalpha", "# Two\nbeta", "gamma"]))
    summary = kb.add(text_pdf, reader="vlm")
    doc_id = summary.files[0].doc_id
    assert [kb.page_text(doc_id, p) for p in (1, 2, 3)] == ["# One\nalpha", "# Two\nbeta", "gamma"]
    chunks = sorted(kb.chunks(), key=lambda c: c.page)
    # Chunk.heading is the section path, rooted at the document title (vlkit.retrieval.chunking)
    assert [(c.reader, c.heading.split(" > ")[-1]) for c in chunks] == [("vlm", "One"), ("vlm", "Two"), ("vlm", "Two")]
