"""Grounding: is every extracted number, date and identifier actually printed on the page?

A wrong total that *looks* right is the failure that hurts most, and a VLM reading a 448-pixel view
of an A4 page invents digits. So each grounded value is looked up in the page text (PDF text layer or
OCR) after normalising what legitimately differs between the JSON and the print: spaces, thousands
separators, full-width digits (NFKC), currency marks, date formats (``2024年03月15日``, ``15/03/2024``,
``Mar 15, 2024``). Numbers are compared by value (``1,234.5`` grounds ``1234.50``), identifiers by their
letters and digits (``010-1234 5678`` grounds ``01012345678``). A value that is not found gets the
nearest candidate on the page (edit distance), with its box, so the user sees what was probably meant.

Given the field it belongs to (``find_value(..., field="subtotal")``), a value printed several times
is grounded at the copy next to that field's label (:data:`FIELD_LABELS`: 合计/Subtotal, 税额/VAT, a
table's column header …): in the label's own line after it, on the same row to its right, or in the
column below it (an item's ``items[i]`` value in the column's i-th row when that row holds it). A
small whole number printed bare (:data:`SMALL_NUMBER`: a quantity of ``2``, the ``13`` of ``13%``; not
``5.00``) turns up all over a page — in dates, phone numbers, other lines — so it grounds only next to
its label.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

from vlkit.documents import PageLines, TextLine

__all__ = [
    "FIELD_LABELS", "SMALL_NUMBER", "Evidence", "as_pages", "normalise", "edit_distance",
    "number_values", "find_value", "field_labels", "nearest_candidate",
]

CURRENCY_MARKS = "¥$€£₩₹₽₫฿₺₪₱"
_MINUS = "\u2212\u2013\u2014"
_NUMBER_RE = re.compile(r"-?\d+(?:[.,']\d+)*")
_SPACED_RE = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?:[.,]\d+)?(?![\d])")
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "total": ("价税合计", "小写", "total", "amount due", "balance due", "grand total", "total due"),
    "subtotal": ("合计", "subtotal", "sub-total", "net total", "net amount", "total net"),
    "tax_total": ("合计", "tax", "vat", "gst", "tax total", "total tax"),
    "invoice_number": ("发票号码", "invoice no", "invoice number", "invoice #", "no."),
    "invoice_code": ("发票代码",),
    "issue_date": ("开票日期", "日期", "date", "invoice date"),
    "check_code": ("校验码",),
    "tax_id": ("纳税人识别号", "统一社会信用代码", "税号", "tax id", "vat no", "vat number", "tin", "gst no"),
    "phone": ("电话", "tel", "phone"),
    "account": ("账号", "account", "iban"),
    "quantity": ("数量", "qty", "quantity"),
    "unit_price": ("单价", "unit price", "price", "rate"),
    "amount": ("金额", "amount", "line total"),
    "tax_rate": ("税率", "征收率", "tax rate", "vat rate", "vat %", "rate"),
    "tax_amount": ("税额", "tax", "vat"),
}
"""The labels printed next to each field (by the last part of its key path: ``items[0].quantity`` ->
``quantity``). A field not listed here is labelled by its own name (``purchase_order`` -> "purchase order")."""
SMALL_NUMBER = 99
"""Whole numbers up to this, printed bare, ground only next to their field's label (when the field is given)."""
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = [
    (re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})"), ("a", "b", "y")),
    (re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})", re.I), ("d", "mon", "y")),
    (re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I), ("mon", "d", "y")),
]


class Evidence(BaseModel):
    """Where on the page a value was found (or, for a failed check, the nearest thing that was)."""

    model_config = ConfigDict(extra="forbid")

    page: int
    """1-based page number."""
    text: str
    """The page text that matched (a line, or the token in it)."""
    box: list[float] | None = None
    """``[x0, y0, x1, y1]`` in pixels of the rendered page; None when only the joined text matched."""


def as_pages(page_text: str | PageLines | Sequence[PageLines]) -> list[PageLines]:
    """Accept plain text (one page, lines without boxes), one page, or a list of pages."""
    if isinstance(page_text, str):
        return [PageLines.from_text(page_text)]
    if isinstance(page_text, PageLines):
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


def field_labels(field: str) -> tuple[str, ...]:
    """The labels of a field given as a key path (``items[2].tax_rate`` -> ``("税率", …)``)."""
    key = re.sub(r"\[\d+\]", "", field).rsplit(".", 1)[-1]
    return FIELD_LABELS.get(key) or (key.replace("_", " "),)


def _label_at(labels: Sequence[str], text: str) -> int | None:
    """Where the first of ``labels`` starts in ``text`` (whole words for Latin labels), or None."""
    s = normalise(text).lower()
    found = []
    for label in labels:
        pattern = re.escape(label) if not label.isascii() else r"(?<![a-z])" + re.escape(label) + r"(?![a-z])"
        m = re.search(pattern, s)
        if m:
            found.append(m.start())
    return min(found) if found else None


def _item_index(field: str | None) -> int | None:
    m = re.match(r"items\[(\d+)\]\.", field or "")
    return int(m.group(1)) if m else None


