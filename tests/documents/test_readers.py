"""Page readers: routing by text coverage, OCR of Chinese + English, the text layer's lines and boxes, the VLM
reader's control flow and its page size."""

from __future__ import annotations

import base64

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from vlkit.documents import AutoReader, PageLines, TextLayerReader, TextLine, VLMReader, make_reader, open_document
from vlkit.documents.readers._auto import text_coverage
from vlkit.documents.readers._vlm import TRANSCRIBE_PROMPT


def _pages(path, dpi=72):
    doc = open_document(path)
    try:
        return list(doc.pages(dpi))
    finally:
        pass


def test_text_coverage_separates_typeset_and_scanned_pages(mixed_pdf):
    pages = _pages(mixed_pdf)
    chars, density, images = text_coverage(pages[0].pdf_page)
    assert chars > 50 and density > 1 and images == 0
    chars, density, images = text_coverage(pages[1].pdf_page)
    assert chars == 0 and images > 0.95
    auto = AutoReader()
    assert [auto.select(p).name for p in pages] == ["text", "rapidocr", "text"]


def test_text_reader_marks_large_type_as_headings(text_pdf):
    text = make_reader("text").read(_pages(text_pdf)[0])
    assert text.splitlines()[0] == "# Quarterly Report"
    assert "The invoice total is 4821 dollars this quarter." in text


@pytest.mark.slow
def test_rapidocr_reads_chinese_and_english(scanned_chinese_png):
    (page,) = _pages(scanned_chinese_png)
    text = make_reader("rapidocr").read(page)
    assert "发票金额" in text
    # PP-OCR's recogniser may space wide-set digits ("51 9 0") depending on the exact crop: read the characters
    assert "5190" in text.replace(" ", "") and "Amount" in text


class ScriptedChat(BaseChatModel):
    """Replies with scripted texts and records what it was sent (control flow only)."""

    replies: list[str]
    seen: list = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.replies.pop(0)))])


def test_vlm_reader_sends_page_image_and_prompt(text_pdf):
    chat = ScriptedChat(replies=["```markdown\n# Title\nBody text from the model.\n```"], seen=[])
    page = _pages(text_pdf)[0]
    assert VLMReader(chat).read(page) == "# Title\nBody text from the model."
    (message,) = chat.seen[0]
    image, prompt = message.content
    assert prompt == {"type": "text", "text": TRANSCRIBE_PROMPT} and "Transcribe" in TRANSCRIBE_PROMPT
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == page.png


def test_vlm_reader_sends_a_page_no_larger_than_the_models_budget(text_pdf):
    """A model that says (or is told) its family gets the page scaled to its visual budget; its lines have
    no boxes (a VLM gives no positions)."""
    import io

    from PIL import Image

    from vlkit.vision import vision_facts

    chat = ScriptedChat(replies=["# Title\nBody"], seen=[])
    page = _pages(text_pdf, dpi=150)[0]
    reader = VLMReader(chat, family="qwen2_vl")
    budget = vision_facts(chat, "qwen2_vl").budget[1]
    assert page.width * page.height > budget and reader.max_pixels == budget
    read = reader.read_page(page)
    assert (read.text, read.reader) == ("# Title\nBody", "vlm")
    assert read.lines == [TextLine("# Title"), TextLine("Body")]
    url = chat.seen[0][0].content[0]["image_url"]["url"]
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.width * sent.height <= budget and sent.width < page.width
    assert VLMReader(chat).max_pixels is None  # cannot tell its family: the page goes as rendered


def test_the_text_layer_gives_lines_with_boxes_in_page_pixels_without_rendering(text_pdf):
    doc = open_document(text_pdf)
    try:
        page = next(iter(doc.pages(144)))
        read = TextLayerReader().read_page(page)
        assert not page.rendered  # the boxes are scaled by the render's scale, not measured on pixels
        assert isinstance(read, PageLines) and read.reader == "text" and read.number == 1
        assert read.text == TextLayerReader().read(page) and read.text.startswith("# Quarterly Report")
        heading = next(line for line in read.lines if line.text == "Quarterly Report")
        body = next(line for line in read.lines if "4821" in line.text)
        assert heading.size == pytest.approx(22 * 2) and body.size == pytest.approx(12 * 2)  # points at 144 dpi
        x0, y0, x1, y1 = heading.box
        assert x0 == pytest.approx(72 * 2, abs=6) and y1 < body.box[1]  # the heading is above the body line
        assert x1 <= page.width and body.box[3] <= page.height  # inside the rendered page
    finally:
        doc.close()


def test_text_reader_rebuilds_paragraphs_from_one_block_per_line(tmp_path):
    """Lines drawn one by one, far enough apart that PyMuPDF makes each its own block: wrapped lines
    rejoin into a paragraph, a CJK word cut by the wrap is whole again, and a wider gap still
    starts a new paragraph."""
    import pymupdf

    from vlkit.documents.readers._text import page_lines

    path = tmp_path / "wrapped.pdf"
    with pymupdf.open() as doc:
        page = doc.new_page()
        y = 90.0
        for line, font, advance in (("负责请求路由和可观", "china-s", 1.6), ("测性，性能很高。", "china-s", 2.4),
                                    ("The proxy retries each", "helv", 1.6), ("request twice.", "helv", 1.6)):
            page.insert_text((72, y), line, fontsize=12, fontname=font)
            y += 12 * advance
        doc.save(path)
    doc = open_document(path)
    try:
        page = next(iter(doc.pages(72)))
        assert len({block for block, _ in page_lines(page.pdf_page)}) == 4  # really one block per line
        text = make_reader("text").read(page)
    finally:
        doc.close()
    assert text == "负责请求路由和可观测性，性能很高。\n\nThe proxy retries each\nrequest twice."


def test_the_router_and_the_text_reader_share_one_text_extraction(text_pdf):
    """MuPDF's text extraction runs once per page, not once for routing and again for reading."""
    doc = open_document(text_pdf)
    try:
        page = next(iter(doc.pages(150)))
        calls = []
        real = page.pdf_page.get_text

        def counting(*args, **kwargs):
            calls.append(args)
            return real(*args, **kwargs)

        page.pdf_page.get_text = counting
        reader = AutoReader()
        assert isinstance(reader.select(page), TextLayerReader)
        text = reader.read(page)
        assert "Quarterly Report" in text and len(calls) == 1
        assert not page.rendered  # the text layer needed no pixels
    finally:
        doc.close()
