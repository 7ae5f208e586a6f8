"""A labelled invoice set, generated: Chinese VAT-style invoices, English invoices and receipts,
rendered to PNG and PDF, some degraded like a phone photo or a scan (rotation, blur, noise).

Every document is drawn from its ground-truth :class:`Invoice` (arithmetic consistent, 大写 amount from
:func:`to_chinese_amount`, tax ids with a valid GB 32100 check character), so a perfect reader scores 1.0::

    python -m vlkit.tools.invoice.evalset /tmp/invoices --n 12
    vlkit invoice eval /tmp/invoices --model Qwen/Qwen2-VL-2B-Instruct

PDFs are vector PDFs with a text layer (PyMuPDF's built-in CJK font), except the scanned ones, which are
an image on a page, so both of the ``auto`` reader's paths are exercised.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from vlkit.tools.invoice.numerals import to_chinese_amount
from vlkit.tools.invoice._schema import Invoice, LineItem, Party
from vlkit.tools.invoice._uscc import USCC_ALPHABET, uscc_check_char

__all__ = ["make_invoice", "layout", "render_png", "render_pdf", "generate", "KINDS"]

KINDS = ("vat", "invoice", "receipt")
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CENT = Decimal("0.01")

_CN_COMPANIES = ["北京云启科技有限公司", "上海明德贸易有限公司", "深圳华信电子有限公司", "杭州青禾文化传媒有限公司",
                 "广州南粤物流有限公司", "成都天府软件股份有限公司"]
_CN_ADDRESSES = ["北京市海淀区中关村大街1号", "上海市浦东新区世纪大道88号", "深圳市南山区科技园南路12号",
                 "杭州市西湖区文三路90号", "广州市天河区体育西路3号"]
_CN_BANKS = ["中国工商银行北京分行", "招商银行上海分行", "中国建设银行深圳支行", "中国银行杭州支行"]
_CN_GOODS = [("办公用纸", "A4 80g", "箱"), ("激光打印机", "LJ-200", "台"), ("技术服务费", "", "项"),
             ("显示器", "27寸", "台"), ("墨盒", "HP-63", "个"), ("软件许可", "年度版", "套")]
_EN_COMPANIES = ["Northwind Traders Ltd", "Blue Harbour Design", "Acme Tools GmbH", "Kestrel Consulting LLC",
                 "Riverside Print Co"]
_EN_STREETS = ["14 Mill Lane, Leeds LS1 4AB", "221 Baker Street, London NW1 6XE", "Hauptstr. 5, 10115 Berlin",
               "500 Market St, San Francisco CA 94105"]
_EN_GOODS = ["Website design", "Consulting hours", "Printed brochures", "Hosting (12 months)", "Logo revision",
             "Training workshop", "Support retainer"]
_SHOP_ITEMS = ["Flat white", "Croissant", "Orange juice", "Bagel + cheese", "Green tea", "Muffin", "Sandwich", "Water"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_MARKS = {"USD": "$", "GBP": "£", "EUR": "€"}


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _uscc(rng: random.Random) -> str:
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def make_invoice(rng: random.Random, kind: str) -> Invoice:
    """A consistent ground-truth invoice of ``kind`` (``vat``, ``invoice`` or ``receipt``)."""
    items = []
    if kind == "vat":
        rate = Decimal(rng.choice([13, 9, 6]))
        for name, spec, unit in rng.sample(_CN_GOODS, rng.randint(1, 3)):
            q = Decimal(rng.randint(1, 20))
            price = Decimal(rng.randint(500, 500000)) / 100
            amount = _money(q * price)
            items.append(LineItem(description=name, spec=spec or None, unit=unit, quantity=q, unit_price=price,
                                  amount=amount, tax_rate=rate, tax_amount=_money(amount * rate / 100)))
        subtotal = sum((i.amount for i in items), Decimal(0))
        tax = sum((i.tax_amount for i in items), Decimal(0))

        def party() -> Party:
            return Party(name=rng.choice(_CN_COMPANIES), tax_id=_uscc(rng), address=rng.choice(_CN_ADDRESSES),
                         phone=f"0{rng.randint(10, 29)}-{_digits(rng, 8)}", bank=rng.choice(_CN_BANKS),
                         account=_digits(rng, 19))

        return Invoice(
            document_type="vat_invoice", invoice_code=_digits(rng, 12), invoice_number=_digits(rng, 8),
            issue_date=_date(rng), check_code=_digits(rng, 20), buyer=party(), seller=party(), items=items,
            subtotal=subtotal, tax_total=tax, total=subtotal + tax, total_in_words=to_chinese_amount(subtotal + tax),
            currency="CNY", notes=rng.choice([None, "合同号 HT-" + _digits(rng, 6)]),
        )
    currency = rng.choice(list(_MARKS))
    if kind == "invoice":
        for name in rng.sample(_EN_GOODS, rng.randint(2, 4)):
            q = Decimal(rng.randint(1, 12))
            price = Decimal(rng.randint(1500, 90000)) / 100
            items.append(LineItem(description=name, quantity=q, unit_price=price, amount=_money(q * price)))
        subtotal = sum((i.amount for i in items), Decimal(0))
        rate = Decimal(rng.choice([20, 19, 10]))
        tax = _money(subtotal * rate / 100)
        return Invoice(
            document_type="invoice", invoice_number=f"INV-{rng.randint(2019, 2026)}-{rng.randint(100, 9999):04d}",
            issue_date=_date(rng), items=items, subtotal=subtotal, tax_total=tax, total=subtotal + tax,
            currency=currency, payment_terms=rng.choice(["Net 30", "Due on receipt", "Net 14"]),
            seller=Party(name=rng.choice(_EN_COMPANIES), address=rng.choice(_EN_STREETS),
                         tax_id=f"GB{_digits(rng, 9)}", phone=f"+44 20 {_digits(rng, 4)} {_digits(rng, 4)}"),
            buyer=Party(name=rng.choice(_EN_COMPANIES), address=rng.choice(_EN_STREETS)),
        )
    for name in rng.sample(_SHOP_ITEMS, rng.randint(2, 5)):
        items.append(LineItem(description=name, amount=Decimal(rng.randint(150, 1500)) / 100))
    return Invoice(
        document_type="receipt", seller=Party(name=rng.choice(["CORNER CAFE", "THE DAILY GRIND", "BEAN THERE"]),
                                              address=f"{rng.randint(1, 99)} Harbour Street"),
        items=items, total=sum((i.amount for i in items), Decimal(0)), currency=currency, issue_date=_date(rng),
        payment_terms=f"VISA ****{_digits(rng, 4)}",
    )


# --------------------------------------------------------------------------- layout: ops in points


@dataclass
class Page:
    width: float
    height: float
    ops: list[tuple[Any, ...]]
    """``("text", x, y_baseline, size, text)`` and ``("line", x0, y0, x1, y1)``."""


def _f(x: Decimal | None) -> str:
    return "" if x is None else format(x, "f")


def _thousands(x: Decimal) -> str:
    return f"{x:,.2f}"


def layout(inv: Invoice, kind: str, rng: random.Random) -> Page:
    """Where every printed string goes."""
    ops: list[tuple[Any, ...]] = []

    def text(x: float, y: float, s: str, size: float = 9) -> None:
        ops.append(("text", x, y, size, s))

    def line(x0: float, y0: float, x1: float, y1: float) -> None:
        ops.append(("line", x0, y0, x1, y1))

    if kind == "vat":
        w, h = 700.0, 440.0
        text(250, 40, "增值税专用发票", 18)
        text(470, 30, f"发票代码: {inv.invoice_code}")
        text(470, 44, f"发票号码: {inv.invoice_number}")
        y, m, d = inv.issue_date.split("-")
        text(470, 58, f"开票日期: {y}年{m}月{d}日")
        cc = inv.check_code
        text(470, 72, "校验码: " + " ".join(cc[i:i + 5] for i in range(0, len(cc), 5)))
        line(30, 80, 670, 80)

        def block(top: float, title: str, p: Party) -> None:
            text(36, top, f"{title} 名称: {p.name}")
            text(36, top + 14, f"纳税人识别号: {p.tax_id}")
            text(36, top + 28, f"地址、电话: {p.address} {p.phone}")
            text(36, top + 42, f"开户行及账号: {p.bank} {p.account}")

        block(96, "购买方", inv.buyer)
        line(30, 150, 670, 150)
        cols = [36, 200, 270, 310, 350, 430, 520, 580]
        for x, head in zip(cols, ["货物或应税劳务、服务名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额"]):
            text(x, 166, head, 8)
        y0 = 184
        for it in inv.items:
            for x, s in zip(cols, [it.description, it.spec or "", it.unit, _f(it.quantity), _f(it.unit_price),
                                   _f(it.amount), f"{_f(it.tax_rate)}%", _f(it.tax_amount)]):
                text(x, y0, s, 8.5)
            y0 += 16
        text(36, 262, "合计")
        text(430, 262, f"¥{_f(inv.subtotal)}")
        text(580, 262, f"¥{_f(inv.tax_total)}")
        line(30, 270, 670, 270)
        text(36, 288, f"价税合计(大写)  ⊗{inv.total_in_words}")
        text(470, 288, f"(小写) ¥{_f(inv.total)}")
        line(30, 298, 670, 298)
        block(316, "销售方", inv.seller)
        if inv.notes:
            text(470, 316, f"备注: {inv.notes}")
        line(30, 372, 670, 372)
        return Page(w, h, ops)
    mark = _MARKS[inv.currency or "USD"]
    if kind == "invoice":
        w, h = 595.0, 842.0
        s, b = inv.seller, inv.buyer
        text(48, 70, "INVOICE", 22)
        text(48, 100, s.name, 11)
        text(48, 114, s.address)
        text(48, 128, f"Tel {s.phone}   VAT No. {s.tax_id}")
        text(360, 100, f"Invoice No: {inv.invoice_number}")
        y, m, d = (int(p) for p in inv.issue_date.split("-"))
        style = rng.randrange(3)
        shown = [f"{_MONTHS[m - 1]} {d}, {y}", f"{d:02d}/{m:02d}/{y}", inv.issue_date][style]
        text(360, 114, f"Date: {shown}")
        text(360, 128, f"Terms: {inv.payment_terms}")
        text(48, 170, "Bill to:", 10)
        text(48, 184, b.name)
        text(48, 198, b.address)
        line(48, 225, 547, 225)
        for x, head in [(48, "Description"), (300, "Qty"), (360, "Unit price"), (470, "Amount")]:
            text(x, 240, head, 10)
        line(48, 248, 547, 248)
        yy = 266
        for it in inv.items:
            text(48, yy, it.description)
            text(300, yy, _f(it.quantity))
            text(360, yy, f"{mark}{_thousands(it.unit_price)}")
            text(470, yy, f"{mark}{_thousands(it.amount)}")
            yy += 18
        line(48, yy, 547, yy)
        rate = (inv.tax_total / inv.subtotal * 100).quantize(Decimal(1))
        for label, value in [("Subtotal", inv.subtotal), (f"VAT {rate}%", inv.tax_total), ("Total", inv.total)]:
            yy += 18
            text(360, yy, label, 10)
            text(470, yy, f"{mark}{_thousands(value)}", 10)
        text(48, yy + 60, f"Please pay within the terms above ({inv.currency}). Thank you for your business.")
        return Page(w, h, ops)
    w = 260.0
    h = 200.0 + 20 * len(inv.items)
    text(70, 36, inv.seller.name, 14)
    text(70, 54, inv.seller.address, 9)
    yy = 84
    for it in inv.items:
        text(24, yy, it.description, 10)
        text(190, yy, f"{_f(it.amount)}", 10)
        yy += 20
    line(24, yy - 8, 236, yy - 8)
    text(24, yy + 10, "TOTAL", 12)
    text(180, yy + 10, f"{mark}{_f(inv.total)}", 12)
    y, m, d = inv.issue_date.split("-")
    text(24, yy + 36, f"{inv.issue_date} {rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}  {inv.payment_terms}", 9)
    text(90, yy + 64, "Thank you!", 10)
    return Page(w, h, ops)


# --------------------------------------------------------------------------- rendering


def render_png(page: Page, scale: float = 2.0) -> Any:
    """The page as a PIL image, ``scale`` pixels per point (Noto Sans CJK for every string)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (int(page.width * scale), int(page.height * scale)), "white")
    draw = ImageDraw.Draw(image)
    fonts: dict[float, Any] = {}
    for op in page.ops:
        if op[0] == "text":
            _, x, y, size, s = op
            font = fonts.get(size) or fonts.setdefault(size, ImageFont.truetype(FONT, int(size * scale)))
            draw.text((x * scale, y * scale), s, font=font, fill=(20, 20, 30), anchor="ls")
        else:
            _, x0, y0, x1, y1 = op
            draw.line((x0 * scale, y0 * scale, x1 * scale, y1 * scale), fill=(90, 90, 110), width=max(1, int(scale)))
    return image


