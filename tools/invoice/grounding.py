"""Grounding: is every extracted number, date and identifier actually printed on the page?

A wrong total that *looks* right is the failure that hurts most, and a VLM reading a 448-pixel view
of an A4 page invents digits. So each grounded value is looked up in the page text (PDF text layer or
OCR) after normalising what legitimately differs between the JSON and the print: spaces, thousands
separators, full-width digits (NFKC), currency marks, date formats (``2024年03月15日``, ``15/03/2024``,
``Mar 15, 2024``). Numbers are compared by value (``1,234.5`` grounds ``1234.50``), identifiers by their
letters and digits (``010-1234 5678`` grounds ``01012345678``). A value that is not found gets the
nearest candidate on the page (edit distance), with its box, so the user sees what was probably meant.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

__all__ = [
    "TextBox", "PageText", "Evidence", "as_pages", "normalise", "edit_distance", "number_values", "find_value", "nearest_candidate",
]

CURRENCY_MARKS = "¥$€£₩₹₽₫฿₺₪₱"
_MINUS = "\u2212\u2013\u2014"
_NUMBER_RE = re.compile(r"-?\d+(?:[.,']\d+)*")
_SPACED_RE = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?:[.,]\d+)?(?![\d])")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = [
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})"), ("a", "b", "y")),
    (re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})", re.I), ("d", "mon", "y")),
    (re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I), ("mon", "d", "y")),
]


@dataclass(frozen=True)
class TextBox:
    """One line of page text and where it is: ``(x0, y0, x1, y1)`` in page-image pixels, or None."""

    text: str
    page: int = 1
    box: tuple[float, float, float, float] | None = None


@dataclass
class PageText:
    """The text of one page, as lines with boxes (OCR lines, or PDF text-layer lines)."""

    number: int
    text: str
    boxes: list[TextBox] = field(default_factory=list)


class Evidence(BaseModel):
    """Where on the page a value was found (or, for a failed check, the nearest thing that was)."""

    model_config = ConfigDict(extra="forbid")

    page: int
    """1-based page number."""
    text: str
    """The page text that matched (a line, or the token in it)."""
    box: list[float] | None = None
    """``[x0, y0, x1, y1]`` in pixels of the rendered page; None when only the joined text matched."""


def as_pages(page_text: str | PageText | Sequence[PageText]) -> list[PageText]:
    """Accept plain text (one page, lines without boxes), one page, or a list of pages."""
    if isinstance(page_text, str):
        lines = [line for line in page_text.splitlines() if line.strip()]
        return [PageText(1, page_text, [TextBox(line, 1, None) for line in lines])]
    if isinstance(page_text, PageText):
        return [page_text]
    return list(page_text)


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), one kind of minus, no currency marks."""
    s = unicodedata.normalize("NFKC", text)
    for ch in _MINUS:
        s = s.replace(ch, "-")
    return "".join(ch for ch in s if ch not in CURRENCY_MARKS and ch != "\uffe5")


def _canon_id(text: str) -> str:
    return "".join(ch for ch in normalise(text).upper() if ch.isalnum())


def _token_values(token: str) -> set[Decimal]:
    """The values a printed number can mean: ``1,234.50`` -> 1234.50; ``12,50`` -> 12.50; ``1.234`` -> 1.234 or 1234."""
    token = token.replace(" ", "")
    negative = token.startswith("-")
    body = token.lstrip("-").strip(".,'")
    groups = re.split(r"[.,']", body)
    out: set[Decimal] = set()
    try:
        if len(groups) == 1:
            out.add(Decimal(body))
        else:
            if all(len(g) == 3 for g in groups[1:]):  # every separator a thousands separator
                out.add(Decimal("".join(groups)))
            if all(len(g) == 3 for g in groups[1:-1]):  # the last one the decimal point
                out.add(Decimal("".join(groups[:-1]) + "." + groups[-1]))
    except InvalidOperation:
        return set()
    return {-v if negative else v for v in out}


def number_values(text: str) -> list[tuple[str, set[Decimal]]]:
    """Every number printed in ``text``: ``(token, possible values)``."""
    s = normalise(text)
    found = [(m.group(0), _token_values(m.group(0))) for m in _NUMBER_RE.finditer(s)]
    found += [(m.group(0), _token_values(m.group(0))) for m in _SPACED_RE.finditer(s)]
    return found


