"""The pictures a web UI preset makes of an answer: the HTML rendered beside its source, the planned click
drawn on the screenshot, the invoice's fields with what vlkit's invoice checks say of each."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from vlkit.vision.facts import vision_facts

__all__ = ["INVOICE_COLUMNS", "tool_views"]

INVOICE_COLUMNS = ("field", "value", "check")
"""The invoice table's headers: a field's key path, its value, what vlkit's invoice checks say of it."""


def tool_views(kind: str, answer: str, history: list, engine: Any) -> tuple[Any, Any, Any]:
    """What the answer of a preset of ``kind`` (``screenshot_html``, ``gui_plan``, ``invoice``) shows beside
    it: HTML for the rendered view, the planned click (a PIL image, or None), the invoice table's rows
    (or None); ``history`` is the conversation (its last image is the screenshot a click is drawn on)."""
    html_view, picture, table = "", None, None
    if kind == "screenshot_html":
        source = answer.strip()
        match = re.search(r"```(?:html)?\s*(.*?)```", source, re.S)
        source = match.group(1) if match else source
        html_view = (
            '<div style="display:flex;gap:8px"><iframe sandbox="" style="flex:1;height:320px;border:1px solid #ccc" '
            f'srcdoc="{html.escape(source, quote=True)}"></iframe><pre style="flex:1;height:320px;overflow:auto">'
            f"{html.escape(source)}</pre></div>"
        )
    elif kind == "gui_plan":
        picture = _draw_click(answer, history, engine)
    elif kind == "invoice":
        table = _invoice_rows(answer)
    return html_view, picture, table


def _invoice_rows(answer: str) -> list[list[str]] | None:
    """``[field, value, check]`` per leaf of the answer's JSON object (``items[0].amount``); the check
    column says what :func:`~vlkit.tools.invoice.check_invoice` found where the answer is an
    :class:`~vlkit.tools.invoice.Invoice`. None when the answer is not a JSON object."""
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    rows: list[list[str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value:
            for i, inner in enumerate(value):
                walk(inner, f"{path}[{i}]")
        else:
            rows.append([path, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), ""])

    walk(data, "")
    findings = _invoice_checks(data)
    for row in rows:
        row[2] = "; ".join(findings.get(row[0], []))
    return rows


def _invoice_checks(data: dict) -> dict[str, list[str]]:
    """Field path → ``✓``/``✗`` and the message of each invoice check on it ({} if ``data`` is not an Invoice)."""
    from pydantic import ValidationError
    from vlkit.tools.invoice import Invoice, check_invoice

    try:
        invoice = Invoice.model_validate(data)
    except ValidationError:
        return {}
    found: dict[str, list[str]] = {}
    for check in check_invoice(invoice):
        for name in check.fields:
            found.setdefault(name, []).append(("✓ " if check.ok else "✗ ") + check.message)
    return found


def _draw_click(answer: str, history: list, engine: Any) -> Any:
    images = [p for turn in history if turn.get("role") != "assistant" for p in turn.get("images", [])]
    numbers = re.search(r'"x"\s*:\s*(-?\d+(?:\.\d+)?)\s*,\s*"y"\s*:\s*(-?\d+(?:\.\d+)?)', answer)
    if not images or not numbers:
        return None
    from PIL import Image, ImageDraw

    image = Image.open(images[-1]).convert("RGB")
    x, y = float(numbers.group(1)), float(numbers.group(2))
    if engine.family.coordinates == "relative_1000":
        x, y = x / 1000 * image.width, y / 1000 * image.height
    else:  # pixels of the image as the model saw it (resized to the visual budget)
        seen_w, seen_h = vision_facts(engine.llm).view_size(image.width, image.height)
        x, y = x * image.width / seen_w, y * image.height / seen_h
    draw = ImageDraw.Draw(image)
    r = max(6, image.width // 60)
    draw.ellipse([x - r, y - r, x + r, y + r], outline="red", width=3)
    draw.line([x - 2 * r, y, x + 2 * r, y], fill="red", width=2)
    draw.line([x, y - 2 * r, x, y + 2 * r], fill="red", width=2)
    return image
