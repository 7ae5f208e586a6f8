"""The 统一社会信用代码 (Unified Social Credit Code, GB 32100-2015): the 18-character Chinese tax id.

Layout: 1 registration authority, 1 entity type, 6 region digits, 9 organisation-code characters, 1
check character. The check character is what catches a misread character: characters map to 0-30 in
the alphabet ``0-9 A-H J-N P-R T U W-Y`` (no I, O, S, V, Z), position ``i`` is weighted ``3**i mod 31``,
and the check is ``(31 - sum mod 31) mod 31`` (GB 32100-2015 §5.2, ISO 7064 MOD 31-3 style).
"""

from __future__ import annotations

from vlkit.errors import InvalidArgumentError

__all__ = ["USCC_ALPHABET", "uscc_check_char", "is_valid_uscc", "normalise_uscc"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def normalise_uscc(code: str) -> str:
    """Upper case, full-width folded, spaces and dashes removed: the form the checksum is computed on."""
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFKC", code).upper() if ch not in " -\u00a0\t")


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters (:class:`~vlkit.errors.InvalidArgumentError`, a
    ``ValueError``, for another length or a character outside the alphabet)."""
    body = normalise_uscc(first17)
    if len(body) != 17:
        raise InvalidArgumentError(f"a USCC check character needs the first 17 characters; got {len(body)}")
    try:
        total = sum(_VALUE[ch] * w for ch, w in zip(body, _WEIGHTS))
    except KeyError as exc:
        raise InvalidArgumentError(f"character {exc.args[0]!r} is not in the USCC alphabet {USCC_ALPHABET}") from None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True when ``code`` is an 18-character USCC whose region is digits and whose check character is right.

    >>> is_valid_uscc("91110000600037341L")
    True
    >>> is_valid_uscc("91110000600037341N")
    False
    """
    if not isinstance(code, str):
        return False
    s = normalise_uscc(code)
    if len(s) != 18 or not s[2:8].isdigit() or any(ch not in _VALUE for ch in s):
        return False
    return uscc_check_char(s[:17]) == s[17]
