"""KnowledgeBaseTool over a real DocumentIndex: page texts, citations and page images reach the model."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage

from tests.agents.scripted import ScriptedChat, answer, call, images_in
from vlkit.agents import KnowledgeBaseTool, create_vlm_agent, run_summary


def test_search_returns_cited_page_text_and_image(kb_index) -> None:
    tool = KnowledgeBaseTool(index=kb_index, k=2, max_images=1, image_max_pixels=100_000)
    message = tool.invoke({"name": tool.name, "args": {"query": "how often to rotate API keys"}, "id": "c1", "type": "tool_call"})
    assert isinstance(message, ToolMessage)
    texts = [b["text"] for b in message.content if b["type"] == "text"]
    assert "[manual.pdf p.2]" in texts[1] and "90 days" in texts[1]  # the best page first
    images = [b for b in message.content if b["type"] == "image"]
    assert len(images) == 1 and images[0]["mime_type"] == "image/png"


def test_agent_sees_kb_pages_and_answers_with_citations(kb_index) -> None:
    model = ScriptedChat(script=[
        call("knowledge_base", query="when do backups run"),
        answer("Nightly at 02:00 [manual.pdf p.1]."),
    ])
    tool = KnowledgeBaseTool(index=kb_index, k=2, max_images=1)
    state = create_vlm_agent(model, [tool]).invoke({"messages": [{"role": "user", "content": "When do backups run?"}]})
    observation, page_images = model.calls[1][-2:]  # a plain chat model gets tool images in a user message
    assert isinstance(observation, ToolMessage) and "[manual.pdf p.1]" in observation.text
    assert "02:00" in observation.text and len(images_in([page_images])) == 1
    assert run_summary(state).answer == "Nightly at 02:00 [manual.pdf p.1]."


def test_ask_mode_answers_with_document_qa_and_returns_the_cited_pages(kb_index) -> None:
    qa_model = ScriptedChat(script=[AIMessage(content="Every 90 days [manual.pdf p.2].")])
    tool = KnowledgeBaseTool(index=kb_index, mode="ask", model=qa_model, k=3, max_images=1)
    content = tool.invoke({"name": tool.name, "args": {"query": "How often must API keys be rotated?"}, "id": "c2", "type": "tool_call"}).content
    assert content[0]["text"].startswith("Answer: Every 90 days [manual.pdf p.2].")
    assert "Sources: [manual.pdf p.2]" in content[0]["text"]
    assert len(qa_model.calls) == 1  # DocumentQA's own model call, with the pages in it
    assert [b["text"].splitlines()[0] for b in content[1:] if b["type"] == "text"] == ["[manual.pdf p.2]"]
