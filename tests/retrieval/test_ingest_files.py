"""Issue 9, write side: what ``add`` does with awkward file names, permissions, types and sizes.

Each test feeds exactly the input the issue reported: a name that is not UTF-8, an unreadable folder
(given and nested), unsupported types in a folder, an image between 50 and 64 MP.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from vlkit.documents import SUPPORTED_SUFFIXES, discover
from vlkit.vision.limits import MAX_IMAGE_PIXELS

BAD_NAME = b"b_na\xefve_\xff"
"""Latin-1 bytes: not valid UTF-8 (the issue's ``b_na\\xefve_\\xff.png``)."""


def _bytes_path(folder: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + name))


def test_non_utf8_names_ingest_and_do_not_stop_the_others(make_index, tmp_path, text_pdf, chinese_pdf,
                                                          scanned_chinese_png):
    folder = tmp_path / "names"
    folder.mkdir()
    shutil.copy(text_pdf, folder / "a_first.pdf")
    png = _bytes_path(folder, BAD_NAME + b".png")
    shutil.copy(scanned_chinese_png, png)
    pdf = _bytes_path(folder, BAD_NAME + b".pdf")
    shutil.copy(chinese_pdf, pdf)
    shutil.copy(text_pdf.with_name("mixed.pdf"), folder / "z_last.pdf")
    assert os.fsencode(pdf).endswith(BAD_NAME + b".pdf")  # really not UTF-8 on disk
    kb = make_index(reader="text")
    summary = kb.add(folder)
    assert {Path(f.path).name: f.status for f in summary.files} == {
        "a_first.pdf": "added", png.name: "added", pdf.name: "added", "z_last.pdf": "added"}, summary
    assert {d.state for d in kb.documents()} == {"complete"}  # the earlier PDF is not left pending
    stored = {d.file_name for d in kb.documents()}
    assert stored == {"a_first.pdf", "b_na\\xefve_\\xff.png", "b_na\\xefve_\\xff.pdf", "z_last.pdf"}
    top, _ = kb.dense_search("人工智能正在改变世界", k=1)[0]
    assert top.file_name == "b_na\\xefve_\\xff.pdf" and top.page == 2
    shown = next(f for f in summary.files if f.path == str(pdf)).display_path
    shown.encode("utf-8")  # printable and storable
    assert shown.endswith("b_na\\xefve_\\xff.pdf")
    again = kb.add(folder)  # the stored name matches the file again: nothing is re-read
    assert {f.status for f in again.files} == {"unchanged"}
    assert kb.remove(str(pdf)) > 0 and "b_na\\xefve_\\xff.pdf" not in {d.file_name for d in kb.documents()}


_ADD = """
import json, sys
from vlkit.retrieval.index import DocumentIndex
from vlkit.retrieval.embedders import SentenceTransformerEmbedder
kb = DocumentIndex(sys.argv[1], embedder=SentenceTransformerEmbedder(), reader="text", dpi=72)
s = kb.add(sys.argv[2:])
print(json.dumps([[f.path, f.status, f.reason] for f in s.files]))
"""


