"""Offline OCR with RapidOCR (PP-OCR ONNX models shipped in the pip package; Chinese + English)."""

from __future__ import annotations

import logging
import statistics
import threading
from typing import Any

from vlkit.errors import MissingExtraError
from vlkit.retrieval.readers.base import PageReader, SourcePage

__all__ = ["RapidOCRReader"]

logger = logging.getLogger(__name__)

HEADING_HEIGHT_RATIO = 1.4
"""A text box this much taller than the page's median box is a heading."""

_ENGINE: Any = None
_LOCK = threading.Lock()


def _engine() -> Any:
    """The RapidOCR engine, created once per process (loading the ONNX models takes a while)."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:
                raise MissingExtraError("rapidocr", "kb", "OCR of scanned pages") from exc
            _ENGINE = RapidOCR(params={"Global.log_level": "warning"})
            logger.info("loaded RapidOCR engine")
    return _ENGINE


class RapidOCRReader(PageReader):
    """OCR of the rendered page; lines in reading order, tall lines marked as headings."""

    name = "rapidocr"

    def __init__(self, min_score: float = 0.5) -> None:
        self.min_score = min_score

    def read(self, page: SourcePage) -> str:
        result = _engine()(page.pixels)
        if result is None or result.txts is None or result.boxes is None:
            return ""
        items = []
        for text, score, box in zip(result.txts, result.scores, result.boxes):
            if score < self.min_score or not text.strip():
                continue
            ys = [p[1] for p in box]
            xs = [p[0] for p in box]
            items.append((min(ys), max(ys) - min(ys), min(xs), text.strip()))
        if not items:
            return ""
        median_h = statistics.median(h for _, h, _, _ in items)
        items.sort(key=lambda it: (it[0], it[2]))
        # group boxes whose tops are within half a median line height into one line, left to right
        lines: list[list[tuple[float, float, float, str]]] = []
        for it in items:
            if lines and abs(it[0] - lines[-1][0][0]) < median_h * 0.5:
                lines[-1].append(it)
            else:
                lines.append([it])
        out: list[str] = []
        prev_bottom = None
        for line in lines:
            line.sort(key=lambda it: it[2])
            text = " ".join(it[3] for it in line)
            top, height = line[0][0], max(it[1] for it in line)
            if prev_bottom is not None and top - prev_bottom > median_h * 1.2 and out and out[-1] != "":
                out.append("")  # a vertical gap: paragraph break
            if len(lines) > 1 and height >= median_h * HEADING_HEIGHT_RATIO and len(text) <= 120:
                if out and out[-1] != "":
                    out.append("")
                text = "# " + text
            out.append(text)
            prev_bottom = top + height
        return "\n".join(out).strip()
