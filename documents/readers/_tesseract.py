"""OCR with the Tesseract program (``apt-get install tesseract-ocr tesseract-ocr-chi-sim``), English + Chinese.

Runs the ``tesseract`` binary once per page (PNG on stdin, TSV on stdout: words with boxes), so there
is no Python dependency. Words are regrouped into :class:`~vlkit.documents.TextLine` s with their boxes
and the page text is made from them as RapidOCR's is, so both readers hand chunking the same kind of text
(reading order, paragraph breaks, ``# `` headings from tall lines).

``OMP_THREAD_LIMIT=1`` by default: Tesseract's OpenMP threads spin while they wait, and on a shared
machine two threads took several times the wall time of one (``benchmarks/bench_ocr.py``).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import signal
import subprocess
import threading

from vlkit.documents._lines import PageLines, TextLine, text_from_lines
from vlkit.documents._pages import SourcePage
from vlkit.documents.readers._base import PageReader
from vlkit.errors import DocumentError, MissingProgramError

__all__ = ["TesseractReader", "INSTALL"]

logger = logging.getLogger(__name__)

INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
"""How to get the program and the language data the default reader uses (Debian/Ubuntu)."""

_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]) (?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")
"""Tesseract puts a space between Chinese characters (each is a 'word'); the text has none."""

_LANGS: dict[str, set[str]] = {}
_LOCK = threading.Lock()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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

    def read_page(self, page: SourcePage) -> PageLines:
        """The page's text and its lines (words regrouped by Tesseract's block/paragraph/line numbers) with boxes."""
        lines = self._run(page)
        return PageLines(page.number, text_from_lines(lines), lines, self.name)

    def _run(self, page: SourcePage) -> list[TextLine]:
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
        if proc.returncode == -signal.SIGINT:
            # Ctrl-C reaches the terminal's whole process group: tesseract died of the interruption the
            # user asked for, and this thread (not the main one) is the first to see it. Not a page error.
            raise KeyboardInterrupt(f"page {page.number}: tesseract was interrupted")
        if proc.returncode < 0:
            raise DocumentError(f"page {page.number}: tesseract was killed by {_signal_name(-proc.returncode)} "
                                "(out of memory?); add the file again to retry it")
        if proc.returncode != 0:
            tail = proc.stderr.decode("utf-8", "replace").strip()[-300:]
            raise DocumentError(f"page {page.number}: tesseract failed (exit {proc.returncode}): {tail}")
        return self._lines(proc.stdout.decode("utf-8", "replace"))

    def _lines(self, tsv: str) -> list[TextLine]:
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
        out: list[TextLine] = []
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
            out.append(TextLine(text, (float(x0), float(y0), float(x1), float(y1)), score))
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
