"""OCR with the Tesseract program (``apt-get install tesseract-ocr tesseract-ocr-chi-sim``), English + Chinese.

Runs the ``tesseract`` binary once per page (PNG on stdin, TSV on stdout: words with boxes), so there
is no Python dependency. Words are regrouped into lines with their boxes and go through the same
:func:`~vlkit.retrieval.readers.ocr.text_from_boxes` as RapidOCR's, so both readers hand chunking the
same kind of text (reading order, paragraph breaks, ``# `` headings from tall lines).

``OMP_THREAD_LIMIT=1`` by default: Tesseract's OpenMP threads spin while they wait, and on 2 shared
cores two threads took 5-8x the wall time of one (``benchmarks/bench_ocr.py``).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import subprocess
import threading

from vlkit.errors import DocumentError, MissingProgramError
from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader
from vlkit.retrieval.readers.ocr import OCRBox, text_from_boxes

__all__ = ["TesseractReader", "INSTALL"]

logger = logging.getLogger(__name__)

INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
"""How to get the program and the language data the default reader uses (Debian/Ubuntu)."""

_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]) (?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")
"""Tesseract puts a space between Chinese characters (each is a 'word'); the text has none."""

_LANGS: dict[str, set[str]] = {}
_LOCK = threading.Lock()


class TesseractReader(PageReader):
    """OCR of the rendered page with Tesseract; lines in reading order, tall lines marked as headings.

    Args:
        languages: Tesseract ``-l`` value (``eng+chi_sim``: English and Simplified Chinese).
        binary: the program (name on PATH or a path).
        threads: OpenMP threads per page (``OMP_THREAD_LIMIT``); 1 is fastest on shared cores.
        psm: page segmentation mode (3: automatic, whole page).
        min_confidence: words under this confidence (0-100) are dropped.
        timeout_s: seconds one page may take.
    """

    name = "tesseract"

    def __init__(self, languages: str = "eng+chi_sim", *, binary: str = "tesseract", threads: int = 1,
                 psm: int = 3, min_confidence: float = 0.0, timeout_s: float = 600.0) -> None:
        self.languages, self.binary, self.threads, self.psm = languages, binary, threads, psm
        self.min_confidence, self.timeout_s = min_confidence, timeout_s

    def read(self, page: SourcePage) -> str:
        return text_from_boxes(self.read_boxes(page))

    def read_boxes(self, page: SourcePage) -> list[OCRBox]:
        """The recognised lines (words regrouped by Tesseract's block/paragraph/line numbers) with their boxes."""
        exe = self.check()
        cmd = [exe, "stdin", "stdout", "-l", self.languages, "--psm", str(self.psm)]
        if page.pdf_page is not None and page.pdf_page.rect.width > 0:
            cmd += ["--dpi", str(round(page.width * 72.0 / page.pdf_page.rect.width))]
        cmd.append("tsv")
        env = {**os.environ, "OMP_THREAD_LIMIT": str(self.threads)}
        try:
            proc = subprocess.run(cmd, input=page.png, capture_output=True, env=env, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise DocumentError(f"page {page.number}: tesseract took over {self.timeout_s:.0f} s; "
                                "lower the dpi or raise timeout_s") from exc
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip()[-300:]
            raise DocumentError(f"page {page.number}: tesseract failed (exit {proc.returncode}): {tail}")
        return self._lines(proc.stdout.decode("utf-8", "replace"))

    def _lines(self, tsv: str) -> list[OCRBox]:
        lines: dict[tuple[str, str, str, str], list[tuple[str, float, int, int, int, int]]] = {}
        for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
            text = (row.get("text") or "").strip()
            try:
                conf = float(row.get("conf") or -1)
            except ValueError:
                continue
            if row.get("level") != "5" or not text or conf < self.min_confidence:
                continue
            key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
            left, top, width, height = (int(row[k]) for k in ("left", "top", "width", "height"))
            lines.setdefault(key, []).append((text, conf, left, top, width, height))
        out: list[OCRBox] = []
        for words in lines.values():
            x0 = min(w[2] for w in words)
            y0 = min(w[3] for w in words)
            x1 = max(w[2] + w[4] for w in words)
            # the line's height from its words' median, not the max: one tall glyph box (a bracket,
            # a stray mark) must not make a body line look like a heading
            heights = sorted(w[5] for w in words)
            y1 = y0 + heights[len(heights) // 2]
            text = _CJK_GAP.sub("", " ".join(w[0] for w in words))
            score = sum(w[1] for w in words) / len(words) / 100.0
            out.append(OCRBox(text, score, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
        return out

    def check(self) -> str:
        """The program's path, once it is known to run and to have every language asked for."""
        exe = shutil.which(self.binary)
        if exe is None:
            raise MissingProgramError(self.binary, INSTALL, "OCR with the tesseract reader")
        with _LOCK:
            langs = _LANGS.get(exe)
            if langs is None:
                try:
                    proc = subprocess.run([exe, "--list-langs"], capture_output=True, timeout=60, check=False)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise MissingProgramError(self.binary, INSTALL, f"OCR with the tesseract reader ({exc})") from exc
                listed = proc.stdout.decode("utf-8", "replace").splitlines()[1:]
                langs = _LANGS[exe] = {line.strip() for line in listed if line.strip()}
        missing = [lang for lang in self.languages.split("+") if lang not in langs]
        if missing:
            package = " ".join("tesseract-ocr-" + m.replace("_", "-") for m in missing)
            raise MissingProgramError(f"{self.binary} language data {'+'.join(missing)}", f"apt-get install {package}",
                                      "OCR with the tesseract reader")
        return exe
