"""SIGKILL an ingest at several points; the index must stay consistent and a re-run must finish it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pymupdf = pytest.importorskip("pymupdf")

WORKER = Path(__file__).with_name("crash_worker.py")
DOCS, PAGES = 3, 10


def _corpus(folder: Path) -> None:
    folder.mkdir()
    for d in range(DOCS):
        doc = pymupdf.open()
        for p in range(PAGES):
            page = doc.new_page()
            page.insert_text((72, 80), f"Topic {d}-{p}", fontsize=20)
            y = 120
            for line in range(12):
                page.insert_text((72, y), f"Document {d} page {p} line {line} talks about item {d * 100 + p}.",
                                 fontsize=11)
                y += 18
        doc.save(folder / f"doc{d}.pdf")


def _start(index: Path, docs: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, str(WORKER), str(index), str(docs)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)


def _assert_consistent(check: dict) -> None:
    assert check["dup_ids"] == 0 and check["dup_texts"] == 0, check
    assert check["invisible_in_chunks"] == [] and check["incomplete_visible"] == [], check
    assert check["chroma_mismatch"] == 0 and check["hits_from_incomplete"] == 0, check
    assert check["hits"] == min(5, check["chunks"]), check


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path):
    docs, index = tmp_path / "docs", tmp_path / "kb"
    _corpus(docs)
    rng = random.Random(1234)
    # (pages this run must have committed before the kill, extra random delay): the first kill
    # lands during start-up, the others mid-ingest at different distances from a commit.
    plan = [(None, rng.uniform(0.0, 0.5))] + [(1, rng.uniform(0.0, 0.6)) for _ in range(3)]
    kills_mid_ingest = 0
    for min_pages, delay in plan:
        proc = _start(index, docs)
        check = None
        for line in proc.stdout:
            if line.startswith("check "):
                check = json.loads(line[6:])
                if min_pages is None:
                    break
            elif line.startswith("progress ") and min_pages is not None:
                done, total = map(int, line.split()[1:])
                if done >= min_pages:
                    kills_mid_ingest += done < total
                    break
        assert check is not None, "the worker could not open the index a killed run left behind"
        _assert_consistent(check)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert kills_mid_ingest >= 2

    proc = _start(index, docs)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    lines = out.splitlines()
    _assert_consistent(json.loads(next(l for l in lines if l.startswith("check "))[6:]))
    done = json.loads(next(l for l in lines if l.startswith("done "))[5:])
    _assert_consistent(done["check"])
    assert done["check"]["complete"] == DOCS and done["check"]["pending"] == 0

    # a fresh open in this process sees every page exactly once
    from vlkit.retrieval.index import DocumentIndex

    kb = DocumentIndex(index, dpi=72, reader="text")
    try:
        pages = {}
        for c in kb.chunks():
            pages.setdefault((c.doc_id, c.page), []).append(c.id)
        assert len(pages) == DOCS * PAGES
        for d in kb.documents():
            for p in range(1, PAGES + 1):
                assert f"item {int(d.file_name[3]) * 100 + p - 1}." in kb.page_text(d.doc_id, p)
                assert kb.page_image(d.doc_id, p) is not None
        again = kb.add([docs])
        assert {f.status for f in again.files} == {"unchanged"}
    finally:
        kb.close()