def _support(
    line: TextLine, token: str, page: PageLines, labels: Sequence[str], row_index: int | None
) -> tuple[int, float] | None:
    """How well ``line`` (holding ``token``) sits next to a label: ``(rank, distance)``, lower is better, or None.

    Rank 0: the label earlier in the same line; 1: a label on the same row to the left; 2: a label
    above, in the same column (rank -1 for an item's own row of that column). Distances in pixels.
    """
    at = _label_at(labels, line.text)
    if at is not None and normalise(line.text).lower().find(normalise(token).lower(), at) >= 0:
        return (0, 0.0)  # the label, then the value, in one line
    if line.box is None:
        return _text_column_support(line, token, page, labels, row_index)
    x0, y0, x1, y1 = line.box
    best: tuple[int, float] | None = None
    for other in page.lines:
        if other is line or other.box is None or _label_at(labels, other.text) is None:
            continue
        ox0, oy0, ox1, oy1 = other.box
        overlap = min(y1, oy1) - max(y0, oy0)
        if overlap >= 0.5 * min(y1 - y0, oy1 - oy0) and x0 >= ox1 - 1:  # same row, label to the left
            candidate = (1, x0 - ox1)
        elif min(x1, ox1) - max(x0, ox0) > 0 and y0 >= (oy0 + oy1) / 2:  # same column, label above
            candidate = (2, y0 - oy1)
            if row_index is not None and _column_rows(other, page)[row_index : row_index + 1] == [line]:
                candidate = (-1, 0.0)  # items[i]: the column's i-th row
        else:
            continue
        if best is None or candidate < best:
            best = candidate
    return best


def _cells(text: str) -> list[str]:
    """A text line's whitespace-separated cells, last first (numeric columns line up from the right)."""
    return normalise(text).lower().split()[::-1]


def _text_column_support(
    line: TextLine, token: str, page: PageLines, labels: Sequence[str], row_index: int | None
) -> tuple[int, float] | None:
    """Support for a line without a box (plain text): a header line above whose k-th cell from the right
    is a label while this line's k-th cell from the right holds the token — a table's column, in text."""
    lines = [b for b in page.lines if b.box is None]
    if line not in lines:
        return None
    here = lines.index(line)
    cells = _cells(line.text)
    key = normalise(token).lower()
    columns = [k for k, cell in enumerate(cells) if key in cell]
    for above in range(here - 1, -1, -1):
        header = _cells(lines[above].text)
        for k in columns:
            if k < len(header) and _label_at(labels, header[k]) is not None:
                rows = [b for b in lines[above + 1 :] if k < len(_cells(b.text)) and number_values(_cells(b.text)[k])]
                if row_index is not None and rows[row_index : row_index + 1] == [line]:
                    return (-1, 0.0)
                return (2, float(here - above))
    return None


def _column_rows(header: TextLine, page: PageLines) -> list[TextLine]:
    """The lines holding a number below ``header`` in its column, top to bottom (a table column's cells)."""
    assert header.box is not None
    hx0, hy0, hx1, hy1 = header.box
    cells = [
        b for b in page.lines
        if b.box is not None and b is not header and min(b.box[2], hx1) - max(b.box[0], hx0) > 0
        and b.box[1] >= (hy0 + hy1) / 2 and number_values(b.text)
    ]
    return sorted(cells, key=lambda b: b.box[1])  # type: ignore[index]


def _is_small(token: str) -> bool:
    """A bare whole number of at most two digits as printed (``2``, ``13`` of ``13%``; not ``5.00``)."""
    digits = normalise(token).strip().lstrip("-")
    return digits.isdigit() and int(digits) <= SMALL_NUMBER


def find_value(value: object, kind: str, pages: Iterable[PageLines], field: str | None = None) -> Evidence | None:
    """Where ``value`` (a ``number``, ``date`` or ``identifier``) is printed: a line box first, else a page.

    With ``field`` (its key path, ``items[0].amount``), the copy next to the field's label wins over the
    first one printed, and a small whole number must be next to its label to count as found.
    """
    pages = list(pages)
    labels = field_labels(field) if field else ()
    row_index = _item_index(field)
    first: Evidence | None = None
    best: tuple[tuple[int, float], Evidence] | None = None
    for page in pages:
        for line in page.lines:
            token = _matches(value, kind, line.text)
            if token is None:
                continue
            evidence = Evidence(page=page.number, text=line.text, box=list(line.box) if line.box else None)
            if not labels:
                return evidence
            support = _support(line, token, page, labels, row_index)
            if support is not None and (best is None or support < best[0]):
                best = (support, evidence)
            elif support is None and not (kind == "number" and _is_small(token)):
                first = first or evidence  # a bare "2" away from the label is a coincidence, not evidence
    if best is not None:
        return best[1]
    if first is not None:
        return first
    if labels and kind == "number" and _is_small(format(abs(Decimal(str(value))), "f")):
        return None  # not printed beside its label; the joined text would only find it elsewhere
    for page in pages:  # a value split across lines (a long id wrapped, OCR cutting a line in two)
        joined = page.text if page.text else " ".join(b.text for b in page.lines)
        if kind == "identifier":
            joined = "".join(b.text for b in page.lines) or joined
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


def _candidates(kind: str, line: TextLine) -> list[str]:
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


def nearest_candidate(value: object, kind: str, pages: Iterable[PageLines]) -> Evidence | None:
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
    if kind == "date" and not any(_dates(line.text) for page in pages for line in page.lines):
        kind_for_tokens = "number"  # no date printed anywhere: compare with the numbers
    else:
        kind_for_tokens = kind
    best: tuple[float, Evidence] | None = None
    for page in pages:
        for line in page.lines:
            for token in _candidates(kind_for_tokens, line):
                key = _key(kind, token)
                if not key:
                    continue
                score = edit_distance(target, key) / max(len(target), len(key), 1)
                if best is None or score < best[0]:
                    best = (score, Evidence(page=page.number, text=token, box=list(line.box) if line.box else None))
    return best[1] if best is not None else None
