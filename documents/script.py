"""Which script a text is written in: the one owner of "is this Chinese (or other CJK)?".

Three questions are asked of a text, each with its own character class, all defined here:

* :data:`CJK` — a letter of a CJK script (ideographs, kana, hangul): BM25 tokenises these runs into
  bigrams, the text-layer reader joins a line wrap between two of them, and :func:`cjk_share` counts them;
* :data:`HAN` — a Chinese ideograph: :func:`is_chinese` (which prompt and "not found" text QA uses);
* :data:`WIDE` — a glyph that needs a CJK font (ideographs, kana, CJK punctuation, full-width forms):
  the eval-set generator picks its font by it.

Example::

    cjk_share("配置 proxy")     # 0.4: two of the five letters are CJK
    is_chinese("如何配置代理?")  # True
"""

from __future__ import annotations

import functools
import re

__all__ = ["CJK", "HAN", "WIDE", "CJK_RE", "HAN_RE", "WIDE_RE", "is_cjk", "cjk_share", "is_chinese"]

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
"""CJK Unified Ideographs and extension A (a regex character-class body)."""
CJK = "\u3040-\u30ff" + HAN + "\uf900-\ufaff\uac00-\ud7af"
"""Han (+ compatibility ideographs), Hiragana/Katakana and Hangul syllables."""
WIDE = "\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef"
"""CJK punctuation, kana, ideographs and half/full-width forms: glyphs a Latin font lacks."""

CJK_RE = re.compile(f"[{CJK}]")
_LETTER_RE = re.compile(r"[^\W\d_]")  # a letter: a word character that is not a digit or "_"
# HAN_RE and WIDE_RE are compiled on first use (module ``__getattr__``): a class of ~30k BMP code
# points costs ~8 ms to compile, and a `vlkit kb search` needs only CJK_RE.
_LAZY = {"HAN_RE": HAN, "WIDE_RE": WIDE}


@functools.cache
def _lazy(name: str) -> re.Pattern[str]:
    return re.compile(f"[{_LAZY[name]}]")


def __getattr__(name: str) -> re.Pattern[str]:
    if name in _LAZY:
        return _lazy(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


CHINESE_SHARE = 0.2
""":func:`is_chinese` threshold: share of the non-space characters that are ideographs."""


def is_cjk(char: str) -> bool:
    """True for one character of a CJK script (see :data:`CJK`); False for '' ."""
    return bool(char) and CJK_RE.match(char) is not None


def cjk_share(text: str) -> float:
    """Share of a text's letters that are CJK (0: all Latin etc., 1: all Chinese/Japanese/Korean)."""
    cjk = len(CJK_RE.findall(text))
    other = len(_LETTER_RE.findall(text)) - cjk  # a regex, not a loop: search calls it on whole pages
    return cjk / (cjk + other) if cjk + other else 0.0


def is_chinese(text: str) -> bool:
    """True when at least 20% of the non-space characters are Chinese ideographs."""
    chars = [c for c in text if not c.isspace()]
    han = _lazy("HAN_RE")
    return bool(chars) and sum(1 for c in chars if han.match(c)) / len(chars) >= CHINESE_SHARE
