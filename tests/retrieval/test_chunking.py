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


MANUAL_PAGE = ("Debian Reference\n3 / 233\n\n# Chapter 2\n\n# Package management\n\nIntro text.\n\n# 2.1\n\n"
               "# Prerequisites\n\nRead this first.\n\n# 2.1.1\n\n# Package configuration\n\nConfigure it.\n\n"
               "# 2.2\n\n# Basic operations\n\nUse apt.")


def test_section_path_from_numbers_rooted_at_the_title():
    from vlkit.retrieval.chunking import PATH_SEP, with_heading

    chunks, last = chunk_page(MANUAL_PAGE, page=5, title="Debian Reference", config=ChunkConfig(max_chars=40), **KW)
    paths = [c.heading.split(PATH_SEP) for c in chunks]
    # "# 2.1" + "# Prerequisites" is one heading; 2.1.1 nests under 2.1; 2.2 closes both
    assert ["Debian Reference", "Chapter 2 Package management", "2.1 Prerequisites", "2.1.1 Package configuration"] in paths
    assert last == PATH_SEP.join(["Debian Reference", "Chapter 2 Package management", "2.2 Basic operations"])
    for c in chunks:
        assert MANUAL_PAGE[c.start:c.end] == c.text
    # a chunk that continues its section gets the whole path; one with its own heading the path above it
    cont, _ = chunk_page("More about apt.", page=6, heading=last, title="Debian Reference", **KW)
    assert with_heading(cont[0]) == f"{last}\nMore about apt."
    own = next(c for c in chunks if c.text.startswith("# 2.2"))
    assert with_heading(own).split("\n")[0] == "Debian Reference > Chapter 2 Package management"


def test_section_path_carries_levels_across_pages_and_off_switch_keeps_the_old_heading():
    from vlkit.retrieval.chunking import PATH_SEP

    carried = PATH_SEP.join(["Guide", "3 Setup", "3.4 Proxy"])
    chunks, last = chunk_page("# 3.4.1 Proxy users\n\nSet proxy_user.", page=9, heading=carried, title="Guide", **KW)
    assert last == carried + PATH_SEP + "3.4.1 Proxy users"
    chunks, last = chunk_page("# 4 Logs\n\nText.", page=10, heading=last, title="Guide", **KW)
    assert last == "Guide > 4 Logs"
    old, last = chunk_page(MANUAL_PAGE, page=5, title="Debian Reference", config=ChunkConfig(section_path=False), **KW)
    assert last == "Basic operations" and "Debian Reference" not in {c.heading for c in old}


def test_section_level_and_document_title():
    from vlkit.retrieval.chunking import document_title, section_level

    assert [section_level(h) for h in ("Chapter 4 Files", "2 Setup", "2.4 apt-get", "A.1 Libraries",
                                        "A note", "Getting started")] == [1, 1, 2, 2, None, None]
    assert document_title({"title": "Debian New Maintainers' Guide"}, "maint-guide.en.pdf") == "Debian New Maintainers' Guide"
    assert document_title({"title": "Microsoft Word - draft.doc"}, "maint-guide.en.pdf") == "maint guide"
    assert document_title(None, "debian-reference.zh-cn.pdf") == "debian reference"


def test_number_heading_joins_its_title_line_but_a_word_heading_stays_alone():
    chunks, last = chunk_page("# 12.3.3\n\nFlex - a better Lex\n\nFlex is a lexer.", page=1, **KW)
    assert last == "12.3.3 Flex - a better Lex"
    chunks, last = chunk_page("# One\nalpha", page=1, **KW)
    assert last == "One"


def test_running_header_that_repeats_the_title_is_not_a_section():
    text = "Debian New Maintainers’ Guide\n17 / 57\n\nSome text that continues the section."
    carried = "Debian New Maintainers' Guide > Chapter 4 Required files > 4.1 control"
    _, last = chunk_page(text, page=23, heading=carried, title="Debian New Maintainers' Guide", **KW)
    assert last == carried
