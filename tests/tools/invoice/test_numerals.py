"""Chinese capital amounts: the figures the 价税合计 check compares against."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlkit.tools.invoice.numerals import ChineseAmountError, parse_chinese_amount, to_chinese_amount

AMOUNTS = [
    ("壹万贰仟叁佰肆拾伍元陆角柒分", "12345.67"),
    ("壹佰元整", "100.00"),
    ("壹佰圆整", "100.00"),  # 圆 for 元
    ("壹佰元正", "100.00"),  # 正 for 整
    ("壹拾元整", "10.00"),
    ("拾元整", "10.00"),  # leading 拾 without 壹
    ("拾万元整", "100000.00"),
    ("壹仟零伍拾元整", "1050.00"),  # 零 for the skipped hundreds
    ("壹仟伍拾元", "1050.00"),  # 零 left out, still unambiguous
    ("壹万零伍元整", "10005.00"),
    ("壹元零伍分", "1.05"),  # 零 for the skipped jiao
    ("壹元零角伍分", "1.05"),
    ("伍角", "0.50"),
    ("伍角整", "0.50"),
    ("叁角伍分", "0.35"),
    ("陆分", "0.06"),
    ("零元整", "0.00"),
    ("贰万元整", "20000.00"),
    ("壹亿元整", "100000000.00"),
    ("壹亿零伍万元整", "100050000.00"),
    ("壹亿零伍仟元整", "100005000.00"),
    ("壹万亿元整", "1000000000000.00"),  # 万亿
    ("玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分", "99999999.99"),
    ("⊗捌仟陆佰柒拾贰元叁角整", "8672.30"),  # the invoice's ⊗ mark
    ("人民币 贰佰 元 整", "200.00"),  # prefix and spaces
    ("两百元", "200.00"),  # lowercase numerals, 两
    ("负壹佰元整", "-100.00"),  # red-letter (negative) invoice
]

INVALID = [
    "", "元整", "整", "壹贰元", "伍角壹元", "壹拾拾元", "壹佰万仟元", "壹元伍", "伍角伍角", "壹万万元",
    "万元", "壹元伍分伍", "one hundred", "壹佰元元", "壹佰美元",
]


@pytest.mark.parametrize(("words", "figure"), AMOUNTS)
def test_parses_amount(words: str, figure: str) -> None:
    assert parse_chinese_amount(words) == Decimal(figure)


@pytest.mark.parametrize("words", INVALID)
def test_invalid_amount_is_a_typed_error(words: str) -> None:
    with pytest.raises(ChineseAmountError, match="not a Chinese capital amount"):
        parse_chinese_amount(words)


def test_non_string_is_a_typed_error() -> None:
    with pytest.raises(ChineseAmountError):
        parse_chinese_amount(12.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("figure", "words"),
    [("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"), ("1050", "壹仟零伍拾元整"), ("1.05", "壹元零伍分"),
     ("100005000", "壹亿零伍仟元整"), ("0.5", "伍角"), ("100000", "壹拾万元整")],
)
def test_writes_amount_as_invoices_print_it(figure: str, words: str) -> None:
    assert to_chinese_amount(figure) == words


@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_round_trip(fen: int) -> None:
    value = Decimal(fen) / 100
    assert parse_chinese_amount(to_chinese_amount(value)) == value
