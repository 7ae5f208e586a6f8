"""The content-addressed page-image store."""

from __future__ import annotations

import hashlib
import os
import time

from vlkit.retrieval.page_images import PageImageStore


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
