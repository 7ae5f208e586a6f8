"""A fast, lossless PNG writer for rendered pages.

Why not MuPDF's or Pillow's PNG writer: both spend most of a text-layer page's ingest time encoding it
(figures in ``benchmarks/README.md``). Pages are mostly black text on white, so two things make them cheap
without losing a pixel:

- a page whose three channels are equal everywhere is stored as 8-bit grayscale (a third of the
  bytes to compress; the PNG decodes to the same RGB values);
- fast deflate with no row filter: Intel ISA-L (the ``isal`` package, in the ``kb`` extra) at
  level 1, several times faster than zlib at level 1 and as small; without ``isal``, zlib level 1 is
  used. Both write a standard zlib stream.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from vlkit.errors import InvalidArgumentError

try:  # ISA-L: the same zlib stream, faster at level 1
    from isal.isal_zlib import compress as _compress
except ImportError:  # pragma: no cover - isal ships in the kb extra
    from zlib import compress as _compress

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


SAMPLE_ROWS = 16
"""The grayscale test looks at every 16th row first: most manual pages have some colour (links,
highlighted code) and are told apart from gray ones at a sixteenth of the cost of a full check."""


def _equal_channels(pixels: np.ndarray) -> bool:
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]))


def _is_gray(pixels: np.ndarray) -> bool:
    """Whether all three channels are equal everywhere (sampled rows first, then all of them)."""
    return _equal_channels(pixels[::SAMPLE_ROWS]) and _equal_channels(pixels)


def encode_png(pixels: np.ndarray, *, level: int = 1) -> bytes:
    """Encode an ``H x W x 3`` (RGB) or ``H x W`` (gray) ``uint8`` array as PNG, grayscale when lossless.

    ``level``: deflate level, 0-3 with ISA-L (0-9 with zlib).
    """
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise InvalidArgumentError(f"expected uint8 HxW or HxWx3 pixels, got {pixels.dtype} {pixels.shape}")
    if pixels.ndim == 3 and _is_gray(pixels):
        pixels = pixels[..., 0]
    height, width = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = np.empty((height, 1 + width * (1 if colour_type == 0 else 3)), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "none" on every row
    rows[:, 1:] = pixels.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", _compress(rows.data, level))
            + _chunk(b"IEND", b""))
