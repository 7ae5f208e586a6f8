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

__all__ = [
    "PATH_SEP",
    "ChunkConfig",
    "chunk_id",
    "chunk_page",
    "context_header",
    "document_title",
    "section_level",
    "with_heading",
]

PATH_SEP = " > "
"""Joins the headings of a section path in ``Chunk.heading``."""

_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s*|\n")
_NO_HEADING_END = tuple(".,;:!?。，；：！？、)]>\"'")


@dataclass(frozen=True)
class ChunkConfig:
    max_chars: int = 1000
    """Chunks hold at most this many characters (a longer paragraph is cut at a sentence or line end)."""
    short_line: int = 60
    """Fallback heading test: a stand-alone line at most this long, without closing punctuation."""
    section_path: bool = True
    """``Chunk.heading`` is the section path rooted at the document title (see the module docstring);
    ``False``: only the nearest heading, as before."""


def chunk_id(doc_id: str, page: int, index: int) -> str:
    """Deterministic chunk id, so re-ingesting a page overwrites instead of duplicating."""
    return f"{doc_id}:{page}:{index}"


def with_heading(chunk: Chunk) -> str:
    """The text a chunk is embedded and BM25-indexed as: a chunk that continues a section (no heading
    line of its own) gets that section's heading (path) in front, so "Options: ..." on page 7 is still
    about "Configuring the proxy". A chunk with its own heading line gets only the path *above* the
    heading in force at its start: that heading describes the text before its first heading line,
    not the chunk, but the title and enclosing chapters describe all of it."""
    header = context_header(chunk)
    return f"{header}\n{chunk.text}" if header else chunk.text


def context_header(chunk: Chunk) -> str:
    """The part of :func:`with_heading` put in front of the chunk's text ('' for none)."""
    if not chunk.heading:
        return ""
    if chunk.text.startswith("# ") or "\n# " in chunk.text:
        return chunk.heading.rpartition(PATH_SEP)[0]
    return chunk.heading


_NUMBER_ONLY = re.compile(
    r"^(?:(?:chapter|appendix|part|section)\s+)?(?:[0-9]+|[A-Z]|[IVXLC]+|one|two|three|four|five|six|seven|"
    r"eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen)(?:\.[0-9]+)*\.?$", re.IGNORECASE)
_DIGITS_ONLY = re.compile(r"^(?:(?:chapter|appendix|part|section)\s+\S+|[0-9]+(?:\.[0-9]+)*\.?|[A-Z](?:\.[0-9]+)+)$",
                          re.IGNORECASE)
"""A number that can only be a section number; a word ("TWO", "One") or a lone letter is one only
when a heading line follows it."""
_NUMBERED = re.compile(r"^(?:(chapter|appendix|part)\s+\S+|([0-9]+|[A-Z])((?:\.[0-9]+)*)\.?)(?:\s|$)", re.IGNORECASE)


def section_level(name: str) -> int | None:
    """The depth a heading's own number gives it: ``Chapter 2`` and ``2`` are 1, ``2.4`` is 2,
    ``A.1`` is 2; ``None`` for an unnumbered heading. A lone capital counts only when followed by
    a dot and a number (``A.1``), so "A note" is not an appendix."""
    m = _NUMBERED.match(name.strip())
    if not m:
        return None
    if m.group(1):
        return 1
    head, rest = m.group(2), m.group(3)
    if head.isalpha() and not rest:
        return None
    return 1 + rest.count(".")


def _path_push(path: list[tuple[int, str]], name: str, marks: int) -> None:
    """Put heading ``name`` into ``path`` (``(level, name)`` pairs, root first, level 0 the title).

    Numbered headings sit at their number's depth; ``##`` marks give a depth when there is no
    number; an unnumbered ``#`` heading sits just under the deepest numbered one (replacing an
    earlier unnumbered one there), which is how manuals use "Note", "Example" and FAQ questions.
    """
    if path and path[0][0] == 0 and _plain(name) == _plain(path[0][1]):
        return  # the running header repeats the title on every page: not a section
    level = section_level(name)
    if level is None and marks > 1:
        level = marks
    if level is None:
        numbered = [lv for lv, n in path if lv > 0 and section_level(n) is not None]
        level = (max(numbered) if numbered else 0) + 1
    while path and path[-1][0] >= level:
        path.pop()
    path.append((level, name.replace(PATH_SEP, " - ")))


