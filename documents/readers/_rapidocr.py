"""Offline OCR with RapidOCR (PP-OCR ONNX models shipped in the pip package; Chinese + English).

Why the defaults (:class:`OCRSettings`) are what they are (``benchmarks/bench_ocr.py``; the measured
figures are in ``benchmarks/README.md``):

* the stock detector runs on the whole page (``limit_type: min`` never shrinks a page). Text lines of a
  document page are tall enough that a detector input whose longer side is :data:`DOCUMENT_DET_SIDE`
  finds the same lines at a fraction of the cost (:meth:`OCRSettings.for_documents`, what the knowledge
  base uses; the generic default keeps the whole image, for screenshots, whose type is small). Boxes are
  mapped back, and recognition still reads the full-resolution crops;
* onnxruntime's default thread pool (one spinning thread per core, per session) burns CPU waiting on a
  shared machine: one thread per session, and the page's text lines recognised by ``workers`` threads at
  once (onnxruntime runs one session from several threads and releases the GIL), keeps every core busy
  on real work;
* scanned pages are upright: the 180-degree angle classifier is off (set ``use_angle_cls`` for pages
  that may be upside down); on upright pages it only cost accuracy (it flips some lines).

Recognition (a conv net over each line resized to 48 px high) is what is left. Tesseract
(:class:`~vlkit.documents.TesseractReader`) reads English scans faster at equal recall but Chinese worse,
hence the ``auto`` reader's router (:class:`~vlkit.documents.OCRRouter`).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vlkit.documents._lines import PageLines, TextLine, text_from_lines
from vlkit.documents._pages import SourcePage
from vlkit.documents.readers._base import PageReader
from vlkit.extras import require

__all__ = ["RapidOCRReader", "OCRSettings"]

logger = logging.getLogger(__name__)

DOCUMENT_DET_SIDE = 1024
"""Longer side of the detector's input for a document page: a body line of an A4/Letter page stays tall
enough to be found (shrinking the longer side to a fixed size gives the same text size at any dpi)."""


class OCRSettings(BaseModel):
    """How RapidOCR runs; the defaults are the fastest that read the dev set's scans as well as RapidOCR's stock settings."""

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
        """Document pages (A4/Letter, any dpi): the detector reads the page shrunk to :data:`DOCUMENT_DET_SIDE`,
        faster than the full page and as accurate on the dev set's scans. What the knowledge base's readers use."""
        return cls(det_max_side=DOCUMENT_DET_SIDE)

    @classmethod
    def stock(cls) -> OCRSettings:
        """RapidOCR's stock settings (the whole page to the detector, the angle classifier on, onnxruntime's
        default threads): the baseline ``benchmarks/bench_ocr.py`` measures the defaults against."""
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


class RapidOCRReader(PageReader):
    """OCR of the rendered page; lines in reading order, tall lines marked as headings.

    Args:
        min_score: lines RapidOCR is less sure of than this (0-1) are dropped.
        settings: how RapidOCR runs (:class:`OCRSettings`; ``OCRSettings.for_documents()`` for document pages).
    """

    name = "rapidocr"

    def __init__(self, min_score: float = 0.5, settings: OCRSettings | None = None) -> None:
        self.min_score = min_score
        self.settings = settings or OCRSettings()

    def read_page(self, page: SourcePage) -> PageLines:
        lines = self.lines_of(_engine(self.settings)(page.pixels))
        return PageLines(page.number, text_from_lines(lines), lines, self.name)

    def lines_of(self, result: Any) -> list[TextLine]:
        """The lines of a RapidOCR result at or over ``min_score`` (also used by the benchmark, which times
        the stages), each with the box around RapidOCR's quadrilateral."""
        if result is None or getattr(result, "txts", None) is None or getattr(result, "boxes", None) is None:
            return []
        return [
            TextLine(text.strip(), _bbox(quad), float(score))
            for text, score, quad in zip(result.txts, result.scores, result.boxes)
            if score >= self.min_score and text.strip()
        ]


def _bbox(quad: Any) -> tuple[float, float, float, float]:
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    return (min(xs), min(ys), max(xs), max(ys))
