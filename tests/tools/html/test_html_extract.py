"""extract_html: one document out of a model's answer, fences and prose stripped."""

from __future__ import annotations

import pytest

from vlkit.errors import ModelOutputError
from vlkit.tools.html.refine import extract_html

DOC = "<!DOCTYPE html>\n<html><head><style>h1 { color: red; }</style></head><body><h1>Hi</h1></body></html>"


def test_a_fenced_document_with_prose_around_it() -> None:
    answer = f"Sure! Here is the page:\n\n```html\n{DOC}\n```\n\nIt uses flexbox. Let me know!"
    assert extract_html(answer) == DOC


def test_a_bare_document_with_prose() -> None:
    assert extract_html(f"Here you go: {DOC} Hope it helps.") == DOC


def test_only_the_first_of_two_documents_is_taken() -> None:
    second = DOC.replace("Hi", "Second")
    out = extract_html(f"```html\n{DOC}\n```\nor alternatively\n```html\n{second}\n```")
    assert out == DOC and "Second" not in out


def test_html_tag_without_doctype_and_case() -> None:
    doc = "<HTML><BODY><P>x</P></BODY></HTML>"
    assert extract_html(f"text {doc} more") == doc


def test_a_truncated_document_is_kept_up_to_the_end() -> None:
    out = extract_html("```html\n<!DOCTYPE html><html><body><h1>Cut off")
    assert out.startswith("<!DOCTYPE html>") and out.endswith("Cut off")


def test_a_fenced_fragment_is_wrapped() -> None:
    out = extract_html("```html\n<body><div>card</div></body>\n```")
    assert out.startswith("<!DOCTYPE html>") and "<div>card</div>" in out and out.endswith("</html>")


@pytest.mark.parametrize("answer", ["I cannot see the image.", "```python\nprint('<b>')\n```", ""])
def test_no_document_is_a_model_output_error(answer) -> None:
    with pytest.raises(ModelOutputError, match="no HTML document"):
        extract_html(answer)


def test_zero_rounds_is_an_invalid_argument_before_any_model_call() -> None:
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from PIL import Image

    from vlkit.errors import InvalidArgumentError
    from vlkit.tools.html.refine import refine_html

    model = FakeMessagesListChatModel(responses=[])
    with pytest.raises(InvalidArgumentError, match="rounds must be 1 or more; got 0"):
        refine_html(model, Image.new("RGB", (64, 48), "white"), rounds=0)
