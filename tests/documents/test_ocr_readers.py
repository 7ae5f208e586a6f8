"""OCR readers on real rendered pages: RapidOCR with the document settings (shrunk detector input, lines
recognised on several threads), Tesseract through its binary, and the errors when Tesseract is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vlkit.documents import OCRSettings, PageLines, RapidOCRReader, SourcePage, TesseractReader, make_reader, open_document
from vlkit.documents.readers._tesseract import INSTALL
from vlkit.errors import MissingProgramError

pymupdf = pytest.importorskip("pymupdf")

EN_LINES = [
    "The proxy retries each request twice before it gives up.",
    "Set the timeout with the option called retry_window.",
    "Logs are kept for fourteen days in the spool folder.",
    "Every node reports its health to the coordinator.",
    "A failed node is drained and its jobs move elsewhere.",
    "Backups run at night and are checked every Sunday.",
    "The archive keeps monthly copies for seven years.",
    "Operators get a mail when a disk is nearly full.",
]
ZH_LINES = ["代理服务器在放弃之前会重试两次。", "日志在假脱机目录中保存十四天。", "每个节点都向协调器报告健康状况。"]


def _a4_page(tmp_path: Path, name: str, heading: str, lines: list[str], font: str = "helv"):
    """An A4 page with an 18 pt heading and 11 pt body lines, rendered at 150 dpi (1240 x 1754 px)."""
    path = tmp_path / name
    with pymupdf.open() as doc:
        page = doc.new_page(width=595, height=842)
        page.insert_text((60, 90), heading, fontsize=18, fontname=font)
        y = 130.0
        for line in lines:
            page.insert_text((60, y), line, fontsize=11, fontname=font)
            y += 22
        doc.save(path)
    doc = open_document(path)
    try:
        (page,) = list(doc.pages(150))
        return SourcePage(number=1, pixels=page.pixels)  # the pixels only, like a scan: no text layer behind it
    finally:
        doc.close()


def test_ocr_settings_are_rapidocr_config_keys():
    """Every key vlkit sets exists in the installed RapidOCR's config.yaml (a typo would be silently ignored)."""
    import rapidocr

    config = yaml.safe_load((Path(rapidocr.__file__).parent / "config.yaml").read_text())
    for settings in (OCRSettings(), OCRSettings.for_documents(), OCRSettings.stock()):
        for key in settings.params():
            node = config
            for part in key.split("."):
                assert isinstance(node, dict) and part in node, key
                node = node[part]


@pytest.mark.slow
def test_document_settings_read_english_page_in_order(tmp_path):
    page = _a4_page(tmp_path, "en.pdf", "Cluster Operations", EN_LINES)
    assert max(page.width, page.height) > 1024  # the detector really sees a shrunk page
    reader = RapidOCRReader(settings=OCRSettings(det_max_side=1024, workers=2))
    text = reader.read(page)
    lines = text.splitlines()
    assert lines[0] == "# Cluster Operations"
    # lines recognised on two threads come back in reading order
    found = [next(i for i, line in enumerate(lines) if want[:14] in line) for want in EN_LINES]
    assert found == sorted(found)
    assert "retry_window" in text and "fourteen days" in text and "seven years" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rapidocr", "tesseract"])
def test_ocr_lines_carry_their_boxes_in_page_pixels(tmp_path, name):
    """One pass gives the text and the lines with their boxes: the heading's box is above the first body
    line's, both inside the page, and the text is made from those same lines."""
    page = _a4_page(tmp_path, "en.pdf", "Cluster Operations", EN_LINES)
    read = make_reader(name).read_page(page)
    assert read.reader == name and read.text.splitlines()[0] == "# Cluster Operations"
    heading = next(line for line in read.lines if "Cluster" in line.text)
    body = next(line for line in read.lines if "retries each" in line.text)
    assert heading.box[3] <= body.box[1] and heading.box[0] == pytest.approx(60 * 150 / 72, abs=15)
    assert all(0 <= line.box[0] < line.box[2] <= page.width and 0 <= line.box[1] < line.box[3] <= page.height
               for line in read.lines)
    assert all(0 < line.confidence <= 1 for line in read.lines)


@pytest.mark.slow
def test_document_settings_read_chinese_page(tmp_path):
    page = _a4_page(tmp_path, "zh.pdf", "运维手册", ZH_LINES, font="china-s")
    text = make_reader("rapidocr").read(page)  # the registry's reader: document settings
    assert "运维手册" in text.splitlines()[0]
    assert "重试两次" in text and "十四天" in text and "协调器" in text


