"""Bad input gives the typed vlkit error, before the model is ever called."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from tests.tools.invoice.conftest import ScriptedChatModel
from vlkit.errors import DocumentError, ImageTooLargeError
from vlkit.tools.invoice import InvoiceExtractor


def extract(path: Path):
    model = ScriptedChatModel(answers=[])
    try:
        return InvoiceExtractor(model).extract(path)
    finally:
        assert model.calls == []


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width x height``: a decompression bomb, refused from the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage \x00\x01\x02")
    with pytest.raises(DocumentError, match="broken.pdf"):
        extract(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(DocumentError, match="empty"):
        extract(path)


def test_blank_pdf_page(tmp_path: Path) -> None:
    path = tmp_path / "blank.pdf"
    doc = pymupdf.open()
    doc.new_page()
    doc.save(path)
    with pytest.raises(DocumentError, match="blank"):
        extract(path)


def test_blank_image(tmp_path: Path) -> None:
    path = tmp_path / "white.png"
    Image.new("RGB", (300, 200), "white").save(path)
    with pytest.raises(DocumentError, match="blank"):
        extract(path)


def test_image_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(100_000, 100_000))
    with pytest.raises(ImageTooLargeError, match="pixels"):
        extract(path)


def test_unsupported_and_missing(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK")
    with pytest.raises(DocumentError, match="unsupported"):
        extract(tmp_path / "notes.docx")
    with pytest.raises(DocumentError, match="no such file"):
        extract(tmp_path / "missing.pdf")
