"""The content-addressed page-image store."""

from __future__ import annotations

import hashlib
import os
import time

from vlkit.retrieval.store import PageImageStore


def test_save_is_content_addressed_and_deduplicated(tmp_path):
    store = PageImageStore(tmp_path / "pages")
    sha = store.save(b"\x89PNG one")
    assert sha == hashlib.sha256(b"\x89PNG one").hexdigest() and store.save(b"\x89PNG one") == sha
    assert store.existing(sha) == store.path(sha) and store.path(sha).read_bytes() == b"\x89PNG one"
    assert store.existing(None) is None and store.existing("0" * 64) is None
    assert [p.name for p in store.folder.iterdir()] == [f"{sha}.png"]  # no temp file left
    store.delete([sha, "0" * 64])
    assert store.existing(sha) is None


def test_orphans_go_only_when_old_and_unreferenced(tmp_path):
    store = PageImageStore(tmp_path / "pages")
    keep, old, young = store.save(b"keep"), store.save(b"old"), store.save(b"young")
    tmp = store.folder / f".{old}.123.tmp"  # a temp file of a killed writer
    tmp.write_bytes(b"half")
    past = time.time() - 3600
    for p in (store.path(keep), store.path(old), tmp):
        os.utime(p, (past, past))
    store.collect_orphans({keep})
    assert store.existing(keep) and store.existing(young) and not store.existing(old) and not tmp.exists()


def _pdf(path, pages=2):
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page(width=300, height=200).insert_text((30, 60), f"page {i + 1}", fontsize=20)
    doc.save(path)
    return path.read_bytes()


def test_a_render_key_renders_its_pdf_page_once_and_only_when_asked(tmp_path):
    import numpy as np
    import pymupdf
    from PIL import Image

    from vlkit.retrieval.store import render_key
    from vlkit.documents import render_pdf_page

    data = _pdf(tmp_path / "a.pdf")
    sha = hashlib.sha256(data).hexdigest()
    store = PageImageStore(tmp_path / "kb" / "pages")
    assert store.sources == tmp_path / "kb" / "sources"
    key = render_key(sha, 2, 100)
    assert store.existing(key) is None  # no PDF copy yet: no image, no error
    store.save_source(sha, data)
    assert list(store.folder.iterdir()) == []  # keeping the PDF renders nothing
    path = store.existing(key)
    assert path == store.path(key) and path.is_file()
    with pymupdf.open(tmp_path / "a.pdf") as doc:
        want = render_pdf_page(doc.load_page(1), 100)
    assert want.shape == (278, 417, 3) and np.array_equal(np.asarray(Image.open(path).convert("RGB")), want)
    mtime = path.stat().st_mtime_ns
    assert store.existing(key) == path and path.stat().st_mtime_ns == mtime  # kept, not rendered again
    assert store.existing(render_key(sha, 3, 100)) is None  # past the last page
    store.delete_source(sha)
    assert not path.exists() and not store.source_path(sha).exists()


def test_a_poster_page_is_rendered_within_max_pixels(tmp_path):
    from vlkit.retrieval.store import render_key

    data = _pdf(tmp_path / "a.pdf", pages=1)
    sha = hashlib.sha256(data).hexdigest()
    store = PageImageStore(tmp_path / "pages", max_pixels=10_000)
    store.save_source(sha, data)
    from PIL import Image

    w, h = Image.open(store.existing(render_key(sha, 1, 300))).size
    assert w * h <= 10_000 * 1.02 and abs(w / h - 1.5) < 0.05  # to a pixel's rounding on each side


def test_orphaned_pdf_copies_go_with_keep_sources(tmp_path):
    store = PageImageStore(tmp_path / "pages")
    store.save_source("a" * 64, b"%PDF a")
    store.save_source("b" * 64, b"%PDF b")
    past = time.time() - 3600
    for sha in ("a", "b"):
        os.utime(store.source_path(sha * 64), (past, past))
    store.collect_orphans(set())  # without keep_sources the copies are not looked at
    assert store.source_path("b" * 64).exists()
    store.collect_orphans(set(), keep_sources={"a" * 64})
    assert store.source_path("a" * 64).exists() and not store.source_path("b" * 64).exists()