def _dates(text: str) -> list[tuple[str, tuple[int, int, int]]]:
    s = normalise(text)
    out: list[tuple[str, tuple[int, int, int]]] = []
    for pattern, roles in _DATE_PATTERNS:
        for m in pattern.finditer(s):
            parts = dict(zip(roles, m.groups()))
            y = int(parts["y"])
            if "mon" in parts:
                options = [(_MONTHS[parts["mon"][:3].lower()], int(parts["d"]))]
            elif "m" in parts:
                options = [(int(parts["m"]), int(parts["d"]))]
            else:  # 15/03/2024 or 03/15/2024: both readings
                a, b = int(parts["a"]), int(parts["b"])
                options = [(b, a), (a, b)]
            out += [(m.group(0), (y, mo, d)) for mo, d in options]
    return out


def _matches(value: object, kind: str, text: str) -> str | None:
    """The token of ``text`` that grounds ``value``, or None."""
    if kind == "number":
        try:
            target = abs(Decimal(str(value)))
        except InvalidOperation:
            return None
        for token, values in number_values(text):
            if any(abs(v) == target for v in values):
                return token
        return None
    if kind == "date":
        try:
            y, m, d = (int(p) for p in str(value).split("-"))
        except ValueError:
            return None
        for token, ymd in _dates(text):
            if ymd == (y, m, d):
                return token
        return None
    target = _canon_id(str(value))
    if target and target in _canon_id(text):
        return str(value)
    return None


def find_value(value: object, kind: str, pages: Iterable[PageText]) -> Evidence | None:
    """Where ``value`` (a ``number``, ``date`` or ``identifier``) is printed: a line box first, else a page."""
    pages = list(pages)
    for page in pages:
        for line in page.boxes:
            if _matches(value, kind, line.text) is not None:
                return Evidence(page=line.page, text=line.text, box=list(line.box) if line.box else None)
    for page in pages:  # a value split across lines (a long id wrapped, OCR cutting a line in two)
        joined = page.text if page.text else " ".join(b.text for b in page.boxes)
        if kind == "identifier":
            joined = "".join(b.text for b in page.boxes) or joined
        if _matches(value, kind, joined) is not None:
            return Evidence(page=page.number, text=str(value), box=None)
    return None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (two rows; the strings are short tokens)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _candidates(kind: str, line: TextBox) -> list[str]:
    if kind == "number":
        return [token for token, _ in number_values(line.text)]
    if kind == "date":
        return [token for token, _ in _dates(line.text)]
    return [t for t in re.split(r"[\s:：,，;；]+", normalise(line.text)) if t] + [line.text]


def _key(kind: str, text: str) -> str:
    """The normalised form tokens are compared in: digits for numbers, YYYYMMDD for dates, letters+digits for ids."""
    if kind == "date":
        parsed = _dates(text)
        if parsed:
            y, m, d = parsed[0][1]
            return f"{y:04d}{m:02d}{d:02d}"
    if kind in ("number", "date"):
        return re.sub(r"\D", "", normalise(text))
    return _canon_id(text)


def nearest_candidate(value: object, kind: str, pages: Iterable[PageText]) -> Evidence | None:
    """The printed token most like ``value`` (smallest edit distance of the normalised forms), with its box."""
    if kind == "number":
        try:
            target = re.sub(r"\D", "", format(Decimal(str(value)), "f"))
        except InvalidOperation:
            target = re.sub(r"\D", "", str(value))
    elif kind == "date":
        target = re.sub(r"\D", "", str(value))
    else:
        target = _canon_id(str(value))
    pages = list(pages)
    if kind == "date" and not any(_dates(line.text) for page in pages for line in page.boxes):
        kind_for_tokens = "number"  # no date printed anywhere: compare with the numbers
    else:
        kind_for_tokens = kind
    best: tuple[float, Evidence] | None = None
    for page in pages:
        for line in page.boxes:
            for token in _candidates(kind_for_tokens, line):
                key = _key(kind, token)
                if not key:
                    continue
                score = edit_distance(target, key) / max(len(target), len(key), 1)
                if best is None or score < best[0]:
                    best = (score, Evidence(page=line.page, text=token, box=list(line.box) if line.box else None))
    return best[1] if best is not None else None