def render_pdf(page: Page, path: Path, image: Any = None) -> None:
    """A vector PDF with a text layer, or (``image`` given) a scanned page: that image, no text."""
    import io

    import pymupdf

    doc = pymupdf.open()
    pdf_page = doc.new_page(width=page.width, height=page.height)
    if image is not None:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        pdf_page.insert_image(pdf_page.rect, stream=buf.getvalue())
    else:
        for op in page.ops:
            if op[0] == "text":
                _, x, y, size, s = op
                # china-s has wide Latin glyphs: CJK runs in china-s, the rest in Helvetica, side by side
                for run in re.findall(r"[\u2e80-\uffff]+|[^\u2e80-\uffff]+", s):
                    font = "china-s" if ord(run[0]) >= 0x2E80 else "helv"
                    pdf_page.insert_text((x, y), run, fontname=font, fontsize=size, color=(0.08, 0.08, 0.12))
                    x += pymupdf.get_text_length(run, fontname=font, fontsize=size)
            else:
                _, x0, y0, x1, y1 = op
                pdf_page.draw_line((x0, y0), (x1, y1), color=(0.35, 0.35, 0.43), width=0.6)
    doc.save(path)
    doc.close()


def degrade(image: Any, rng: random.Random) -> Any:
    """Like a phone photo or a cheap scan: slight rotation, blur, sensor noise, uneven grey paper."""
    import numpy as np
    from PIL import Image, ImageFilter

    angle = rng.uniform(-2.0, 2.0)
    out = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(235, 233, 228))
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.1)))
    arr = np.asarray(out).astype(np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(5, 12), arr.shape)
    shade = np.linspace(rng.uniform(0.88, 0.97), 1.0, arr.shape[1])[None, :, None]
    arr = np.clip(arr * shade + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def generate(folder: str | Path, n: int = 12, seed: int = 0) -> list[Path]:
    """Write ``n`` documents with ``<stem>.json`` ground truth into ``folder``; returns the documents.

    Kinds cycle vat, invoice, receipt; formats cycle PNG, PDF; every third document is degraded
    (a degraded PDF is a scanned image without text layer).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        fmt = "pdf" if (i // len(KINDS)) % 2 else "png"
        scanned = i % 4 == 3
        inv = make_invoice(rng, kind)
        page = layout(inv, kind, rng)
        stem = f"{i:03d}-{kind}{'-scan' if scanned else ''}"
        scale = 3.0 if kind == "receipt" else 2.0
        path = folder / f"{stem}.{fmt}"
        if fmt == "png":
            image = render_png(page, scale)
            (degrade(image, rng) if scanned else image).save(path)
        else:
            render_pdf(page, path, degrade(render_png(page, scale), rng) if scanned else None)
        (folder / f"{stem}.json").write_text(
            json.dumps(inv.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a labelled invoice/receipt set (documents + <stem>.json).")
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=12, help="how many documents (default 12)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for path in generate(args.folder, args.n, args.seed):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
