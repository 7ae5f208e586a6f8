"""Chinese capital amounts (大写金额): ``壹万贰仟叁佰肆拾伍元陆角柒分`` <-> ``Decimal("12345.67")``.

The VAT invoice prints 价税合计 twice, in figures and in capital numerals, precisely so that a misread
digit shows up; :func:`parse_chinese_amount` lets the checks compare the two. It reads every form the
rules for 中文大写金额数字 (《支付结算办法》附件一, 正确填写票据和结算凭证的基本规定) allow:

* the capitals 壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分零整(正), and the traditional 貳陸億萬圓;
* 整 (or 正) after 元; after 角 with or without it; never needed after 分;
* an optional 人民币 before the amount;
* 零 for a zero in the middle, one 零 for a run of zeros; where the 万 or 元 place is 0 but the next
  place (千, 角) is not, one 零 or none (¥1,680.32 = 壹仟陆佰捌拾元零叁角贰分 = 壹仟陆佰捌拾元叁角贰分);
  a 0 角 before a non-zero 分 writes 零 after 元 (¥325.04 = 叁佰贰拾伍元零肆分).

It is lenient where real invoices differ (圆 for 元, lowercase 一二三, 两, a missing 零, 整 after 分,
a leading ⊗), but strict where a misreading would hide: two digits in a row, units out of order, a
unit without a digit, unknown characters (the colloquial 毛, 另, 念 too) all raise
:class:`ChineseAmountError`. :func:`to_chinese_amount` writes one canonical form: each rule's first
example (元零叁角 where the 元 place is 0, 拾万柒仟 without a 零 after 万).
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["ChineseAmountError", "parse_chinese_amount", "to_chinese_amount"]

_DIGITS = {
    "零": 0, "〇": 0, "壹": 1, "一": 1, "贰": 2, "貳": 2, "二": 2, "两": 2, "叁": 3, "參": 3, "三": 3,
    "肆": 4, "四": 4, "伍": 5, "五": 5, "陆": 6, "陸": 6, "六": 6, "柒": 7, "七": 7, "捌": 8, "八": 8,
    "玖": 9, "九": 9,
}
_SMALL_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_YUAN = "元圆圓"
_TRADITIONAL = str.maketrans({"萬": "万", "億": "亿"})
_END = "整正"
_PREFIXES = ("人民币", "ⓧ", "Ⓧ", "⊗", "×", "（大写）", "(大写)", "大写", "：", ":")
_CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"


class ChineseAmountError(ValueError):
    """The string is not a well-formed Chinese capital amount; the message says where it breaks."""


def _fail(text: str, why: str) -> ChineseAmountError:
    return ChineseAmountError(f"not a Chinese capital amount: {text!r} ({why})")


def _parse_integer(text: str, part: str) -> int:
    """The yuan part (before 元), e.g. ``壹万零伍拾`` -> 10050."""
    result = 0  # completed 亿 groups
    wan = 0  # completed 万 group under the current 亿
    section = 0  # under 万
    number: int | None = None  # a digit waiting for its unit
    last_small = 10_000  # small units must fall within a section: 仟 > 佰 > 拾
    seen_wan = False
    for ch in part:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
            if digit == 0:
                if number is not None:
                    raise _fail(text, f"'{ch}' right after a digit")
                continue
            if number is not None:
                raise _fail(text, f"two digits in a row at '{ch}'")
            number = digit
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_small:
                raise _fail(text, f"unit '{ch}' out of order")
            if number is None:
                if unit == 10 and section == 0 and wan == 0 and result == 0:
                    number = 1  # 拾万元 = 壹拾万元
                else:
                    raise _fail(text, f"unit '{ch}' without a digit")
            section += number * unit
            number, last_small = None, unit
        elif ch == "万":
            section += number or 0
            if section == 0 or seen_wan:
                raise _fail(text, "'万' without digits before it" if section == 0 else "'万' twice")
            wan, section, number, last_small, seen_wan = section * 10_000, 0, None, 10_000, True
        elif ch == "亿":
            group = wan + section + (number or 0)
            if group == 0 and result == 0:
                raise _fail(text, "'亿' without digits before it")
            result = (result + group) * 100_000_000
            wan, section, number, last_small, seen_wan = 0, 0, None, 10_000, False
        else:
            raise _fail(text, f"unexpected character '{ch}'")
    return result + wan + section + (number or 0)


def parse_chinese_amount(text: str) -> Decimal:
    """The value of a capital-numeral amount, to the fen.

    >>> parse_chinese_amount("壹万贰仟叁佰肆拾伍元陆角柒分")
    Decimal('12345.67')
    >>> parse_chinese_amount("⊗贰佰圆整")
    Decimal('200.00')

    Raises :class:`ChineseAmountError` for anything that is not a well-formed amount.
    """
    if not isinstance(text, str):
        raise ChineseAmountError(f"not a Chinese capital amount: {text!r} (not a string)")
    s = "".join(text.split()).translate(_TRADITIONAL)
    negative = False
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if s.startswith(prefix):
                s, changed = s[len(prefix):], True
        if s.startswith("负"):
            s, negative, changed = s[1:], True, True
    if s and s[-1] in _END:
        s = s[:-1]
    if not s:
        raise _fail(text, "empty")
    yuan_at = [i for i, ch in enumerate(s) if ch in _YUAN]
    if len(yuan_at) > 1:
        raise _fail(text, "'元' twice")
    if yuan_at:
        integer_part, fraction_part = s[: yuan_at[0]], s[yuan_at[0] + 1:]
        if not integer_part:
            raise _fail(text, "no digits before '元'")
        integer = _parse_integer(text, integer_part)
    else:
        integer_part, fraction_part, integer = "", s, 0
        if not any(unit in s for unit in "角分"):
            raise _fail(text, "no '元', '角' or '分'")
    fen = _parse_fraction(text, fraction_part)
    value = Decimal(integer) + Decimal(fen) / 100
    value = value.quantize(Decimal("0.01"))
    return -value if negative else value


def _parse_fraction(text: str, part: str) -> int:
    """The part after 元 in fen: ``零伍分`` -> 5, ``叁角`` -> 30, ``叁角伍分`` -> 35."""
    fen = 0
    number: int | None = None
    expect = "角"
    i = 0
    while i < len(part):
        ch = part[i]
        if ch in _DIGITS:
            if number is not None:
                raise _fail(text, f"two digits in a row at '{ch}'")
            number = _DIGITS[ch]
            if number == 0:
                if i + 1 < len(part) and part[i + 1] == "角":  # 零角伍分
                    i += 2
                    expect, number = "分", None
                    continue
                number = None  # 壹元零伍分, and 壹仟陆佰捌拾元零叁角贰分 (the 元 place is 0)
        elif ch == "角":
            if number is None or expect != "角":
                raise _fail(text, "'角' without a digit" if number is None else "'角' after '分'")
            fen += number * 10
            number, expect = None, "分"
        elif ch == "分":
            if number is None:
                raise _fail(text, "'分' without a digit")
            fen += number
            number, expect = None, ""
        elif ch in _END and i == len(part) - 1:
            pass
        else:
            raise _fail(text, f"unexpected '{ch}' after '元'")
        if expect == "" and i != len(part) - 1:
            raise _fail(text, "characters after '分'")
        i += 1
    if number is not None:
        raise _fail(text, "a digit without '角' or '分' after '元'")
    return fen


def _four(n: int) -> str:
    """0 < n < 10000 in capitals, one 零 for each run of skipped places inside it (壹仟零伍)."""
    out = ""
    zero = False
    for unit, place in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = n // unit % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
        out += _CAPITAL_DIGITS[digit] + place
        zero = False
    return out


def _integer_words(n: int) -> str:
    if n >= 100_000_000:
        high, low = divmod(n, 100_000_000)
        return _integer_words(high) + "亿" + (_under_yi(low, after_higher=True) if low else "")
    return _under_yi(n, after_higher=False)


def _under_yi(n: int, after_higher: bool) -> str:
    """0 < n < 10^8; ``after_higher``: a 亿 group comes before, so skipped leading places need a 零."""
    high, low = divmod(n, 10_000)
    out = ""
    if high:
        out = ("零" if after_higher and high < 1000 else "") + _four(high) + "万"
    if low:
        skipped = (high and low < 1000) or (not high and after_higher)
        out += ("零" if skipped else "") + _four(low)
    return out


def to_chinese_amount(value: Decimal | int | str) -> str:
    """The amount in capital numerals as the VAT invoice prints it (``12345.67`` -> 壹万贰仟叁佰肆拾伍元陆角柒分)."""
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    integer, fen = divmod(fen_total, 100)
    jiao, fen = divmod(fen, 10)
    words = _integer_words(integer) + "元" if integer else ""
    if jiao == 0 and fen == 0:
        return sign + (words or "零元") + "整"
    if jiao:
        if integer % 10 == 0 and integer:
            words += "零"  # the 元 place is 0: 壹仟陆佰捌拾元零叁角贰分 (the rule's first form)
        words += _CAPITAL_DIGITS[jiao] + "角"
    elif integer:
        words += "零"
    if fen:
        words += _CAPITAL_DIGITS[fen] + "分"
    return sign + words
