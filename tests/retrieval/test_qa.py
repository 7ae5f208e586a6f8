"""DocumentQA control flow with a scripted chat model that records what it was sent, and one
real generation through ChatQwenVL on a tiny random checkpoint."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from PIL import Image

from vlkit.retrieval.qa import NOT_FOUND, Answer, DocumentQA, is_chinese


class ScriptedChat(BaseChatModel):
    """Replies with ``reply`` (streamed word by word) and records every message list it gets."""

    reply: str = ""
    calls: list = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.calls.append(messages)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs: Any):
        self.calls.append(messages)
        for word in self.reply.split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


def _blocks(messages, kind):
    return [b for b in messages[1].content if b["type"] == kind]


def test_answer_sends_page_images_text_and_citations(text_index, text_pdf):
    chat = ScriptedChat(reply=f"Hawaii has shield volcanoes [{text_pdf.name} p.3].", calls=[])
    qa = DocumentQA(chat, text_index, k=3, max_images=1, image_max_pixels=200_000)
    answer = qa.ask("Where does basalt magma erupt?")
    assert len(chat.calls) == 1
    system, human = chat.calls[0]
    assert "[manual.pdf p.3]" in system.content and "citation" in system.content  # English template
    images = _blocks(chat.calls[0], "image")
    assert len(images) == 1  # max_images
    img = Image.open(io.BytesIO(base64.b64decode(images[0]["base64"])))
    assert img.width * img.height <= 200_000 and images[0]["mime_type"] == "image/png"
    texts = "\n".join(b["text"] for b in _blocks(chat.calls[0], "text"))
    assert f"Source [{text_pdf.name} p.3]:" in texts and "Basalt magma" in texts
    assert texts.rstrip().endswith("Question: Where does basalt magma erupt?")
    assert answer.sources[0].page == 3 and [s.page for s in answer.cited] == [3]


def test_small_page_images_go_as_file_urls(text_index):
    chat = ScriptedChat(reply="ok", calls=[])
    DocumentQA(chat, text_index, k=2, max_images=2, image_max_pixels=10_000_000, min_relevance=0.0).ask("invoice total 4821")
    urls = [b["url"] for b in _blocks(chat.calls[0], "image")]
    assert len(urls) == 2 and all(u.startswith("file:///") and u.endswith(".png") for u in urls)


def test_chinese_question_uses_chinese_prompt(text_index, chinese_pdf):
    chat = ScriptedChat(reply=f"人工智能使用神经网络 [{chinese_pdf.name} p.2]。", calls=[])
    answer = DocumentQA(chat, text_index, k=2).ask("人工智能是什么？")
    assert "引用标记" in chat.calls[0][0].content
    assert chat.calls[0][1].content[-1]["text"] == "问题: 人工智能是什么？"
    assert answer.cited and answer.cited[0].file_name == chinese_pdf.name


def test_nothing_relevant_answers_without_calling_the_model(text_index):
    chat = ScriptedChat(reply="should not be used", calls=[])
    qa = DocumentQA(chat, text_index, min_relevance=0.9)
    answer = qa.ask("What is the airspeed of an unladen swallow?")
    assert answer == Answer(NOT_FOUND["en"], []) and not answer.found
    assert list(qa.stream("还有别的吗？")) == [NOT_FOUND["zh"], []]
    assert chat.calls == []


def test_stream_yields_pieces_then_sources(text_index, text_pdf):
    chat = ScriptedChat(reply=f"Plants use chlorophyll [{text_pdf.name} p.2].", calls=[])
    out = list(DocumentQA(chat, text_index, k=2).stream("what do plants use chlorophyll for"))
    *pieces, sources = out
    assert len(pieces) == 5 and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).strip() == chat.reply
    assert sources[0].page == 2 and len(chat.calls) == 1


def test_is_chinese():
    assert is_chinese("如何配置 proxy？") and not is_chinese("How to 配置 the proxy server quickly?")


@pytest.mark.slow
def test_qa_with_chatqwenvl_on_tiny_checkpoint(text_index):
    from vlkit import testing
    from vlkit.models import ChatQwenVL

    chat = ChatQwenVL(model=str(testing.tiny_checkpoint("qwen2_vl")), max_tokens=8)
    qa = DocumentQA(chat, text_index, k=2, max_images=1, image_max_pixels=64 * 28 * 28)
    answer = qa.ask("Where does basalt magma erupt?")
    assert isinstance(answer.text, str) and answer.sources[0].page == 3
    streamed = list(qa.stream("Where does basalt magma erupt?"))
    assert isinstance(streamed[-1], list) and streamed[-1][0].page == 3


def test_bad_settings_are_user_errors(text_index):
    from vlkit.errors import InvalidArgumentError

    for bad in ({"k": 0}, {"max_images": -1}, {"image_max_pixels": 100}, {"image_tokens": 0}):
        with pytest.raises(InvalidArgumentError, match="need k >= 1, max_images >= 0 and image_max_pixels >= 784"):
            DocumentQA(None, text_index, **bad)


@pytest.mark.parametrize("family, side", [("qwen2_vl", 28), ("qwen2_5_vl", 28), ("qwen3_vl", 32)])
def test_the_page_budget_is_counted_in_the_answering_models_tokens(text_index, family, side):
    from vlkit import testing
    from vlkit.models import ChatQwenVL
    from vlkit.retrieval.qa import PAGE_IMAGE_TOKENS

    qwen = ChatQwenVL(model=str(testing.tiny_checkpoint(family)))  # the family is read from its config.json
    assert DocumentQA(qwen, text_index).image_max_pixels == PAGE_IMAGE_TOKENS * side * side
    assert DocumentQA(qwen, text_index, image_tokens=100).image_max_pixels == 100 * side * side
    served = ChatQwenVL(backend="openai", base_url="http://127.0.0.1:9/v1", model="m")  # cannot tell its family
    assert DocumentQA(served, text_index, family=family).image_max_pixels == PAGE_IMAGE_TOKENS * side * side
    # a model that cannot tell its family (and no family=): the smallest token, so never more than 768 tokens
    assert DocumentQA(served, text_index).image_max_pixels == PAGE_IMAGE_TOKENS * 28 * 28
    assert DocumentQA(ScriptedChat(), text_index, image_max_pixels=5000).image_max_pixels == 5000


def test_the_page_images_sent_fit_the_token_budget_of_the_given_family(text_index):
    chat = ScriptedChat(reply="ok", calls=[])
    DocumentQA(chat, text_index, k=1, max_images=1, image_tokens=100, family="qwen3_vl", min_relevance=0.0).ask(
        "invoice total 4821"
    )
    (image,) = _blocks(chat.calls[0], "image")
    img = Image.open(io.BytesIO(base64.b64decode(image["base64"])))
    assert 100 * 28 * 28 < img.width * img.height <= 100 * 32 * 32  # Qwen3-VL's 32-pixel tokens, not 28
