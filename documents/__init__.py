"""Reading pages: text layer, OCR and VLM readers with one text-line-with-box record, page images, the OCR router.

The floor under the knowledge base and the tools: a file opens into pages (:func:`open_document`: PDFs,
PNG/JPEG/TIFF, checked before anything is decoded), a reader turns a page into text and
:class:`TextLine` s with their boxes (:meth:`PageReader.read_page`), and :class:`SourcePage` carries the
page's pixels (rendered on first use) and its PNG. Nothing here imports a model: the ``vlm`` reader takes
any LangChain chat model.

Example:
    ```python
    from vlkit.documents import make_reader, open_document

    doc = open_document("scan.pdf")
    reader = make_reader("auto")                 # text layer where it covers the page, else OCR
    for page in doc.pages(dpi=150):
        read = reader.read_page(page)            # PageLines: .text, .lines (TextLine: text, box, ...), .reader
    doc.close()
    ```
"""

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

# public name -> the module that defines it, imported on first use
_EXPORTS = {
    **dict.fromkeys(("TextLine", "PageLines"), "._lines"),
    **dict.fromkeys(("SourcePage", "render_pdf_page"), "._pages"),
    **dict.fromkeys(("encode_png",), "._pngenc"),
    **dict.fromkeys((
        "open_document", "read_source", "OpenedDocument", "Source", "discover", "Found", "display_name",
        "SUPPORTED_SUFFIXES", "PDF_SUFFIXES", "IMAGE_SUFFIXES",
    ), "._files"),
    **dict.fromkeys(("PageReader",), ".readers._base"),
    **dict.fromkeys(("make_reader", "READERS"), ".readers._make"),
    **dict.fromkeys(("TextLayerReader",), ".readers._text"),
    **dict.fromkeys(("RapidOCRReader", "OCRSettings"), ".readers._rapidocr"),
    **dict.fromkeys(("TesseractReader",), ".readers._tesseract"),
    **dict.fromkeys(("VLMReader",), ".readers._vlm"),
    **dict.fromkeys(("AutoReader", "OCRRouter"), ".readers._auto"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.documents._files import (
        IMAGE_SUFFIXES, PDF_SUFFIXES, SUPPORTED_SUFFIXES, Found, OpenedDocument, Source, discover, display_name,
        open_document, read_source,
    )
    from vlkit.documents._lines import PageLines, TextLine
    from vlkit.documents._pages import SourcePage, render_pdf_page
    from vlkit.documents._pngenc import encode_png
    from vlkit.documents.readers import (
        READERS, AutoReader, OCRRouter, OCRSettings, PageReader, RapidOCRReader, TesseractReader, TextLayerReader,
        VLMReader, make_reader,
    )
