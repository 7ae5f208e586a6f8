"""Script detection: one helper for BM25, the text-layer reader, search's script gap and QA's language."""

from __future__ import annotations

import pytest

from vlkit.documents.script import cjk_share, is_chinese, is_cjk


def test_is_cjk_covers_han_kana_hangul_not_latin_or_punctuation():
    assert all(is_cjk(c) for c in "中文かなカナ한글豈")
    assert not any(is_cjk(c) for c in "aZ9 é,。") and not is_cjk("")


def test_cjk_share_counts_letters_only():
    assert cjk_share("配置 proxy") == pytest.approx(2 / 7)
    assert cjk_share("12 ,.") == 0.0 and cjk_share("人工智能") == 1.0
    assert cjk_share("é_ß 中") == pytest.approx(1 / 3)  # accented letters count, "_" does not


def test_is_chinese_needs_a_fifth_of_the_characters():
    assert is_chinese("如何配置代理服务器?") and is_chinese("配置 the proxy")
    assert not is_chinese("How do I configure the proxy server 代?") and not is_chinese("   ")
    assert not is_chinese("ひらがなだけ")  # kana is CJK for BM25 but not Chinese for the prompt


def test_every_module_uses_the_one_helper():
    """No module of the documents or retrieval packages keeps a CJK regex of its own."""
    from pathlib import Path

    import vlkit.documents
    import vlkit.retrieval

    own = [p.as_posix() for pkg in (vlkit.documents, vlkit.retrieval) for p in Path(pkg.__file__).parent.rglob("*.py")
           if p.name != "script.py" and ("\\u4e00" in p.read_text(encoding="utf-8") or "一-" in p.read_text(encoding="utf-8"))]
    assert own == []
