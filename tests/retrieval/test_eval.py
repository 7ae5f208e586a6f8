"""Eval metrics on hand-computed examples, the bundled eval set, and `vlkit kb eval` / `vlkit kb ask`."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from vlkit.cli import app
from vlkit.errors import InvalidArgumentError, UserError
from vlkit.retrieval.eval import (
    QUESTION_TYPES,
    EvalQuestion,
    load_questions,
    recall_at_k,
    reciprocal_rank,
    score_rankings,
)
from vlkit.retrieval.evalset import generate, questions_path

pymupdf = pytest.importorskip("pymupdf")


def test_metrics_hand_computed():
    gold = {("a.pdf", 3), ("a.pdf", 4)}
    ranked = [("a.pdf", 1), ("b.pdf", 3), ("a.pdf", 4), ("a.pdf", 3)]
    assert recall_at_k(ranked, gold, 1) == 0.0 and recall_at_k(ranked, gold, 3) == 1.0
    assert reciprocal_rank(ranked, gold, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, gold, 2) == 0.0
    qs = [
        EvalQuestion("q1", "a.pdf", (1,), "en", "en"),
        EvalQuestion("q2", "a.pdf", (2,), "zh", "en"),
        EvalQuestion("q3", "b.pdf", (9,), "zh", "zh"),
    ]
    rankings = [[("a.pdf", 1)], [("a.pdf", 5), ("a.pdf", 2)], [("b.pdf", p) for p in range(1, 12)]]
    report = score_rankings(qs, rankings)
    # ranks 1, 2, 9: R@1 = 1/3, R@5 = 2/3, MRR@10 = (1 + 1/2 + 1/9) / 3
    assert report.overall.recall_at_1 == pytest.approx(1 / 3)
    assert report.overall.recall_at_5 == pytest.approx(2 / 3)
    assert report.overall.mrr_at_10 == pytest.approx((1 + 0.5 + 1 / 9) / 3)
    assert report.ranks == [1, 2, 9]
    assert report.groups["cross-lingual"].n == 1 and report.groups["cross-lingual"].mrr_at_10 == 0.5
    assert report.groups["zh"].recall_at_5 == 0.5 and report.groups["en"].recall_at_1 == 1.0


def test_type_groups_and_pages_of_other_files():
    qs = [
        EvalQuestion("q1", "a.pdf", (1,), "en", "en", type="how-to"),
        EvalQuestion("q2", "a.pdf", (2,), "zh", "en", type="fact"),
        # also-gold: b.pdf p.7 answers too, so ranking it first is a hit at rank 1
        EvalQuestion("q3", "a.pdf", (3,), "en", "en", type="how-to", also=(("b.pdf", 7),)),
        EvalQuestion("q4", "a.pdf", (4,), "en", "en"),  # no type: counted overall, in no type group
    ]
    rankings = [[("a.pdf", 9), ("a.pdf", 1)], [("a.pdf", 2)], [("b.pdf", 7), ("a.pdf", 3)], [("a.pdf", 4)]]
    report = score_rankings(qs, rankings)
    assert report.ranks == [2, 1, 1, 1]
    assert list(report.types) == ["how-to", "fact"]  # QUESTION_TYPES order, only the types present
    assert report.types["how-to"].n == 2 and report.types["how-to"].recall_at_1 == 0.5
    assert report.types["how-to"].mrr_at_10 == pytest.approx(0.75) and report.types["fact"].recall_at_1 == 1.0
    data = report.as_dict()
    assert set(data) == {"all", "en", "zh", "cross-lingual", "type:how-to", "type:fact"}
    assert data["all"]["n"] == 4 and data["all"]["recall@1"] == 0.75
    assert all(set(m) == {"n", "recall@1", "recall@5", "mrr@10"} for m in data.values())


def test_load_questions_reads_the_optional_fields(tmp_path):
    f = tmp_path / "q.jsonl"
    rows = [
        {"question": "how do I hold a package", "file": "faq.pdf", "pages": [40], "lang": "en", "doc_lang": "en",
         "type": "how-to", "evidence": "apt-mark hold package_name", "also": [{"file": "ref.pdf", "pages": [85, 86]}]},
        {"question": "什么是虚拟包", "file": "faq.pdf", "pages": 38, "lang": "zh", "doc_lang": "en"},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    a, b = load_questions(f)
    assert a.type == "how-to" and a.evidence == "apt-mark hold package_name"
    assert a.gold == {("faq.pdf", 40), ("ref.pdf", 85), ("ref.pdf", 86)}
    assert b.type == "" and b.evidence == "" and b.also == () and b.pages == (38,) and b.cross_lingual


def test_unknown_type_names_the_valid_ones(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "a", "file": "x.pdf", "pages": [1], "lang": "en", "type": "howto"}\n')
    with pytest.raises(InvalidArgumentError, match=r"q.jsonl:1: unknown question type 'howto'") as err:
        load_questions(f)
    assert all(t in str(err.value) for t in QUESTION_TYPES)
    f.write_text('{"question": "a", "file": "x.pdf", "pages": [0], "lang": "en"}\n')
    with pytest.raises(UserError, match="1-based"):
        load_questions(f)
    f.write_text('{"question": "a", "file": "x.pdf", "pages": [1], "also": [{"pages": [2]}]}\n')
    with pytest.raises(UserError, match=r"q.jsonl:1: not a labelled question"):
        load_questions(f)


def test_load_questions_names_the_bad_line(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "a", "file": "x.pdf", "pages": [1], "lang": "en"}\n{"question": "b"}\n')
    with pytest.raises(UserError, match=r"q.jsonl:2"):
        load_questions(f)
    with pytest.raises(UserError, match="does not exist"):
        load_questions(tmp_path / "missing.jsonl")


def test_bundled_eval_set_is_deterministic_and_consistent(tmp_path):
    a = generate(tmp_path / "a")
    b = generate(tmp_path / "b", scanned=False)
    digest = lambda d: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir()}  # noqa: E731
    assert digest(a.text_dir) == digest(b.text_dir)
    assert a.pages >= 40 and len(list(a.text_dir.iterdir())) >= 4
    qs = load_questions(a.questions)
    assert len(qs) >= 30 and sum(q.cross_lingual and q.lang == "zh" for q in qs) >= 8
    page_counts = {p.name: pymupdf.open(p).page_count for p in a.text_dir.iterdir()}
    for q in qs:
        assert q.file in page_counts and all(1 <= p <= page_counts[q.file] for p in q.pages), q
    zh = pymupdf.open(a.text_dir / "lantern-gateway-zh.pdf")
    assert "限流与熔断" in zh[3].get_text()
    for pdf in a.scanned_dir.iterdir():  # image-only: nothing for a text-layer reader
        doc = pymupdf.open(pdf)
        assert doc.page_count == page_counts[pdf.name]
        assert all(not page.get_text().strip() and page.get_images() for page in doc)
    assert questions_path().read_text(encoding="utf-8") == a.questions.read_text(encoding="utf-8")


@pytest.fixture
def cli_index(make_index, text_pdf, chinese_pdf, tmp_path):
    index = make_index("cli_kb")
    index.add([text_pdf, chinese_pdf])
    path = index.path
    index.close()
    return path


def test_kb_eval_cli(cli_index, text_pdf, chinese_pdf, tmp_path, monkeypatch):
    rows = [
        {"question": "basalt magma volcanoes", "file": text_pdf.name, "pages": [3], "lang": "en", "type": "fact"},
        {"question": "chlorophyll sunlight sugar", "file": text_pdf.name, "pages": [2], "lang": "en",
         "type": "definition", "evidence": "chlorophyll"},
        {"question": "人工智能", "file": chinese_pdf.name, "pages": [2], "lang": "zh", "doc_lang": "zh"},
    ]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    monkeypatch.setenv("VLKIT_INDEX", str(cli_index))
    res = CliRunner().invoke(app, ["kb", "eval", str(qfile), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["all"] == {"n": 3, "recall@1": 1.0, "recall@5": 1.0, "mrr@10": 1.0}
    assert data["zh"]["n"] == 1 and data["en"]["n"] == 2
    assert data["type:fact"]["n"] == 1 and data["type:definition"]["n"] == 1 and "type:how-to" not in data
    monkeypatch.setenv("COLUMNS", "120")
    res = CliRunner().invoke(app, ["kb", "eval", str(qfile), "--index", str(cli_index)])
    assert res.exit_code == 0 and "Recall@5" in res.output and "1.000" in res.output
    table_rows = [line for line in res.output.splitlines() if "type:" in line or " zh " in line]
    assert len(table_rows) == 3 and any("type:definition" in r for r in table_rows)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a", "file": "x.pdf", "pages": [1], "type": "trivia"}\n')
    res = CliRunner().invoke(app, ["kb", "eval", str(bad), "--index", str(cli_index)])
    assert res.exit_code != 0 and "valid types: how-to, definition, numeric, fact" in str(res.exception)


def test_kb_eval_cli_without_index(tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"question": "a", "file": "x.pdf", "pages": [1], "lang": "en"}\n')
    res = CliRunner().invoke(app, ["kb", "eval", str(qfile), "--index", str(tmp_path / "nope")])
    assert res.exit_code != 0 and "no index at" in str(res.exception)


@pytest.mark.slow
def test_kb_ask_cli_with_tiny_model(cli_index, text_pdf):
    from vlkit import testing

    model = str(testing.tiny_checkpoint("qwen2_vl"))
    res = CliRunner().invoke(app, ["kb", "ask", "Where does basalt magma erupt?", "--index", str(cli_index),
                                   "--model", model, "--max-tokens", "4", "--max-images", "1"])
    assert res.exit_code == 0, res.output
    assert "Sources:" in res.output and f"[{text_pdf.name} p.3]" in res.output
