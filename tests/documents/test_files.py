"""Opening files: what vlkit reads, names that are not UTF-8, folders that cannot be listed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vlkit.documents import SUPPORTED_SUFFIXES, discover, display_name, open_document
from vlkit.errors import DocumentError, ImageTooLargeError

BAD_NAME = b"b_na\xefve_\xff"
"""Latin-1 bytes: not valid UTF-8 (a name like ``b_na\\xefve_\\xff.png``)."""


def test_display_name_escapes_only_what_cannot_be_encoded():
    assert display_name("report[final].pdf") == "report[final].pdf"
    assert display_name("中文.pdf") == "中文.pdf"
    assert display_name(os.fsdecode(BAD_NAME)) == "b_na\\xefve_\\xff"
    assert display_name("lone\ud800") == "lone\\xed\\xa0\\x80"


_DISCOVER = """
import json, sys
from vlkit.documents import discover
print(json.dumps([[str(f.path), f.status, f.reason] for f in discover(sys.argv[1:])]))
"""


def test_unreadable_subfolder_and_argument_are_reported_per_path(locked_tree, run_unprivileged):
    locked = locked_tree / "locked"
    proc = run_unprivileged(_DISCOVER, str(locked_tree), str(locked), str(locked / "inside.pdf"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    got = {Path(p).relative_to(locked_tree).as_posix(): (status, reason) for p, status, reason in json.loads(proc.stdout)}
    assert got["good.pdf"] == (None, None) and got["open/ok.pdf"] == (None, None)
    status, reason = got["locked"]  # the subfolder (met while walking) and the argument are one path
    assert status == "failed" and "folder cannot be read (permission denied)" in reason
    status, reason = got["locked/inside.pdf"]
    assert status == "failed" and "permission denied" in reason


def test_bad_files_are_refused_before_any_page_is_read(docs, tmp_path):
    bad = docs.bad_files(tmp_path / "bad")
    expected = {
        "encrypted": (DocumentError, "password-protected"),
        "corrupt": (DocumentError, "not a readable PDF"),
        "zero_pages": (DocumentError, "has no pages"),
        "unsupported": (DocumentError, "unsupported file type '.docx'"),
        "bomb": (ImageTooLargeError, "2,500,000,000 pixels"),
    }
    for name, (error, words) in expected.items():
        with pytest.raises(error, match=words):
            open_document(bad[name])


def test_discover_lists_every_path_with_what_happens_to_it(tmp_path, text_pdf):
    (tmp_path / "docs" / ".hidden").mkdir(parents=True)
    (tmp_path / "docs" / "notes.txt").write_text("x")
    (tmp_path / "docs" / ".hidden" / "secret.pdf").write_bytes(text_pdf.read_bytes())
    (tmp_path / "docs" / "b.pdf").write_bytes(text_pdf.read_bytes())
    found = discover([tmp_path / "docs", tmp_path / "docs" / "b.pdf", tmp_path / "missing.pdf"])
    got = {f.path.name: (f.status, f.reason) for f in found}
    assert got["b.pdf"] == (None, None)  # named twice, listed once
    assert got["notes.txt"][0] == "skipped" and ", ".join(SUPPORTED_SUFFIXES) in got["notes.txt"][1]
    assert got["missing.pdf"] == ("failed", "no such file or folder")
    assert "secret.pdf" not in got and len(found) == 3