def _plain(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _parse_path(heading: str, title: str) -> list[tuple[int, str]]:
    """A carried ``Chunk.heading`` back into ``(level, name)`` pairs."""
    names = [n for n in heading.split(PATH_SEP) if n] if heading else []
    path: list[tuple[int, str]] = []
    if title:
        path.append((0, title))
        if names and names[0] == title:
            names = names[1:]
    for name in names:
        _path_push(path, name, 1)
    return path


def document_title(metadata: dict | None, file_name: str) -> str:
    """The root of a document's section paths: the PDF's own title when it has a real one, else the
    file name made readable ("maint-guide.en.pdf" -> "maint guide")."""
    title = " ".join(str((metadata or {}).get("title") or "").split())
    junk = not title or title.lower() in {"untitled", "title", "document"} or title.lower().endswith(
        (".pdf", ".doc", ".docx", ".tex", ".dvi")) or title.lower().startswith("microsoft word")
    if not junk:
        return title.replace(PATH_SEP, " - ")
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    stem = re.sub(r"\.[a-z]{2}(?:[-_][a-zA-Z]{2,4})?$", "", stem)  # a language suffix: .en, .zh-cn
    return " ".join(re.sub(r"[-_.]+", " ", stem).split())


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
        if not cfg.section_path:
            return [r.startswith("# ") for r in raw]
        # readers miss small numbered headings ("5.10.3.3 wanna-build" in body type): a
        # stand-alone numbered line counts too
        return [r.startswith("#") and r.lstrip("#").startswith(" ") or _numbered_line(raw, i, cfg)
                for i, r in enumerate(raw)]
    flags = []
    for i, r in enumerate(raw):
        before_blank = i == 0 or not raw[i - 1]
        after_text = i + 1 < len(raw) and bool(raw[i + 1])
        flags.append(
            bool(r) and 2 <= len(r) <= cfg.short_line and before_blank and after_text
            and not r.endswith(_NO_HEADING_END) and any(c.isalpha() for c in r)
        )
    return flags


def _numbered_line(raw: list[str], i: int, cfg: ChunkConfig) -> bool:
    r = raw[i]
    return (
        2 <= len(r) <= cfg.short_line and (i == 0 or not raw[i - 1]) and (i + 1 == len(raw) or not raw[i + 1])
        and (section_level(r) or 0) >= 2 and " " in r and not r.endswith(_NO_HEADING_END)
        and not r.rstrip(".").replace(".", "").isdigit()
    )


def _heading_name(line: str) -> tuple[str, int]:
    """A heading line's text and its number of ``#`` marks."""
    stripped = line.strip()
    marks = len(stripped) - len(stripped.lstrip("#"))
    return stripped.lstrip("#").strip(), marks


def _merge_numbers(text: str, lines: list[tuple[int, int]], flags: list[bool]) -> dict[int, int]:
    """Heading lines that hold only a section number ("# 1.1.4", "# Chapter 2") -> the line of the
    title that follows them (the next non-blank line, a heading or a short line): one heading."""
    out: dict[int, int] = {}
    for i, flag in enumerate(flags):
        if not flag or not _NUMBER_ONLY.match(_heading_name(text[lines[i][0]:lines[i][1]])[0]):
            continue
        j = i + 1
        while j < len(lines) and not text[lines[j][0]:lines[j][1]].strip():
            j += 1
        if j < len(lines):
            nxt = _heading_name(text[lines[j][0]:lines[j][1]])[0]
            own = _heading_name(text[lines[i][0]:lines[i][1]])[0]
            if (flags[j] and not _NUMBER_ONLY.match(nxt)) or (
                    _DIGITS_ONLY.match(own) and len(nxt) <= 120 and not nxt.endswith(_NO_HEADING_END)
                    and section_level(nxt) is None):
                out[i] = j
    return out


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
    heading: str = "", image_path: str | None = None, config: ChunkConfig | None = None, title: str = "",
) -> tuple[list[Chunk], str]:
    """Chunks of one page and the heading (path) in force at its end (carried into the next page).

    ``heading`` is the heading carried over from the previous page; ``title`` the document's title,
    the root of every section path (with :attr:`ChunkConfig.section_path`).
    """
    cfg = config or ChunkConfig()
    lines = _lines(text)
    flags = _heading_flags(text, lines, cfg)
    merged = _merge_numbers(text, lines, flags) if cfg.section_path else {}
    # pieces: heading lines and paragraphs (runs of non-blank lines), as (start, end, heading name)
    pieces: list[tuple[int, int, str | None]] = []
    para: list[int] = []
    skip_to = -1
    for n, ((s, e), is_head) in enumerate(zip(lines, flags)):
        if n <= skip_to:
            continue
        blank = not text[s:e].strip()
        if (blank or is_head) and para:
            pieces += [(a, b, None) for a, b in _split_long(text, para[0], para[1], cfg.max_chars)]
            para = []
        if is_head:
            name, marks = _heading_name(text[s:e])
            if n in merged:  # "# 1.1.4" + "# The root shell prompt": one heading, one piece
                skip_to = merged[n]
                e = lines[skip_to][1]
                name = f"{name} {_heading_name(text[lines[skip_to][0]:e])[0]}"
            pieces.append((s, e, f"{marks}\x00{name}"))
        elif not blank:
            para = [para[0] if para else s, e]
    if para:
        pieces += [(a, b, None) for a, b in _split_long(text, para[0], para[1], cfg.max_chars)]

    # sections: a heading line and the pieces under it; the first may have no heading line
    # (it continues the section carried over from the previous page)
    path = _parse_path(heading, title) if cfg.section_path else []
    sections: list[tuple[str, bool, list[tuple[int, int]]]] = []  # (heading, starts with it, pieces)
    for s, e, head in pieces:
        if head is not None:
            marks, name = head.split("\x00", 1)
            if cfg.section_path:
                _path_push(path, name, int(marks))
                name = PATH_SEP.join(n for _, n in path)
            sections.append((name, True, [(s, e)]))
        elif sections:
            sections[-1][2].append((s, e))
        else:
            carried = PATH_SEP.join(n for _, n in path) if cfg.section_path else heading
            sections.append((carried, False, [(s, e)]))

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
    if sections:
        last_heading = sections[-1][0]
    else:
        last_heading = PATH_SEP.join(n for _, n in path) if cfg.section_path else heading

    chunks = [
        Chunk(
            id=chunk_id(doc_id, page, i), doc_id=doc_id, file_name=file_name, sha256=sha256, page=page,
            reader=reader, text=text[s:e], start=s, end=e, heading=h, image_path=image_path,
        )
        for i, (s, e, h) in enumerate(spans)
    ]
    return chunks, last_heading
