"""Issue 25.9 and the invoice half of 25.12: `vlkit invoice A B C` reports each file and reads the good ones.

`vlkit invoice corrupt.pdf empty.pdf receipt.png` used to stop at the first bad file (exit 2) and read
nothing; and "0 of 1 invoice(s) passed" ended with exit 0. The model is a scripted OpenAI-compatible
server on 127.0.0.1, so the checks' outcome is chosen by the test.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.kb_helpers import ZERO_PAGE_PDF, write_pdf
from tests.models.openai_server import text_stream

PASSING = {"document_type": "receipt", "total": "12.50", "currency": "EUR"}
"""Every check passes on the receipt below: the total is printed on its page."""
FAILING = {"document_type": "receipt", "total": "99.99", "currency": "EUR"}
"""The total is not on the page: the grounding check fails."""


@pytest.fixture
def receipt(tmp_path):
    return write_pdf(tmp_path / "receipt.pdf", [("Receipt", "Coffee 12.50 EUR. Total 12.50 EUR")])


def _run(vlkit_main, server, *files, answers=(PASSING,), extra=()):
    server.queue(*(text_stream([json.dumps(a)]) for a in answers))
    return vlkit_main("invoice", *files, "--reader", "text", "--no-reask", "--base-url", server.base_url,
                      "--family", "qwen2_vl", *extra)


def test_bad_files_are_reported_and_the_good_one_is_read(vlkit_main, openai_server, tmp_path, receipt):
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7 this is not a PDF")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(ZERO_PAGE_PDF)
    out = tmp_path / "out.jsonl"
    res = _run(vlkit_main, openai_server, corrupt, empty, receipt, extra=("--json", str(out)))
    assert "Traceback" not in res.output
    assert res.code == 1, res.output  # non-zero, but only after every file was handled
    err = " ".join(res.err.split())
    assert f"failed {corrupt}" in err and f"failed {empty}" in err, res.err
    assert "receipt.pdf (1 page, read by text)" in " ".join(res.out.split())  # the good file was read
    assert "1 of 1 invoice passed every check; 2 of 3 files could not be read: corrupt.pdf, empty.pdf" in err
    assert len(openai_server.requests) == 1  # only the good file reached the model
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["source"] for r in rows] == [str(corrupt), str(empty), str(receipt)]
    assert rows[0]["error"] and rows[1]["error"] and rows[2]["error"] is None and rows[2]["invoice"]["total"] == "12.50"


def test_only_bad_files_load_no_model(vlkit_main, tmp_path):
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"garbage")
    res = vlkit_main("invoice", corrupt, "--tiny", "qwen2_vl")
    assert res.code == 1 and f"failed {corrupt}" in " ".join(res.err.split()), res.output
    assert "tiny random" not in res.err and "0 of 0 invoices passed" in res.err


@pytest.mark.parametrize("answer, code", [(PASSING, 0), (FAILING, 1)], ids=["passed", "failed"])
def test_exit_status_says_whether_the_checks_passed(vlkit_main, openai_server, receipt, answer, code):
    res = _run(vlkit_main, openai_server, receipt, answers=(answer,))
    assert res.code == code, res.output
    assert f"{1 if code == 0 else 0} of 1 invoice passed every check" in res.err


def test_a_missing_server_stops_the_batch_with_one_error(vlkit_main, tmp_path, receipt):
    """Not a per-file failure: every file would fail the same way."""
    res = vlkit_main("invoice", receipt, receipt, "--reader", "text", "--base-url", "http://127.0.0.1:9/v1",
                     "--family", "qwen2_vl")
    assert res.code == 2 and "cannot reach the server" in res.err and res.err.count("error:") == 1, res.output
