"""Offline OCR with RapidOCR (PP-OCR ONNX models shipped in the pip package; Chinese + English).

Why the defaults (:class:`OCRSettings`) are what they are — measured on 150-dpi scans of the dev set's
Debian manuals, 2 shared cores (``benchmarks/bench_ocr.py``; figures in its docstring):

* with RapidOCR's stock settings a page took 20.8 s (load ~4): detection 6.1 s, recognition 14.2 s,
  the angle classifier 0.4 s; with these defaults 11.0 s (1.8 / 9.1 / 0), 1.9x (2.4x through the
  whole ingest), character accuracy 0.977 -> 0.986, scanned Recall@5 unchanged;
* the detector ran on the whole page (``limit_type: min`` never shrinks a 1240x1754 page); text lines
  at 150 dpi are ~25 px tall, and a detector input whose longer side is 1024 px finds the same lines
  at ~1/3 of the cost (:meth:`OCRSettings.for_documents`, what the knowledge base uses; the generic
  default keeps the whole image, for screenshots). Boxes are mapped back, and recognition still reads
  the full-resolution crops;
* onnxruntime's default thread pool (one spinning thread per core, per session) burns CPU waiting
  on a shared machine: one thread per session, and the page's text lines recognised by ``workers``
  threads at once (onnxruntime runs one session from several threads and releases the GIL), keeps
  every core busy on real work;
* scanned pages are upright: the 180-degree angle classifier is off (set ``use_angle_cls`` for
  pages that may be upside down); on upright pages it only cost accuracy (it flips some lines).

Recognition (a conv net over each line resized to 48 px high: ~65 % of its time in Conv) is what is
left; Tesseract (:mod:`~vlkit.retrieval.readers.tesseract`) is 3.5x the stock settings on English
scans at equal recall, but reads Chinese worse (0.82 vs 0.95).
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vlkit.extras import require
from vlkit.retrieval.pages import SourcePage
from vlkit.retrieval.readers.base import PageReader

__all__ = ["RapidOCRReader", "OCRBox", "OCRSettings", "text_from_boxes"]

logger = logging.getLogger(__name__)

DOCUMENT_DET_SIDE = 1024
"""Detector input for a document page: a 150-dpi page's ~25 px lines become ~14 px, still found
(shrinking a page's longer side to 1024 px gives the same text size at any dpi)."""
HEADING_HEIGHT_RATIO = 1.4
"""A text box this much taller than the page's median box is a heading."""


class OCRSettings(BaseModel):
    """How RapidOCR runs; the defaults are the fastest that read the dev set's scans as well as before."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    det_max_side: int | None = Field(None, ge=256)
    """Longer side of the detector's input in pixels (the image is shrunk to it); ``None``: the whole image.
    Right for document pages (:meth:`for_documents`), not for screenshots, whose type is small."""
    use_angle_cls: bool = False
    """Run the 0/180-degree line classifier (only needed for upside-down pages)."""
    threads: int = Field(1, ge=-1)
    """onnxruntime intra-op threads per model; -1: onnxruntime's default (one per core)."""
    workers: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)), ge=1)
    """Threads recognising a page's text lines at once."""
    rec_batch: int = Field(6, ge=1)
    """Text lines per recognition call."""
    cpu_mem_arena: bool = True
    """onnxruntime's memory arena (reuses buffers between calls)."""

    @classmethod
    def for_documents(cls) -> OCRSettings:
        """Document pages (A4/Letter, any dpi): the detector reads the page shrunk to 1024 px, as fast and as
        accurate on the dev set's 150-dpi scans as the full page. What the knowledge base's readers use."""
        return cls(det_max_side=DOCUMENT_DET_SIDE)

    @classmethod
    def head(cls) -> OCRSettings:
        """vlkit's settings before the OCR speed-up (RapidOCR's stock config): the benchmark's baseline."""
        return cls(det_max_side=None, use_angle_cls=True, threads=-1, workers=1, rec_batch=6, cpu_mem_arena=False)

    def params(self) -> dict[str, Any]:
        """RapidOCR ``params`` (keys from its ``config.yaml``)."""
        out: dict[str, Any] = {
            "Global.log_level": "warning",
            "Global.use_cls": self.use_angle_cls,
            "Rec.rec_batch_num": self.rec_batch,
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": self.cpu_mem_arena,
        }
        return out  # det_max_side is applied per image (see ParallelRapidOCR.detect_and_crop)


_ENGINES: dict[OCRSettings, Any] = {}
_LOCK = threading.Lock()