@pytest.mark.slow
def test_tesseract_reads_english_and_chinese(tmp_path):
    reader = make_reader("tesseract")
    assert isinstance(reader, TesseractReader) and reader.name == "tesseract"
    text = reader.read(_a4_page(tmp_path, "en.pdf", "Cluster Operations", EN_LINES))
    assert text.splitlines()[0] == "# Cluster Operations"
    assert "retries each request twice" in text and "seven years" in text
    zh = reader.read(_a4_page(tmp_path, "zh.pdf", "运维手册", ZH_LINES, font="china-s"))
    # Chinese characters joined again (Tesseract spaces them); it misreads more glyphs than RapidOCR
    assert "重试两次" in zh and "协调器" in zh


def test_missing_tesseract_names_the_apt_packages(tmp_path):
    page = _a4_page(tmp_path, "en.pdf", "Title", EN_LINES[:1])
    with pytest.raises(MissingProgramError) as info:
        TesseractReader(binary=str(tmp_path / "no-such-tesseract")).read(page)
    assert "apt-get install tesseract-ocr tesseract-ocr-chi-sim" in str(info.value) and INSTALL in str(info.value)


def test_missing_tesseract_language_names_its_package(tmp_path):
    page = _a4_page(tmp_path, "en.pdf", "Title", EN_LINES[:1])
    with pytest.raises(MissingProgramError, match="apt-get install tesseract-ocr-xyz"):
        TesseractReader(languages="eng+xyz").read(page)


@pytest.mark.slow
def test_auto_ocr_routes_english_to_tesseract_and_chinese_to_rapidocr(tmp_path):
    """The OCR ``auto`` uses: Tesseract's text is kept for an English scan; a page it reads as mostly
    CJK is read again by RapidOCR, whose Chinese is better (the text and the recorded name are RapidOCR's)."""
    from vlkit.documents import OCRRouter

    router = make_reader("auto").ocr
    assert isinstance(router, OCRRouter) and isinstance(router.latin, TesseractReader)
    read = router.read_page(_a4_page(tmp_path, "en.pdf", "Cluster Operations", EN_LINES))
    assert read.reader == "tesseract" and "retries each request twice" in read.text
    zh_page = _a4_page(tmp_path, "zh.pdf", "运维手册", ZH_LINES, font="china-s")
    read = router.read_page(zh_page)
    text = read.text
    assert read.reader == "rapidocr" and read == router.cjk.read_page(zh_page)
    assert "重试两次" in text and "十四天" in text


def test_auto_ocr_without_tesseract_is_rapidocr(tmp_path, monkeypatch):
    from vlkit.documents.readers import _auto as auto

    monkeypatch.setattr(auto.shutil, "which", lambda name: None)
    router = auto.OCRRouter(RapidOCRReader(settings=OCRSettings.for_documents()))
    assert router.latin is None
    calls = []
    monkeypatch.setattr(router.cjk, "read_page", lambda page: calls.append(page) or PageLines(1, "text", [], "rapidocr"))
    read = router.read_page(object())
    assert (read.text, read.reader) == ("text", "rapidocr") and len(calls) == 1


class _Scripted:
    """A reader that returns set texts per page number and counts its calls (routing control flow only)."""

    def __init__(self, name: str, texts: dict[int, str]) -> None:
        self.name, self.texts, self.calls = name, texts, []

    def read_page(self, page) -> PageLines:
        self.calls.append(page.number)
        return PageLines(page.number, self.texts[page.number], [], self.name)


def test_a_chinese_document_stops_paying_tesseract_after_two_pages():
    """Control flow of the router's per-document decision (scripted readers; the engines themselves are
    tested above): pages 1-2 are read by both, 3-4 by RapidOCR only; page 5 has no CJK, so page 6 is
    Tesseract first again; a new document (page 1) starts afresh."""
    from types import SimpleNamespace

    from vlkit.documents import OCRRouter

    zh, en = "代理服务器在放弃之前会重试两次", "The proxy retries each request twice"
    cjk = _Scripted("rapidocr", {1: zh, 2: zh, 3: zh, 4: zh, 5: en, 8: zh})
    latin = _Scripted("tesseract", {1: zh, 2: zh, 6: en, 7: en, 8: zh})
    router = OCRRouter(cjk, latin=latin)
    used = [router.read_page(SimpleNamespace(number=n)).reader for n in range(1, 8)]
    assert used == ["rapidocr"] * 5 + ["tesseract", "tesseract"]
    assert latin.calls == [1, 2, 6, 7] and cjk.calls == [1, 2, 3, 4, 5]
    cjk.texts[9] = latin.texts[9] = zh
    router.read_page(SimpleNamespace(number=8))  # run is 0 after page 7: Tesseract first
    router.read_page(SimpleNamespace(number=9))
    assert latin.calls[-2:] == [8, 9] and router._run == 2  # the next page would skip Tesseract ...
    latin.texts[1] = en
    assert router.read_page(SimpleNamespace(number=1)).reader == "tesseract" and router._run == 0  # ... but page 1 is a new document
