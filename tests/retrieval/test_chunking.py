"""Chunking: exact offsets, headings (marked or short lines), carried across pages, size bound."""

from __future__ import annotations

from vlkit.retrieval.chunking import ChunkConfig, chunk_id, chunk_page

KW = dict(doc_id="d0", file_name="f.pdf", sha256="d0ff", reader="text")


def test_marked_headings_split_and_offsets_are_exact():
    text = "# Intro\nFirst paragraph.\n\nSecond one.\n\n# Methods\n" + "A sentence that repeats. " * 80
    chunks, last = chunk_page(text, page=3, heading="Earlier", config=ChunkConfig(max_chars=400), **KW)
    assert chunks[0].heading == "Intro" and chunks[0].text.startswith("# Intro")
    assert {c.heading for c in chunks[1:]} == {"Methods"} and last == "Methods"
    assert [c.id for c in chunks] == [chunk_id("d0", 3, i) for i in range(len(chunks))]
    for c in chunks:
        assert text[c.start:c.end] == c.text and c.page == 3
        assert len(c.text) <= 400 + len("# Methods\n")
    assert "".join(c.text for c in chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_heading_carries_from_previous_page_and_short_line_fallback():
    chunks, last = chunk_page("continued text without a heading.", page=2, heading="Chapter 1", **KW)
    assert chunks[0].heading == "Chapter 1" and last == "Chapter 1"
    chunks, last = chunk_page("Summary Of Results\nThe results were good overall.", page=2, heading="x", **KW)
    assert chunks[0].heading == "Summary Of Results"
    chunks, _ = chunk_page("A sentence, not a heading.\nMore text.", page=2, heading="", **KW)
    assert chunks[0].heading == ""


def test_cjk_without_spaces_is_cut_and_empty_page_gives_nothing():
    text = "知识库检索测试。" * 200
    chunks, _ = chunk_page(text, page=1, config=ChunkConfig(max_chars=300), **KW)
    assert len(chunks) > 4 and all(len(c.text) <= 300 for c in chunks)
    assert "".join(c.text for c in chunks) == text
    assert chunk_page("   \n\n ", page=1, **KW)[0] == []


def test_deterministic():
    text = "# A\n" + "words " * 500
    assert chunk_page(text, page=1, **KW) == chunk_page(text, page=1, **KW)
