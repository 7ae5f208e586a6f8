"""Issue 9 item 9: one writer per index. A second ``add`` waits with a message (or, with
``lock_timeout``, refuses with :class:`IndexBusyError`); searches never wait. Real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ingest_worker.py")


def _start(index: Path, timeout: str, delay: float, *paths: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen([sys.executable, str(WORKER), str(index), timeout, str(delay), *map(str, paths)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(proc: subprocess.Popen, prefix: str) -> str:
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no '{prefix}' line; stderr: {proc.stderr.read()[-3000:]}")


@pytest.mark.slow
def test_second_writer_waits_or_refuses_and_readers_do_not_block(tmp_path, docs):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        docs.text_pdf(folder / f"doc{i}.pdf")
        import pymupdf

        with pymupdf.open(folder / f"doc{i}.pdf") as d:  # different bytes per file
            d.new_page().insert_text((72, 72), f"file number {i}")
            d.saveIncr()
    index = tmp_path / "kb"
    first = _start(index, "none", 3.0, folder)
    try:
        _wait_for(first, "progress 0 ")  # holds the lock now, and keeps it for several slow batches
        refused = _start(index, "0", 0.0, folder)
        waiting = _start(index, "none", 0.0, folder)
        out, err = refused.communicate(timeout=300)
        assert refused.returncode == 0 and "Traceback" not in err, err
        assert "error IndexBusyError" in out and "being written by another process (pid" in out, out
        assert "wait for it to finish and run again" in out
        busy = _wait_for(waiting, "busy ")
        assert f"pid {first.pid} on" in busy and "waiting for it to finish" in busy

        # a reader in this process opens and searches the index while both writers run
        from vlkit.retrieval.index import DocumentIndex

        kb = DocumentIndex(index)
        try:
            assert kb.lock_holder() is not None and kb.lock_holder().startswith(f"pid {first.pid} ")
            kb.documents()
            kb.dense_search("invoice total", 3)
        finally:
            kb.close()

        first_out, _ = first.communicate(timeout=300)
        assert json.loads(first_out.split("done ", 1)[1])["statuses"] == ["added"] * 3
        out, err = waiting.communicate(timeout=300)
        done = json.loads(out.split("done ", 1)[1])
        assert done["statuses"] == ["unchanged"] * 3 and done["pages"] == 0 and done["waited_s"] > 0  # no work doubled
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_lock_is_free_again_after_add_and_after_a_kill(tmp_path, text_pdf, make_index):
    kb = make_index()
    kb.add(text_pdf)
    assert kb.lock_holder() is None
    hold = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from vlkit.retrieval.ingest import IngestLock; "
        f"l = IngestLock(__import__('pathlib').Path({str(kb.path / 'ingest.lock')!r})); l.acquire(); "
        "print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout.readline().strip() == "held"
        assert kb.lock_holder().startswith(f"pid {hold.pid} ")
        from vlkit.errors import IndexBusyError

        busy = make_index(lock_timeout=0.3)
        with pytest.raises(IndexBusyError, match="being written by another process"):
            busy.add(text_pdf)
    finally:
        hold.kill()
        hold.wait()
    assert kb.lock_holder() is None  # the OS dropped the dead holder's lock
    assert kb.add(text_pdf).files[0].status == "unchanged"
