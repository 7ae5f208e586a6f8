"""The dev set: its question file is well-formed (offline), and its rebuild script reproduces the PDFs the
labels were written on (slow: ``apt-get download`` of ~3.4 MB of Debian documentation packages)."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter

import pytest

from vlkit.retrieval.eval import QUESTION_TYPES, load_questions

pymupdf = pytest.importorskip("pymupdf")

FIELDS = {"question", "file", "pages", "lang", "doc_lang", "type", "evidence"}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _page_texts(path):
    with pymupdf.open(path) as doc:
        return [_norm(page.get_text()) for page in doc]


def test_questions_are_well_formed(devset_build, devset_questions, devset_dir):
    docs = {d.file: d for d in devset_build.load_manifest()}
    rows = devset_questions
    assert len(rows) >= 100
    assert len({r["question"] for r in rows}) == len(rows), "duplicate questions"
    for r in rows:
        assert FIELDS <= set(r) <= FIELDS | {"also"}, r
        assert isinstance(r["question"], str) and len(r["question"].strip()) >= 8, r
        assert r["file"] in docs, r
        assert r["pages"] and all(isinstance(p, int) and 1 <= p <= docs[r["file"]].pages for p in r["pages"]), r
        assert r["lang"] in ("en", "zh") and r["doc_lang"] == "en", r
        assert r["type"] in QUESTION_TYPES, r
        assert 10 <= len(r["evidence"]) <= 60, r
        for extra in r.get("also", []):
            assert extra["file"] in docs and extra["file"] != r["file"], r
            assert all(1 <= p <= docs[extra["file"]].pages for p in extra["pages"]), r
        if r["lang"] == "zh":
            assert re.search(r"[\u4e00-\u9fff]", r["question"]), r
    langs, types, files = (Counter(r[k] for r in rows) for k in ("lang", "type", "file"))
    assert langs["zh"] / len(rows) >= 0.15
    assert all(types[t] >= 0.12 * len(rows) for t in QUESTION_TYPES), types
    assert set(files) == set(docs) and min(files.values()) >= 10, files
    zh_types = Counter(r["type"] for r in rows if r["lang"] == "zh")
    assert set(zh_types) == set(QUESTION_TYPES), zh_types
    # the library reads it: every row, optional fields included
    qs = load_questions(devset_dir / "questions.jsonl")
    assert len(qs) == len(rows) and sum(q.cross_lingual for q in qs) == langs["zh"]
    assert sum(bool(q.also) for q in qs) == sum("also" in r for r in rows)


def test_manifest_covers_the_four_manuals(devset_build):
    docs = devset_build.load_manifest()
    assert [d.package for d in docs] == ["debian-faq", "debian-reference-en", "developers-reference", "maint-guide"]
    assert sum(d.pages for d in docs) == 511
    assert all(re.fullmatch(r"[0-9a-f]{64}", d.sha256) and d.version and d.license for d in docs)


def test_unknown_package_is_a_typed_error_naming_the_valid_ones(devset_build, tmp_path):
    with pytest.raises(devset_build.DevsetError, match="unknown package.*debian-faq, debian-reference-en"):
        devset_build.build(tmp_path, ["debian-faqs"])
    assert devset_build.main(["--only", "nope", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_build_one_package_reproduces_the_labelled_pdf(devset_build, devset_questions, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="devset")
    (result,) = devset_build.build(tmp_path, ["debian-faq"])
    faq = next(d for d in devset_build.load_manifest() if d.package == "debian-faq")
    assert [p.name for p in tmp_path.iterdir()] == ["debian-faq.en.pdf"]  # gunzipped, nothing else left behind
    assert result.downloaded and result.version == faq.version and result.matches_manifest
    assert pymupdf.open(result.path).page_count == faq.pages == 73
    texts = _page_texts(result.path)
    about_faq = [r for r in devset_questions if r["file"] == faq.file]
    assert len(about_faq) >= 15
    for r in about_faq:
        assert _norm(r["evidence"]) in texts[r["pages"][0] - 1], r
    assert devset_build.check_evidence([result]) == []
    assert "1/1] debian-faq 11.1" in caplog.text
    # a second run keeps the verified file instead of downloading again
    (again,) = devset_build.build(tmp_path, ["debian-faq"])
    assert not again.downloaded and again.matches_manifest


@pytest.mark.slow
def test_moved_pages_and_missing_versions_are_reported(devset_build, devset_dir, tmp_path, caplog):
    manifest = json.loads((devset_dir / "manifest.json").read_text(encoding="utf-8"))
    faq = next(d for d in manifest["documents"] if d["package"] == "debian-faq")
    faq["version"] = "0.0.1-not-in-debian"  # pinned version gone: the current one is fetched, with a warning
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": [faq]}), encoding="utf-8")
    out = tmp_path / "out"
    (result,) = devset_build.build(out, manifest=tmp_path / "manifest.json")
    assert result.downloaded and result.version != faq["version"]
    assert "no longer in the archive" in caplog.text
    # a label whose page moved is named, with the page that holds the evidence now
    moved = tmp_path / "q.jsonl"
    moved.write_text(json.dumps({"question": "hold a package?", "file": faq["file"], "pages": [12],
                                 "evidence": "apt-mark hold package_name"}) + "\n", encoding="utf-8")
    (problem,) = devset_build.check_evidence([result], moved)
    assert "p.12 no longer holds" in problem and "page(s) [40]" in problem


@pytest.mark.slow
def test_every_question_has_its_evidence_on_its_first_page(devset_build, devset_questions, tmp_path):
    results = devset_build.build(tmp_path)
    assert all(r.matches_manifest for r in results) and sum(r.pages for r in results) == 511
    texts = {r.document.file: _page_texts(r.path) for r in results}
    missing = [r for r in devset_questions if _norm(r["evidence"]) not in texts[r["file"]][r["pages"][0] - 1]]
    assert missing == []
    assert devset_build.check_evidence(results) == []