def _engine(settings: OCRSettings) -> Any:
    """The RapidOCR engine for ``settings``, created once per process (loading the ONNX models takes a while)."""
    with _LOCK:
        engine = _ENGINES.get(settings)
        if engine is None:
            rapidocr = require("rapidocr", "kb", "OCR of scanned pages")
            engine = _engine_class(rapidocr)(settings)
            _ENGINES[settings] = engine
            logger.info("loaded RapidOCR engine (%s)", settings)
    return engine


def _engine_class(rapidocr: Any) -> type:
    class ParallelRapidOCR(rapidocr.RapidOCR):
        """RapidOCR whose recognition step (its public ``recognize_txt``) splits a page's lines over threads."""

        def __init__(self, settings: OCRSettings) -> None:
            super().__init__(params=settings.params())
            self.workers = settings.workers
            self.pool = ThreadPoolExecutor(settings.workers, "vlkit-ocr") if settings.workers > 1 else None
            self.det_max_side = settings.det_max_side
            self.det_lock = threading.Lock()

        def detect_and_crop(self, img: Any, op_record: dict) -> Any:
            """Shrink a large image's detector input to ``det_max_side``; a small one keeps RapidOCR's
            stock rule (upscaled until its shorter side is 736 px), which small type needs."""
            det = self._load_det_model()
            with self.det_lock:  # the detector reads its limits per call: one call at a time
                stock = (self.cfg.Det.limit_type, self.cfg.Det.limit_side_len)
                if self.det_max_side is not None and max(img.shape[:2]) > self.det_max_side:
                    det.limit_type, det.limit_side_len = "max", self.det_max_side
                else:
                    det.limit_type, det.limit_side_len = stock
                return super().detect_and_crop(img, op_record)

        def recognize_txt(self, img: list) -> Any:
            batch = self.cfg.Rec.rec_batch_num
            if self.pool is None or len(img) <= batch:
                return super().recognize_txt(img)
            from rapidocr.ch_ppocr_rec import TextRecOutput

            self._load_rec_model()  # once, before the threads race to load it
            # deal lines sorted by aspect ratio (= recognition cost) round-robin: balanced groups, and each
            # group's batches still hold lines of similar width (little padding)
            order = sorted(range(len(img)), key=lambda i: img[i].shape[1] / max(img[i].shape[0], 1))
            groups = [order[w::self.workers] for w in range(self.workers)]
            parts = list(self.pool.map(lambda g: rapidocr.RapidOCR.recognize_txt(self, [img[i] for i in g]), groups))
            txts: list[str] = [""] * len(img)
            scores: list[float] = [0.0] * len(img)
            words: list[Any] = [None] * len(img)
            for group, part in zip(groups, parts):
                for j, i in enumerate(group):
                    txts[i], scores[i], words[i] = part.txts[j], part.scores[j], part.word_results[j]
            return TextRecOutput(imgs=img, txts=tuple(txts), scores=scores, word_results=tuple(words),
                                 elapse=max(p.elapse for p in parts))

    return ParallelRapidOCR


@dataclass(frozen=True)
class OCRBox:
    """One recognised text line with its quadrilateral (page pixels, clockwise from top-left)."""

    text: str
    score: float
    box: tuple[tuple[float, float], ...]


class RapidOCRReader(PageReader):
    """OCR of the rendered page; lines in reading order, tall lines marked as headings."""

    name = "rapidocr"

    def __init__(self, min_score: float = 0.5, settings: OCRSettings | None = None) -> None:
        self.min_score = min_score
        self.settings = settings or OCRSettings()

    def read(self, page: SourcePage) -> str:
        return self.text_from_boxes(self.read_boxes(page))

    def read_boxes(self, page: SourcePage) -> list[OCRBox]:
        """The recognised lines at or over ``min_score``, with their boxes (for tools that need positions)."""
        return self.boxes_of(_engine(self.settings)(page.pixels))

    def boxes_of(self, result: Any) -> list[OCRBox]:
        """:class:`OCRBox` es from a RapidOCR result (also used by the benchmark, which times the stages)."""
        if result is None or getattr(result, "txts", None) is None or getattr(result, "boxes", None) is None:
            return []
        return [
            OCRBox(text.strip(), float(score), tuple((float(p[0]), float(p[1])) for p in box))
            for text, score, box in zip(result.txts, result.scores, result.boxes)
            if score >= self.min_score and text.strip()
        ]

    def text_from_boxes(self, boxes: list[OCRBox]) -> str:
        """The page text :meth:`read` returns, from boxes already recognised (OCR runs once)."""
        return text_from_boxes(boxes)


def text_from_boxes(boxes: list[OCRBox]) -> str:
    """Lines in reading order, paragraph breaks at vertical gaps, boxes much taller than the median as
    ``# `` headings — shared by every OCR reader so they all hand chunking the same kind of text."""
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
