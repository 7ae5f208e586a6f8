"""Splits one page's text into chunks that never cross the page and are cut at headings first.

Headings are the Markdown ``# `` lines readers emit (font size or bold in a PDF text layer, tall
OCR boxes, a VLM's judgement). A page with none falls back to short stand-alone lines. Whole
sections are packed into a chunk while they fit, so a chunk is about as long as the embedding
model's window (all-MiniLM-L6-v2 reads 256 word pieces, ~1,000 characters of English): one
tiny chunk per heading gave the embedder too little context — a Chinese question about an English
page found it far less often. Every chunk is an exact slice ``page_text[start:end]``, so offsets
can highlight the source, and records the heading in force where it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vlkit.retrieval.types import Chunk

__all__ = ["ChunkConfig", "chunk_page", "chunk_id", "with_heading"]

_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s*|\n")
_NO_HEADING_END = tuple(".,;:!?。，；：！？、)]>\"'")


@dataclass(frozen=True)
class ChunkConfig:
    max_chars: int = 1000
    """Chunks hold at most this many characters (a longer paragraph is cut at a sentence or line end)."""
    short_line: int = 60
    """Fallback heading test: a stand-alone line at most this long, without closing punctuation."""


def chunk_id(doc_id: str, page: int, index: int) -> str:
    """Deterministic chunk id, so re-ingesting a page overwrites instead of duplicating."""
    return f"{doc_id}:{page}:{index}"


def with_heading(chunk: Chunk) -> str:
    """The text a chunk is embedded and BM25-indexed as: a chunk that continues a section (no heading
    line of its own) gets that section's heading in front, so "Options: ..." on page 7 is still about
    "Configuring the proxy". A chunk with its own heading line is left as it is: the heading carried
    into it from before would describe the text *above* its first heading, not the chunk."""
    if not chunk.heading or chunk.text.startswith("# ") or "\n# " in chunk.text:
        return chunk.text
    return f"{chunk.heading}\n{chunk.text}"


def _lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every line, end excluding the newline."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _heading_flags(text: str, lines: list[tuple[int, int]], cfg: ChunkConfig) -> list[bool]:
    raw = [text[s:e].strip() for s, e in lines]
    if any(r.startswith("# ") for r in raw):
        return [r.startswith("# ") for r in raw]
    flags = []
    for i, r in enumerate(raw):
        before_blank = i == 0 or not raw[i - 1]
        after_text = i + 1 < len(raw) and bool(raw[i + 1])
        flags.append(
            bool(r) and 2 <= len(r) <= cfg.short_line and before_blank and after_text
            and not r.endswith(_NO_HEADING_END) and any(c.isalpha() for c in r)
        )
    return flags


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` into spans of at most ``limit`` chars, at sentence or line ends."""
    spans = []
    while end - start > limit:
        cut = None
        for m in _SENTENCE_END.finditer(text, start + limit // 2, start + limit):
            cut = m.end()
        if cut is None or cut <= start:
            cut = start + limit
        spans.append((start, cut))
        start = cut
    spans.append((start, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_page(
    text: str, *, doc_id: str, file_name: str, sha256: str, page: int, reader: str,
    heading: str = "", image_path: str | None = None, config: ChunkConfig | None = None,
) -> tuple[list[Chunk], str]:
    """Chunks of one page and the heading in force at its end (carried into the next page).

    ``heading`` is the heading carried over from the previous page.
    """
    cfg = config or ChunkConfig()
    lines = _lines(text)
    flags = _heading_flags(text, lines, cfg)
    # pieces: heading lines and paragraphs (runs of non-blank lines), as (start, end, is_heading)
    pieces: list[tuple[int, int, bool]] = []
    para: list[int] = []
    for (s, e), is_head in zip(lines, flags):
        blank = not text[s:e].strip()
        if (blank or is_head) and para:
            pieces += [(a, b, False) for a, b in _split_long(text, para[0], para[1], cfg.max_chars)]
            para = []
        if is_head:
            pieces.append((s, e, True))
        elif not blank:
            para = [para[0] if para else s, e]
    if para:
        pieces += [(a, b, False) for a, b in _split_long(text, para[0], para[1], cfg.max_chars)]

    # sections: a heading line and the pieces under it; the first may have no heading line
    # (it continues the section carried over from the previous page)
    sections: list[tuple[str, bool, list[tuple[int, int]]]] = []  # (heading, starts with it, pieces)
    for s, e, is_head in pieces:
        if is_head:
            sections.append((text[s:e].strip().lstrip("#").strip(), True, [(s, e)]))
        elif sections:
            sections[-1][2].append((s, e))
        else:
            sections.append((heading, False, [(s, e)]))

    # Pack whole sections while they fit; a section that does not fit starts a new chunk, and one
    # longer than a chunk is cut between its pieces. A heading line stays with what follows it.
    spans: list[tuple[int, int, str]] = []
    cur: list[Any] | None = None  # [start, end, heading, holds only a heading line]

    def flush() -> None:
        if cur is not None:
            s, e = _trim(text, cur[0], cur[1])
            if e > s:
                spans.append((s, e, cur[2]))

    for head, has_line, parts in sections:
        if cur is not None and parts[-1][1] - cur[0] <= cfg.max_chars:
            cur[1], cur[3] = parts[-1][1], False
            continue
        flush()
        cur = None
        for i, (a, b) in enumerate(parts):
            if cur is None:
                cur = [a, b, head, i == 0 and has_line]
            elif b - cur[0] <= cfg.max_chars or cur[3]:
                cur[1], cur[3] = b, False
            else:
                flush()
                cur = [a, b, head, False]
    flush()
    last_heading = sections[-1][0] if sections else heading

    chunks = [
        Chunk(
            id=chunk_id(doc_id, page, i), doc_id=doc_id, file_name=file_name, sha256=sha256, page=page,
            reader=reader, text=text[s:e], start=s, end=e, heading=h, image_path=image_path,
        )
        for i, (s, e, h) in enumerate(spans)
    ]
    return chunks, last_heading