@pytest.mark.slow
def test_add_with_an_unreadable_folder_ingests_the_rest(locked_tree, run_unprivileged, tmp_path):
    index = tmp_path / "kb"
    proc = run_unprivileged(_ADD, str(index), str(locked_tree), str(locked_tree / "locked" / "inside.pdf"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    got = {Path(p).relative_to(locked_tree).as_posix(): status for p, status, _ in json.loads(proc.stdout)}
    assert got == {"good.pdf": "added", "locked": "failed", "locked/inside.pdf": "failed", "open/ok.pdf": "added"}


def test_unsupported_types_are_skipped_with_the_types_vlkit_reads(make_index, tmp_path, text_pdf):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(text_pdf, folder / "manual.pdf")
    for name, data in (("notes.txt", b"plain text"), ("page.html", b"<p>x</p>"), ("photo.webp", b"RIFF....WEBP"),
                       ("backup.gz", b"\x1f\x8b\x08\x00"), ("README", b"no suffix")):
        (folder / name).write_bytes(data)
    found = {f.path.name: f for f in discover([folder])}
    assert found["manual.pdf"].status is None
    summary = make_index(reader="text").add(folder)
    assert [Path(f.path).name for f in summary.by_status("added")] == ["manual.pdf"] and summary.failed == []
    skipped = {Path(f.path).name: f.reason for f in summary.skipped}
    assert set(skipped) == {"notes.txt", "page.html", "photo.webp", "backup.gz", "README"}
    assert "unsupported file type '.webp'" in skipped["photo.webp"] and "'(none)'" in skipped["README"]
    assert all(", ".join(SUPPORTED_SUFFIXES) in r for r in skipped.values())
    assert summary.supported_suffixes == SUPPORTED_SUFFIXES == (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


def test_image_pixel_limit_defaults_to_64_mp_and_is_an_option(make_index, tmp_path, docs):
    from vlkit.vision.limits import ImageLimits

    assert MAX_IMAGE_PIXELS == ImageLimits().max_pixels == 64_000_000  # the README's 64 MP, as ChatQwenVL's
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "55mp.png").write_bytes(docs.png_header_only(11_000, 5_000))  # 55 MP: refused at 50 MP before
    (folder / "70mp.png").write_bytes(docs.png_header_only(10_000, 7_000))
    default = {Path(f.path).name: f for f in make_index("a").add(folder).files}
    assert "over the limit" not in (default["55mp.png"].reason or "")  # past the size check (then: corrupt body)
    assert "70,000,000 pixels, over the limit of 64,000,000" in default["70mp.png"].reason
    assert "max_image_pixels" in default["70mp.png"].reason
    raised = {Path(f.path).name: f for f in make_index("b", max_image_pixels=80_000_000).add(folder).files}
    assert "over the limit" not in (raised["70mp.png"].reason or "")
    lowered = {Path(f.path).name: f for f in make_index("c", max_image_pixels=1_000_000).add(folder).files}
    assert "over the limit of 1,000,000" in lowered["55mp.png"].reason


def test_summary_reports_pages_and_wall_time(make_index, text_pdf, chinese_pdf):
    summary = make_index().add([text_pdf, chinese_pdf])
    assert [(f.status, f.pages, f.page_count) for f in summary.files] == [("added", 3, 3), ("added", 2, 2)]
    assert summary.pages == 5 and summary.wall_s > 0 and all(0 < f.seconds <= summary.wall_s for f in summary.files)
    assert summary.pages_per_s == pytest.approx(5 / summary.wall_s)


def test_summary_splits_the_time_by_stage(make_index, text_pdf, chinese_pdf, scanned_chinese_png):
    summary = make_index().add([text_pdf, chinese_pdf, scanned_chinese_png])  # an image file's page image: image_s
    stages = summary.stages.as_dict()
    assert list(stages) == ["open_s", "text_s", "chunk_s", "embed_s", "embed_wait_s", "render_s", "image_s",
                            "image_wait_s", "upsert_s", "commit_s"]
    raw = vars(summary.stages)  # as_dict rounds to milliseconds: chunking six short pages can take less
    for name in ("open_s", "text_s", "chunk_s", "embed_s", "render_s", "image_s", "upsert_s", "commit_s"):
        assert 0 < raw[name] <= summary.wall_s, name  # each stage was timed, inside the ingest's wall time
    assert stages["embed_wait_s"] <= stages["embed_s"] + 0.05
    assert stages["image_wait_s"] <= stages["image_s"] + 0.05


def test_a_page_that_cannot_be_read_keeps_the_pages_before_it(make_index, docs, tmp_path):
    from vlkit.documents import TextLayerReader
    from vlkit.errors import DocumentError

    class FailsOnPage3(TextLayerReader):
        name = "text"

        def read_page(self, page):
            if page.number == 3:
                raise DocumentError("page 3 is damaged")
            return super().read_page(page)

    pdf = docs.text_pdf(tmp_path / "three.pdf")
    index = make_index()
    index._readers["flaky"] = FailsOnPage3()
    first = index.add(pdf, reader="flaky").files[0]
    assert first.status == "failed" and "page 3 is damaged" in first.reason
    [doc] = index.documents()
    assert (doc.state, doc.pages_done) == ("pending", 2)  # pages 1 and 2 were committed, with their images
    assert all(index.images.existing(index.manifest.page(doc.doc_id, p).image_sha) for p in (1, 2))
    again = index.add(pdf).files[0]
    assert (again.status, again.pages) == ("resumed", doc.pages - 2)
    [doc] = index.documents()
    assert (doc.state, doc.pages_done) == ("complete", doc.pages)
    stored = index.store.collection.get(where={"doc_id": doc.doc_id}, include=["metadatas"])
    chunks = {c.id: c for c in index.chunks(doc.doc_id)}
    assert sorted(stored["ids"]) == sorted(chunks) and len(chunks) == index.manifest.count_chunks(doc.doc_id)
    for chunk_id, meta in zip(stored["ids"], stored["metadatas"]):  # every vector is its chunk's, on its page
        chunk = chunks[chunk_id]
        assert meta == {"doc_id": doc.doc_id, "page": chunk.page, "chunk_index": int(chunk_id.rsplit(":", 1)[1])}
        sha = index.manifest.page(doc.doc_id, chunk.page).image_sha
        assert chunk.image_path == str(index.images.existing(sha))  # and names its page's stored image


def test_blank_pages_are_not_sent_to_ocr(make_index, docs, tmp_path):
    import pymupdf

    from vlkit.documents import AutoReader, PageLines, PageReader

    class CountingOCR(PageReader):
        name = "rapidocr"

        def __init__(self) -> None:
            self.calls: list[int] = []

        def read_page(self, page):
            self.calls.append(page.number)
            return PageLines(page.number, "Desert Oasis", [], self.name)

    pdf = pymupdf.open()
    docs.text_page(pdf, "Introduction", ["A glacier carves valleys over many centuries."])
    pdf.new_page()  # left blank: no text layer, no image, one colour
    scan = pdf.new_page()
    scan.insert_image(scan.rect, stream=docs.scan_png([("Desert Oasis", 24)]))
    pdf.save(tmp_path / "blank.pdf")
    index = make_index()
    ocr = CountingOCR()
    index._readers["auto"] = AutoReader(ocr=ocr)
    assert index.add(tmp_path / "blank.pdf").files[0].status == "added"
    assert ocr.calls == [3]  # the scanned page only; the blank one was not read
    doc_id = index.documents()[0].doc_id
    assert [index.manifest.page(doc_id, p).reader for p in (1, 2, 3)] == ["text", "rapidocr", "rapidocr"]
    assert index.page_text(doc_id, 2) == "" and index.page_text(doc_id, 3) == "Desert Oasis"
    assert index.page_image(doc_id, 2) is not None  # the blank page still has its image
