"""Offline OCR with RapidOCR (PP-OCR ONNX models shipped in the pip package; Chinese + English)."""

from __future__ import annotations

import logging
import statistics
import threading
from dataclasses import dataclass
from typing import Any

from vlkit.extras import require
from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader

__all__ = ["RapidOCRReader", "OCRBox"]

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
            rapidocr = require("rapidocr", "kb", "OCR of scanned pages")
            _ENGINE = rapidocr.RapidOCR(params={"Global.log_level": "warning"})
            logger.info("loaded RapidOCR engine")
    return _ENGINE


@dataclass(frozen=True)
class OCRBox:
    """One recognised text line with its quadrilateral (page pixels, clockwise from top-left)."""

    text: str
    score: float
    box: tuple[tuple[float, float], ...]


class RapidOCRReader(PageReader):
    """OCR of the rendered page; lines in reading order, tall lines marked as headings."""

    name = "rapidocr"

    def __init__(self, min_score: float = 0.5) -> None:
        self.min_score = min_score

    def read(self, page: SourcePage) -> str:
        return self.text_from_boxes(self.read_boxes(page))

    def read_boxes(self, page: SourcePage) -> list[OCRBox]:
        """The recognised lines at or over ``min_score``, with their boxes (for tools that need positions)."""
        result = _engine()(page.pixels)
        if result is None or result.txts is None or result.boxes is None:
            return []
        return [
            OCRBox(text.strip(), float(score), tuple((float(p[0]), float(p[1])) for p in box))
            for text, score, box in zip(result.txts, result.scores, result.boxes)
            if score >= self.min_score and text.strip()
        ]

    def text_from_boxes(self, boxes: list[OCRBox]) -> str:
        """The page text :meth:`read` returns, from boxes already recognised (OCR runs once)."""
        items = []
        for ocr_box in boxes:
            ys = [p[1] for p in ocr_box.box]
            xs = [p[0] for p in ocr_box.box]
            items.append((min(ys), max(ys) - min(ys), min(xs), ocr_box.text))
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
