"""The server needs nothing from a backend but what `Backend` declares: a scripted backend that implements
exactly that (and fails on any other attribute) is served — counted before it runs, its context enforced,
its answer streamed. Serving the real tiny checkpoint (the other tests here) is the proof it works."""

from __future__ import annotations

import json

import httpx
import pytest

from vlkit.models import ChatQwenVL
from vlkit.models.backends import Backend, Delta, GenerationRequest, ImageCount, TokenCount, Usage
from vlkit.serve.app import ServeConfig, create_app
from vlkit.serve.engine import Engine

CONTEXT = 64


class Scripted(Backend):
    """Counts one token per word (and 10 per image), answers with a script; nothing else."""

    def __init__(self, answer: list[str]) -> None:
        self.answer = answer
        self.is_loaded = False
        self.requests: list[GenerationRequest] = []

    def __getattr__(self, name: str):  # anything the server reaches for beyond the interface fails the test
        raise AssertionError(f"the server used {name!r}, which Backend does not declare")

    @property
    def loaded(self) -> bool:
        return self.is_loaded

    def load(self) -> None:
        self.is_loaded = True

    @property
    def context_length(self) -> int:
        return CONTEXT

    def count_tokens(self, request: GenerationRequest) -> TokenCount:
        words = sum(len(turn.text.split()) for turn in request.turns)
        images = tuple(ImageCount(size=(28, 28), resized=(28, 28), tokens=10) for t in request.turns for _ in t.images)
        return TokenCount(prompt_tokens=words + 10 * len(images), images=images)

    def stream(self, request: GenerationRequest):
        self.requests.append(request)
        prompt = self.count_tokens(request).prompt_tokens
        pieces = self.answer[: request.max_tokens]
        for piece in pieces:
            yield Delta(text=piece)
        finish = "length" if len(pieces) < len(self.answer) else "stop"
        yield Delta(usage=Usage(input_tokens=prompt, output_tokens=len(pieces)), finish_reason=finish)


@pytest.fixture
def served() -> tuple[Scripted, object]:
    backend = Scripted(["Hello", " from", " a", " scripted", " backend."])
    engine = Engine(ChatQwenVL(backend=backend, model="scripted", family="qwen2_vl", max_tokens=40), name="scripted")
    assert not backend.loaded
    engine.load()
    assert backend.loaded
    return backend, create_app(engine, ServeConfig(max_concurrency=1, queue=4))


def chat(**extra: object) -> dict:
    return {"model": "scripted", "messages": [{"role": "user", "content": "say hello to everyone here"}], **extra}


async def test_a_backend_with_only_the_declared_interface_is_served(served) -> None:
    backend, app = served
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30) as client:
        models = (await client.get("/v1/models")).json()
        assert models["data"][0]["max_model_len"] == CONTEXT

        reply = (await client.post("/v1/chat/completions", json=chat(max_tokens=3))).json()
        assert reply["choices"][0]["message"]["content"] == "Hello from a"
        assert reply["choices"][0]["finish_reason"] == "length"
        assert reply["usage"]["prompt_tokens"] == 5 and reply["usage"]["completion_tokens"] == 3

        await client.post("/v1/chat/completions", json=chat())  # no max_tokens: the default, capped by the room left
        assert backend.requests[-1].max_tokens == min(40, CONTEXT - 5)

        too_long = await client.post("/v1/chat/completions", json=chat(max_tokens=CONTEXT))
        error = too_long.json()["error"]
        assert too_long.status_code == 400 and f"context of {CONTEXT} tokens" in error["message"]

        async with client.stream("POST", "/v1/chat/completions", json=chat(stream=True, max_tokens=10)) as response:
            events = [line[6:] async for line in response.aiter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1] if json.loads(e)["choices"])
        assert text == "Hello from a scripted backend."


async def test_image_costs_come_from_the_backend_count(served, image_url: str) -> None:
    backend, app = served
    images = [{"type": "image_url", "image_url": {"url": image_url}}] * 7  # 7 x 10 tokens > the 64-token context
    body = {"model": "scripted", "messages": [{"role": "user", "content": [*images, {"type": "text", "text": "hi"}]}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30) as client:
        response = await client.post("/v1/chat/completions", json=body)
    message = response.json()["error"]["message"]
    assert response.status_code == 400 and "7 image(s)" in message and "= 10" in message
    assert backend.requests == []  # refused before it ran
