"""Shared fixtures for reading documents: real PDFs and images made with PyMuPDF and Pillow.

The knowledge-base tests (tests/retrieval) use them too. Known words in the generated documents:

* ``text_pdf`` (3 pages, text layer): p1 heading "Quarterly Report", "invoice total 4821";
  p2 heading "Photosynthesis", "chlorophyll"; p3 heading "Volcanoes", "basalt magma".
* ``chinese_pdf`` (2 pages, text layer, font china-s): p1 "知识库检索测试" + "Beijing office";
  p2 "人工智能" + "neural network".
* ``scanned_pdf`` (2 pages, images only): p1 "Scanned Receipt" + "amount 7305"; p2 "Harbor Lighthouse".
* ``mixed_pdf`` (3 pages): p1 text "Mixed Introduction" + "glacier"; p2 scanned "Desert Oasis" + "camel";
  p3 text "Mixed Conclusion" + "meteorite".
* ``scanned_chinese_png``: "发票金额" + "Total Amount 5190".
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

pymupdf = pytest.importorskip("pymupdf")

TEST_DPI = 110
"""Lower than the default 150: OCR stays reliable for 14pt+ type and the suite stays fast."""

LOREM = (
    "This paragraph is filler so that the page carries a realistic amount of text. "
    "It talks about nothing in particular and repeats a few plain sentences. "
)


def _text_page(doc, heading: str, lines: list[str], *, font: str = "helv", body_size: float = 12) -> None:
    page = doc.new_page()
    page.insert_text((72, 90), heading, fontsize=22, fontname=font)
    y = 130
    for line in lines:
        page.insert_text((72, y), line, fontsize=body_size, fontname=font)
        y += body_size * 1.8


def _scan_of(lines: list[tuple[str, float]], *, font: str = "helv", dpi: int = 150) -> bytes:
    """A PNG of a page with text drawn on it (what a scanner would produce), no text layer."""
    src = pymupdf.open()
    page = src.new_page()
    y = 90
    for text, size in lines:
        page.insert_text((72, y), text, fontsize=size, fontname=font)
        y += size * 2.0
    png = page.get_pixmap(dpi=dpi).tobytes("png")
    src.close()
    return png


def _image_page(doc, png: bytes) -> None:
    page = doc.new_page()
    page.insert_image(page.rect, stream=png)


def make_text_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    _text_page(doc, "Quarterly Report", ["The invoice total is 4821 dollars this quarter.", LOREM[:80], LOREM[80:]])
    _text_page(doc, "Photosynthesis", ["Plants use chlorophyll to turn sunlight into sugar.", LOREM[:80]])
    _text_page(doc, "Volcanoes", ["Basalt magma erupts from shield volcanoes in Hawaii.", LOREM[:80]])
    doc.save(path)
    return path


def make_chinese_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    _text_page(doc, "知识库检索测试", ["这是一个中文文档，用于测试检索。", "The Beijing office opens at nine."], font="china-s",
               body_size=14)
    _text_page(doc, "人工智能", ["人工智能正在改变世界。", "A neural network learns from data."], font="china-s",
               body_size=14)
    doc.save(path)
    return path


SCANNED_PAGES = [
    [("Scanned Receipt", 24), ("The amount due is 7305 euros.", 16)],
    [("Harbor Lighthouse", 24), ("The lighthouse keeper logs every ship.", 16)],
]


def make_scanned_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    for lines in SCANNED_PAGES:
        _image_page(doc, _scan_of(lines))
    doc.save(path)
    return path


def make_mixed_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    _text_page(doc, "Mixed Introduction", ["A glacier carves valleys over many centuries.", LOREM[:80]])
    _image_page(doc, _scan_of([("Desert Oasis", 24), ("A camel rests beside the water.", 16)]))
    _text_page(doc, "Mixed Conclusion", ["A meteorite fell in the field last night.", LOREM[:80]])
    doc.save(path)
    return path


def make_scanned_chinese_png(path: Path) -> Path:
    path.write_bytes(_scan_of([("发票金额", 24), ("Total Amount 5190", 18)], font="china-s"))
    return path


def make_multipage_tiff(path: Path) -> Path:
    from PIL import Image

    frames = [Image.open(io.BytesIO(_scan_of(lines))).convert("RGB") for lines in SCANNED_PAGES]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return path


def make_jpeg(path: Path) -> Path:
    from PIL import Image

    Image.open(io.BytesIO(_scan_of([("Mountain Trail", 24), ("Hikers follow the ridge path.", 16)]))).convert(
        "RGB").save(path, quality=90)
    return path


def make_bad_files(folder: Path) -> dict[str, Path]:
    """Files ``add`` must refuse with a per-file error: name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    enc = pymupdf.open()
    enc.new_page().insert_text((72, 72), "secret")
    out["encrypted"] = folder / "encrypted.pdf"
    enc.save(out["encrypted"], encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    out["corrupt"] = folder / "corrupt.pdf"
    out["corrupt"].write_bytes(b"%PDF-1.7\n" + os.urandom(300) + b"\n%%EOF")
    out["zero_pages"] = folder / "zero.pdf"
    out["zero_pages"].write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    out["unsupported"] = folder / "notes.docx"
    out["unsupported"].write_bytes(b"PK\x03\x04 not really a docx")
    out["bomb"] = folder / "bomb.png"
    out["bomb"].write_bytes(png_header_only(50_000, 50_000))
    return out


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``x``height`` with a tiny (invalid) body: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def docs():
    """The document makers above, for tests that build their own files: ``docs.text_pdf(path)``,
    ``docs.chinese_pdf``, ``docs.jpeg``, ``docs.tiff``, ``docs.bad_files(folder)``,
    ``docs.text_page(doc, heading, lines)``, ``docs.png_header_only(w, h)``; ``docs.dpi`` is TEST_DPI."""
    return SimpleNamespace(
        text_pdf=make_text_pdf, chinese_pdf=make_chinese_pdf, scanned_pdf=make_scanned_pdf, mixed_pdf=make_mixed_pdf,
        jpeg=make_jpeg, tiff=make_multipage_tiff, bad_files=make_bad_files, text_page=_text_page,
        png_header_only=png_header_only, scan_png=_scan_of, dpi=TEST_DPI,
    )


def _unprivileged_prefix() -> list[str] | None:
    """A command prefix that runs a child without the capabilities that let root ignore file
    permissions (the tests run as root): ``setpriv`` dropping every capability, else a user namespace."""
    for prefix in (["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"], ["unshare", "--user"]):
        if shutil.which(prefix[0]) and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


@pytest.fixture(scope="session")
def run_unprivileged():
    """``run_unprivileged(python_code, *args) -> CompletedProcess``: runs Python code in a child that
    file permissions apply to, even when the suite runs as root (skips where that cannot be had)."""
    prefix = _unprivileged_prefix()
    if os.geteuid() == 0 and prefix is None:
        pytest.skip("cannot drop root's file-permission override here (no setpriv, no user namespaces)")

    def run(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        cmd = [*(prefix if os.geteuid() == 0 else []), sys.executable, "-c", code, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)

    return run


@pytest.fixture(scope="session")
def docs_dir(tmp_path_factory) -> Path:
    """A folder with one of each good kind of document (generated once per session; read-only)."""
    d = tmp_path_factory.mktemp("docs")
    make_text_pdf(d / "report.pdf")
    make_chinese_pdf(d / "chinese.pdf")
    make_scanned_pdf(d / "scanned.pdf")
    make_mixed_pdf(d / "mixed.pdf")
    return d


@pytest.fixture(scope="session")
def text_pdf(docs_dir) -> Path:
    return docs_dir / "report.pdf"


@pytest.fixture(scope="session")
def chinese_pdf(docs_dir) -> Path:
    return docs_dir / "chinese.pdf"


@pytest.fixture(scope="session")
def scanned_pdf(docs_dir) -> Path:
    return docs_dir / "scanned.pdf"


@pytest.fixture(scope="session")
def mixed_pdf(docs_dir) -> Path:
    return docs_dir / "mixed.pdf"


@pytest.fixture(scope="session")
def scanned_chinese_png(tmp_path_factory) -> Path:
    return make_scanned_chinese_png(tmp_path_factory.mktemp("img") / "fapiao.png")


@pytest.fixture(scope="session")
def latin_ocr() -> str:
    """The engine ``auto`` OCRs an English scan with: Tesseract where it is installed with eng + chi_sim
    (bin/setup installs it), else RapidOCR."""
    from vlkit.documents import OCRRouter

    return "tesseract" if OCRRouter(cjk=None).latin is not None else "rapidocr"  # type: ignore[arg-type]


@pytest.fixture
def locked_tree(tmp_path, text_pdf):
    """``docs/good.pdf``, ``docs/locked/inside.pdf`` (folder mode 000), ``docs/open/ok.pdf``."""
    root = tmp_path / "docs"
    for sub in ("locked", "open"):
        (root / sub).mkdir(parents=True)
    shutil.copy(text_pdf, root / "good.pdf")
    shutil.copy(text_pdf, root / "locked" / "inside.pdf")
    shutil.copy(text_pdf.with_name("chinese.pdf"), root / "open" / "ok.pdf")
    (root / "locked").chmod(0)
    yield root
    (root / "locked").chmod(0o755)
