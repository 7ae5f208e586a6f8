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


# --------------------------------------------------------------------------- the PBOC rules, one by one
# 《支付结算办法》附件一《正确填写票据和结算凭证的基本规定》, the rules for 中文大写金额数字, each with the
# examples the rule text itself gives (¥1,409.50, ¥6,007.14, ¥1,680.32, ¥107,000.53, ¥16,409.02, ¥325.04).


@pytest.mark.parametrize(
    ("words", "figure"),
    [("壹贰叁", None), ("人民币貳佰元整", "200.00"), ("陸拾圓整", "60.00"), ("壹億元整", "100000000.00"),
     ("壹萬元整", "10000.00"), ("壹億零伍萬圓整", "100050000.00")],
)
def test_rule_1_the_capital_characters_and_their_traditional_forms(words: str, figure: str | None) -> None:
    # (一) 壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分零整(正); 繁体 貳、陸、億、萬、圓 are to be accepted too
    if figure is None:
        with pytest.raises(ChineseAmountError):
            parse_chinese_amount(words)  # digits with no unit at all are not an amount
    else:
        assert parse_chinese_amount(words) == Decimal(figure)


@pytest.mark.parametrize("words", ["壹元伍毛", "另伍元整", "念元整"])
def test_rule_1_colloquial_characters_are_refused(words: str) -> None:
    # (一) 不得用 …念、毛、另(或0)填写
    with pytest.raises(ChineseAmountError):
        parse_chinese_amount(words)


@pytest.mark.parametrize(
    ("figure", "canonical", "also_read"),
    [
        ("200", "贰佰元整", ["贰佰元正", "贰佰元"]),  # to 元: 整 (or 正) after it
        ("8672.30", "捌仟陆佰柒拾贰元叁角", ["捌仟陆佰柒拾贰元叁角整", "捌仟陆佰柒拾贰元叁角正"]),  # after 角: 整 or not
        ("8672.35", "捌仟陆佰柒拾贰元叁角伍分", []),  # with 分: no 整
    ],
)
def test_rule_2_zheng_after_yuan_optional_after_jiao_never_after_fen(figure: str, canonical: str, also_read: list[str]) -> None:
    # (二) 到"元"为止的，在"元"之后应写"整"(或"正")字，在"角"之后可以不写；有"分"的，"分"后面不写"整"
    assert to_chinese_amount(figure) == canonical
    assert not to_chinese_amount(figure).endswith("分整")
    for words in [canonical, *also_read]:
        assert parse_chinese_amount(words) == Decimal(figure)


@pytest.mark.parametrize("words", ["人民币壹仟肆佰零玖元伍角", "壹仟肆佰零玖元伍角", "人民币 壹仟肆佰零玖元伍角"])
def test_rule_3_the_renminbi_prefix_is_optional(words: str) -> None:
    # (三) 大写金额数字前应标明"人民币"字样 — printed on the form or written; either way the amount reads the same
    assert parse_chinese_amount(words) == Decimal("1409.50")


def test_rule_4_1_a_zero_in_the_middle_writes_ling() -> None:
    # (四)1 阿拉伯数字中间有"0"时，中文大写金额要写"零"字：¥1,409.50 → 人民币壹仟肆佰零玖元伍角
    assert to_chinese_amount("1409.50") == "壹仟肆佰零玖元伍角"
    assert parse_chinese_amount("人民币壹仟肆佰零玖元伍角") == Decimal("1409.50")


def test_rule_4_2_several_zeros_in_the_middle_write_one_ling() -> None:
    # (四)2 中间连续有几个"0"时，可以只写一个"零"字：¥6,007.14 → 人民币陆仟零柒元壹角肆分
    assert to_chinese_amount("6007.14") == "陆仟零柒元壹角肆分"
    assert parse_chinese_amount("人民币陆仟零柒元壹角肆分") == Decimal("6007.14")


@pytest.mark.parametrize(
    ("figure", "forms"),
    [
        ("1680.32", ["壹仟陆佰捌拾元零叁角贰分", "壹仟陆佰捌拾元叁角贰分"]),
        ("107000.53", ["壹拾万柒仟元零伍角叁分", "壹拾万零柒仟元伍角叁分"]),
    ],
)
def test_rule_4_3_zero_at_wan_or_yuan_before_a_nonzero_digit_writes_one_ling_or_none(figure: str, forms: list[str]) -> None:
    # (四)3 万位或元位是"0"…但千位、角位不是"0"时，可以只写一个零字，也可以不写"零"字
    for words in forms:
        assert parse_chinese_amount("人民币" + words) == Decimal(figure), words
    assert to_chinese_amount(figure) == forms[0]  # one canonical form: the rule's first


@pytest.mark.parametrize(("figure", "words"), [("16409.02", "壹万陆仟肆佰零玖元零贰分"), ("325.04", "叁佰贰拾伍元零肆分")])
def test_rule_4_4_zero_jiao_before_nonzero_fen_writes_ling_after_yuan(figure: str, words: str) -> None:
    # (四)4 角位是"0"，而分位不是"0"时，中文大写金额"元"后面应写"零"字
    assert to_chinese_amount(figure) == words
    assert parse_chinese_amount("人民币" + words) == Decimal(figure)


@pytest.mark.parametrize(
    ("figure", "words"),
    [("100050000", "壹亿零伍万元整"), ("100005000", "壹亿零伍仟元整"), ("1000000000000", "壹万亿元整"),
     ("230000", "贰拾叁万元整"), ("200300000", "贰亿零叁拾万元整")],
)
def test_rule_the_wan_and_yi_units(figure: str, words: str) -> None:
    # 万 and 亿 close four-digit groups; a group's skipped leading places write one 零 after 亿/万
    assert to_chinese_amount(figure) == words
    assert parse_chinese_amount(words) == Decimal(figure)
