"""Property-based fuzz of KB ingest (issue 9): random file names and random bytes under the
extensions vlkit reads, mixed with a good PDF, in one ``add``.

Invariant: ``add`` returns (no traceback); each file is added, skipped or failed with a reason; the
good PDF in the same call is added and searchable under its (display) name. Bounded and derandomised
for the suite (10 examples, ~1 min); a longer run:
``VLKIT_FUZZ_EXAMPLES=500 python -m pytest tests/retrieval/test_fuzz_ingest.py``.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlkit.retrieval.ingest import STATUSES
from vlkit.documents import display_name

EXAMPLES = int(os.environ.get("VLKIT_FUZZ_EXAMPLES", "10"))
SUFFIXES = [b".png", b".jpg", b".jpeg", b".pdf", b".tiff", b".tif", b".PDF", b".txt", b""]
NAME_MAX = 255

_raw_names = st.binary(min_size=1, max_size=60)
_text_names = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/\0"), min_size=1, max_size=40)
_bracketed = st.sampled_from([b"report[final]", b"[/b] notes", b"a  b  c", b" lead", b"x]y[", b"\xe4\xb8\xad\xe6\x96\x87 [x]"])
_stems = st.one_of(_raw_names, _text_names.map(lambda s: s.encode("utf-8")), _bracketed,
                   st.integers(200, NAME_MAX - 6).map(lambda n: b"L" * n))


def _png_head(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


_contents = st.one_of(
    st.binary(max_size=3000),
    st.tuples(st.integers(1, 5000), st.integers(1, 5000), st.binary(max_size=500)).map(lambda t: _png_head(t[0], t[1]) + t[2]),
    st.binary(max_size=800).map(lambda b: b"%PDF-1.7\n" + b),
    st.binary(max_size=800).map(lambda b: b"II*\x00" + b),  # a TIFF header, then noise
    st.binary(max_size=800).map(lambda b: b"\xff\xd8\xff\xe0" + b),  # a JPEG header, then noise
)


def _name(stem: bytes, suffix: bytes) -> bytes:
    name = (stem.replace(b"/", b"_").replace(b"\0", b"_") + suffix)[-NAME_MAX:]
    return b"_" + name[1:] if name.startswith(b".") else name  # hidden files are left out by design


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(bad=st.lists(st.tuples(_stems, st.sampled_from(SUFFIXES), _contents), min_size=1, max_size=5),
       good_stem=_stems)
def test_random_names_and_bytes_never_break_an_add(bad, good_stem, embedder, text_pdf):
    from vlkit.retrieval.index import DocumentIndex
    from vlkit.retrieval.search import HybridSearcher

    root = Path(tempfile.mkdtemp(prefix="vlkit-fuzz-"))
    try:
        folder = os.fsencode(root / "in")
        os.mkdir(folder)
        good = _name(good_stem, b".pdf")
        shutil.copyfile(text_pdf, os.path.join(folder, good))
        for stem, suffix, data in bad:
            name = _name(stem, suffix)
            if name != good:
                with open(os.path.join(folder, name), "wb") as fh:
                    fh.write(data)
        kb = DocumentIndex(root / "kb", embedder=embedder, reader="text", dpi=72)
        try:
            summary = kb.add(os.fsdecode(folder))
            for f in summary.files:
                assert f.status in STATUSES, f
                assert (f.reason is not None) == (f.status in ("failed", "skipped")), f
                f.display_path.encode("utf-8")
                (f.reason or "").encode("utf-8")
            good_name = display_name(os.fsdecode(good))
            mine = next(f for f in summary.files if os.fsencode(f.path).endswith(b"/" + good))
            assert mine.status in ("added", "unchanged") and mine.pages in (0, 3), mine  # unchanged: a bad file had its bytes
            assert kb.dense_search("chlorophyll sunlight", 1)[0][0].page == 2
            found = {c.file_name for c, _ in HybridSearcher(kb).lexical_search("chlorophyll", 5)}
            assert found & {good_name} or mine.status == "unchanged", (found, good_name)
        finally:
            kb.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

