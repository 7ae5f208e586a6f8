#!/usr/bin/env python
"""OCR of scanned manuals: pages/s, detection/recognition split, character accuracy and retrieval recall
for RapidOCR with vlkit's old settings (the baseline), RapidOCR with the new defaults, and Tesseract — in
one run, on the same scans, so every ratio is against a baseline measured under the same load.

Scans: pages of the dev set's real manuals (``/tmp/devset-pdfs`` or ``~/.cache/vlkit/devset/pdfs``, see
``benchmarks/devset/build.py``) rendered at 150 dpi in grey, rotated by up to 0.6 degrees, blurred
(radius 0.5) and noised (sigma 6), saved as JPEG (quality 80) in image-only PDFs of the same page size —
what a sheet-fed scanner gives. Chinese pages come from ``debian-reference.zh-cn.pdf``.

1. Readers: every page is read by every reader in turn (interleaved, so load changes hit all alike):
   pages/s, RapidOCR's detection / classification / recognition seconds, and character accuracy
   ``1 - edit distance / length`` against the text layer of the same page (whitespace, ``#`` heading
   marks and NFKC differences ignored), English and Chinese apart.
2. Recall: the scanned copy of maint-guide (the questions' gold pages plus a stride of other pages;
   the same pages for every reader) is ingested into a fresh index with each reader and searched with
   the dev set's questions about it; the text layer of the same pages is the reference.

Measured 2026-12-01 (full run, 2 shared cores, load 2.1 -> 3.2; per page, English / Chinese):
RapidOCR stock 20.8 s / 13.6 s (accuracy 0.977 / 0.937); RapidOCR new defaults 11.0 s / 6.7 s (1.89x /
2.04x; 0.986 / 0.949); Tesseract eng+chi_sim 6.0 s / 5.0 s (3.49x / 2.73x; 0.973 / 0.820). Ingest of a
20-page scanned slice of maint-guide: 0.063 / 0.151 / 0.231 pages/s; Recall@5 1.0 for all, as the text layer.

    python benchmarks/bench_ocr.py --quick     # 4 + 1 pages, a ~20-page recall slice: ~13 min on 2 cores
    python benchmarks/bench_ocr.py             # 9 + 3 pages, a ~22-page recall slice: ~25 min
    python benchmarks/bench_ocr.py --router    # the auto router on a 6-page Chinese + 3-page English scan: ~5 min
    python benchmarks/bench_ocr.py --rescore --work DIR   # recall again on a kept run's indexes, no OCR: ~10 s
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, setup_logging  # noqa: E402

PDF_DIRS = (Path("/tmp/devset-pdfs"), Path.home() / ".cache/vlkit/devset/pdfs")
QUESTIONS = Path(__file__).resolve().parent / "devset" / "questions.jsonl"
EN_PAGES = {  # (file, 1-based pages): body text, code listings, tables — not covers or blank pages
    "debian-faq.en.pdf": [13, 38, 67],
    "developers-reference.pdf": [20, 45, 95],
    "debian-reference.en.pdf": [30, 90, 150],
}
ZH_PAGES = {"debian-reference.zh-cn.pdf": [30, 90, 150]}
RECALL_FILE = "maint-guide.en.pdf"


def find_pdf(name: str) -> Path:
    for folder in PDF_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"{name} not found in {', '.join(map(str, PDF_DIRS))}; run benchmarks/devset/build.py")


# --------------------------------------------------------------------------- scans
def scan_image(pdf_page: Any, rng: Any, dpi: int = 150) -> bytes:
    """A 'scanner' copy of a PDF page as JPEG bytes: grey, slightly rotated, blurred and noisy."""
    import numpy as np
    import pymupdf
    from PIL import Image, ImageFilter

    pix = pdf_page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    img = img.rotate(float(rng.uniform(-0.6, 0.6)), resample=Image.BICUBIC, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(0.5))
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, (img.height, img.width))
    buf = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def make_scan(src: Path, pages: list[int], out: Path, seed: int = 0) -> Path:
    """An image-only PDF of ``pages`` (1-based) of ``src``, each a :func:`scan_image`; same page sizes."""
    import numpy as np
    import pymupdf

    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with pymupdf.open(src) as doc, pymupdf.open() as new:
        for number in pages:
            page = doc[number - 1]
            copy = new.new_page(width=page.rect.width, height=page.rect.height)
            copy.insert_image(copy.rect, stream=scan_image(page, rng))
        new.save(out)
    return out


# --------------------------------------------------------------------------- accuracy
def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, bit-parallel (Myers/Hyyrö on Python ints): a page pair in milliseconds."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    peq: dict[str, int] = {}
    for i, c in enumerate(b):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask, high = (1 << len(b)) - 1, 1 << (len(b) - 1)
    pv, mv, score = mask, 0, len(b)
    for c in a:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score


_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "—": "-", "–": "-"})


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+|^#+ ", "", re.sub(r"(?m)^#+ ", "", text))


def char_accuracy(ocr: str, truth: str) -> float:
    a, b = normalise(ocr), normalise(truth)
    return max(0.0, 1.0 - edit_distance(a, b) / max(len(b), 1))


# --------------------------------------------------------------------------- readers
def readers() -> dict[str, Any]:
    from vlkit.documents import OCRSettings, RapidOCRReader, TesseractReader

    return {
        "rapidocr-head": RapidOCRReader(settings=OCRSettings.stock()),
        "rapidocr-new": RapidOCRReader(settings=OCRSettings.for_documents()),
        "tesseract": TesseractReader(),
    }


def read_timed(reader: Any, page: Any) -> tuple[str, dict[str, float]]:
    """The page text and the seconds it took (RapidOCR: split into det / cls / rec)."""
    from vlkit.documents import RapidOCRReader
    from vlkit.documents._lines import text_from_lines
    from vlkit.documents.readers._rapidocr import _engine

    t = time.perf_counter()
    if isinstance(reader, RapidOCRReader):
        result = _engine(reader.settings)(page.pixels)
        text = text_from_lines(reader.lines_of(result))
        det, cls, rec = (getattr(result, "elapse_list", None) or [0.0, 0.0, 0.0])
        split = {"det_s": det or 0.0, "cls_s": cls or 0.0, "rec_s": rec or 0.0}
    else:
        text, split = reader.read(page), {}
    return text, {"s": time.perf_counter() - t, **split}


def speed_and_accuracy(work: Path, en: dict[str, list[int]], zh: dict[str, list[int]]) -> dict[str, Any]:
    import pymupdf

    from vlkit.documents import open_document

    all_readers = readers()
    totals: dict[str, dict[str, dict[str, float]]] = {}
    warm = True
    for lang, sets in (("en", en), ("zh", zh)):
        for name, numbers in sets.items():
            src = find_pdf(name)
            scan = make_scan(src, numbers, work / "scans" / lang / name)
            doc = open_document(scan)
            with pymupdf.open(src) as original:
                truths = [original[n - 1].get_text() for n in numbers]
            try:
                for page, truth in zip(doc.pages(150), truths):
                    if warm:  # models load once per process: not part of any reader's pages/s
                        for reader in all_readers.values():
                            reader.read(page)
                        warm = False
                    for rname, reader in all_readers.items():
                        text, secs = read_timed(reader, page)
                        row = totals.setdefault(rname, {}).setdefault(lang, {"pages": 0, "acc_sum": 0.0})
                        row["pages"] += 1
                        row["acc_sum"] += char_accuracy(text, truth)
                        for k, v in secs.items():
                            row[k] = row.get(k, 0.0) + v
                    print(f"  {lang} {name} p{page.number}: " + ", ".join(
                        f"{r} {totals[r][lang]['s']:.0f}s" for r in all_readers), file=sys.stderr, flush=True)
            finally:
                doc.close()
    out: dict[str, Any] = {}
    for rname, langs in totals.items():
        out[rname] = {}
        for lang, row in langs.items():
            n = row.pop("pages")
            acc = row.pop("acc_sum") / n
            out[rname][lang] = {"pages": n, "pages_per_s": round(n / row["s"], 4), "char_accuracy": round(acc, 4),
                                **{k: round(v / n, 2) for k, v in row.items() if k != "s"}, "s_per_page": round(row["s"] / n, 2)}
    return out


# --------------------------------------------------------------------------- recall
def recall(work: Path, stride: int, reader_names: list[str], rescore: bool = False) -> dict[str, Any]:
    from vlkit.retrieval.eval import evaluate, load_questions
    from vlkit.retrieval.index import DocumentIndex
    from vlkit.retrieval.search import HybridSearcher

    questions = [q for q in load_questions(QUESTIONS) if q.file == RECALL_FILE]
    src = find_pdf(RECALL_FILE)
    import pymupdf

    with pymupdf.open(src) as doc:
        count = doc.page_count
    gold = sorted({p for q in questions for p in q.pages})
    keep = sorted(set(gold) | set(range(1, count + 1, stride)))
    # the slice keeps page numbers apart from the original's: renumber the questions' gold pages
    new_number = {p: i + 1 for i, p in enumerate(keep)}
    questions = [type(q)(**{**q.__dict__, "pages": tuple(new_number[p] for p in q.pages), "also": ()}) for q in questions]
    text_copy = work / "recall" / "text" / RECALL_FILE
    text_copy.parent.mkdir(parents=True, exist_ok=True)
    with pymupdf.open(src) as doc, pymupdf.open() as new:
        for p in keep:
            new.insert_pdf(doc, from_page=p - 1, to_page=p - 1)
        new.save(text_copy)
    scan_copy = work / "recall" / "scan" / RECALL_FILE
    if rescore:  # the kept scan (a new one's bytes, hence its doc id, would differ: OCR again)
        missing = [str(f) for f in [scan_copy, *(work / "recall" / f"kb-{n}" for n in ["text", *reader_names])] if not f.exists()]
        if missing:
            sys.exit(f"--rescore needs a kept run under --work; missing: {', '.join(missing)}")
    else:
        make_scan(src, keep, scan_copy, seed=1)
    all_readers = readers()
    out: dict[str, Any] = {"file": RECALL_FILE, "pages": len(keep), "questions": len(questions)}
    for name in ["text", *reader_names]:
        kb = DocumentIndex(work / "recall" / f"kb-{name}")
        if name in all_readers:  # the benchmark's own reader objects (the baseline's settings are not a registry name)
            kb._readers[name] = all_readers[name]
        t = time.perf_counter()
        summary = kb.add(text_copy if name == "text" else scan_copy, reader=name)
        seconds = time.perf_counter() - t
        report = evaluate(HybridSearcher(kb).search, questions)
        out[name] = {} if rescore else {"ingest_pages_per_s": round(summary.pages / seconds, 4), "ingest_s": round(seconds, 1)}
        out[name].update({k: round(v, 3) for k, v in report.overall.as_dict().items()})
        kb.close()
        print(f"  recall {name}: {out[name]}", file=sys.stderr, flush=True)
    base = out["text"]["recall@5"]
    for name in reader_names:
        out[name]["recall@5_vs_text"] = round(out[name]["recall@5"] / max(base, 1e-9), 3)
    return out


# --------------------------------------------------------------------------- report
def table(speed: dict[str, Any], rec: dict[str, Any] | None) -> str:
    base = speed["rapidocr-head"]
    lines = ["| reader | lang | pages/s | × baseline | s/page (det / rec) | char accuracy |", "|---|---|---|---|---|---|"]
    for rname, langs in speed.items():
        for lang, row in langs.items():
            split = f"{row['s_per_page']} ({row['det_s']} / {row['rec_s']})" if "det_s" in row else f"{row['s_per_page']}"
            ratio = row["pages_per_s"] / base[lang]["pages_per_s"]
            lines.append(f"| {rname} | {lang} | {row['pages_per_s']:.3f} | {ratio:.2f} | {split} | {row['char_accuracy']:.3f} |")
    if rec:
        lines += ["", f"Recall on the scanned slice of {rec['file']} ({rec['pages']} pages, {rec['questions']} questions):", "",
                  "| reader | ingest pages/s | Recall@1 | Recall@5 | MRR@10 | R@5 vs text layer |", "|---|---|---|---|---|---|"]
        for name, row in rec.items():
            if isinstance(row, dict):
                lines.append(f"| {name} | {row['ingest_pages_per_s']} | {row['recall@1']} | {row['recall@5']} | "
                             f"{row['mrr@10']} | {row.get('recall@5_vs_text', 1.0)} |")
    return "\n".join(lines)


def router_on_documents(work: Path, zh_pages: list[int], en_pages: list[int]) -> dict[str, Any]:
    """The ``auto`` OCR router on whole scanned documents, one Chinese and one English: seconds per page
    for RapidOCR alone, the router deciding page by page (``cjk_run=0``: Tesseract first on every page,
    RapidOCR again on CJK pages) and the router following the document (the default), interleaved page
    by page; plus which engine each kept and the character accuracy."""
    import pymupdf

    from vlkit.documents import OCRRouter, OCRSettings, RapidOCRReader, open_document

    rapid = RapidOCRReader(settings=OCRSettings.for_documents())
    routers = {"rapidocr-new": None, "router-per-page": OCRRouter(rapid, cjk_run=0), "router (default)": OCRRouter(rapid)}
    out: dict[str, Any] = {}
    for lang, name, numbers in (("zh", "debian-reference.zh-cn.pdf", zh_pages), ("en", "maint-guide.en.pdf", en_pages)):
        src = find_pdf(name)
        scan = make_scan(src, numbers, work / "router" / lang / name, seed=1)
        with pymupdf.open(src) as original:
            truths = [original[n - 1].get_text() for n in numbers]
        doc = open_document(scan)
        rows = {r: {"s": 0.0, "acc_sum": 0.0, "engines": []} for r in routers}
        try:
            for i, (page, truth) in enumerate(zip(doc.pages(150), truths)):
                page.number = i + 1  # one document: pages 1..n, as ingest hands them to the router
                if not out and i == 0:
                    rapid.read(page)  # model load: nobody's cost
                for rname, router in routers.items():
                    t = time.perf_counter()
                    read = (rapid if router is None else router).read_page(page)
                    text, used = read.text, read.reader
                    rows[rname]["s"] += time.perf_counter() - t
                    rows[rname]["acc_sum"] += char_accuracy(text, truth)
                    rows[rname]["engines"].append(used)
                print(f"  router {lang} p{page.number}: " + ", ".join(f"{r} {v['s']:.0f}s" for r, v in rows.items()),
                      file=sys.stderr, flush=True)
        finally:
            doc.close()
        n = len(numbers)
        out[lang] = {r: {"s_per_page": round(v["s"] / n, 2), "char_accuracy": round(v["acc_sum"] / n, 3),
                         "engines": v["engines"]} for r, v in rows.items()}
        base = out[lang]["rapidocr-new"]["s_per_page"]
        for r in routers:
            out[lang][r]["speed_vs_rapidocr_new"] = round(base / out[lang][r]["s_per_page"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 English + 1 Chinese page (the recall slice: every 12th page + the gold pages)")
    parser.add_argument("--no-recall", action="store_true", help="skip the retrieval-recall part")
    parser.add_argument("--work", type=Path, default=None, help="folder for scans and indexes (default: a temp dir)")
    parser.add_argument("--rescore", action="store_true",
                        help="recall only, on the indexes a full run left under --work (no OCR): after a ranking change")
    parser.add_argument("--router", action="store_true",
                        help="only the auto OCR router on a 6-page Chinese and a 3-page English scanned document")
    args = parser.parse_args()
    setup_logging()
    if args.router:
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="bench_ocr_") as tmp:
            t = time.perf_counter()
            res = router_on_documents(args.work or Path(tmp), list(range(30, 36)), [12, 20, 28])
        print(json.dumps({"load_before": load_before, "load_after": os.getloadavg(), "cpu_count": os.cpu_count(),
                          "wall_s": round(time.perf_counter() - t, 1), "router": res}, indent=1))
        return
    if args.rescore:
        if args.work is None:
            parser.error("--rescore needs --work DIR (the folder of a full run)")
        rec = recall(args.work, 12 if args.quick else 8, list(readers()), rescore=True)
        print(json.dumps({"load": os.getloadavg(), "cpu_count": os.cpu_count(), "recall": rec}, indent=1))
        return
    if args.quick:
        en = {"debian-faq.en.pdf": [23, 51], "developers-reference.pdf": [45], "debian-reference.en.pdf": [90]}
        zh = {"debian-reference.zh-cn.pdf": [90]}
        stride = 12
    else:
        en, zh, stride = EN_PAGES, ZH_PAGES, 8
    load_before = os.getloadavg()
    print(f"load average before: {load_before}, cores: {os.cpu_count()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench_ocr_") as tmp:
        work = args.work or Path(tmp)
        t = time.perf_counter()
        speed = speed_and_accuracy(work, en, zh)
        print(f"load average after part 1: {os.getloadavg()}", file=sys.stderr)
        rec = None if args.no_recall else recall(work, stride, list(readers()))
    result = {"quick": args.quick, "load_before": load_before, "load_after": os.getloadavg(),
              "cpu_count": os.cpu_count(), "wall_s": round(time.perf_counter() - t, 1), "speed": speed, "recall": rec}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"bench_ocr{'_quick' if args.quick else ''}.json").write_text(json.dumps(result, indent=1))
    print(table(speed, rec))
    print(f"\nload average: before {tuple(round(x, 2) for x in load_before)}, after "
          f"{tuple(round(x, 2) for x in os.getloadavg())} on {os.cpu_count()} cores; wall {result['wall_s']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
