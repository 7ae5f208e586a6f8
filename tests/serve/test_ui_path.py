"""The web UI's chat runs on the API's one path (issue 23.2): the same queue and metrics, Stop cancels the
generation like a client that disconnects, and the browser gets batched updates, not one per token
(issue 25.5). In-process with a scripted backend; the browser test drives the real UI on the tiny model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from vlkit.models import ChatQwenVL
from vlkit.models.backends import Backend, Delta, TokenCount, Usage
from vlkit.serve.app import ServeConfig, create_app
from vlkit.serve.engine import Engine
from vlkit.serve.kb import KnowledgeBase

pytest.importorskip("gradio")


class Ticking(Backend):
    """One word every ``pause`` seconds, up to ``max_tokens``; records when its stream was closed."""

    context_length = 4096

    def __init__(self, pause: float) -> None:
        self.pause, self.closed, self.emitted = pause, threading.Event(), 0

    def count_tokens(self, request):
        return TokenCount(prompt_tokens=8)

    def stream(self, request):
        try:
            for i in range(request.max_tokens):
                time.sleep(self.pause)
                self.emitted += 1
                yield Delta(text=f" w{i}")
            yield Delta(usage=Usage(input_tokens=8, output_tokens=request.max_tokens), finish_reason="length")
        finally:
            self.closed.set()


def _ui(backend: Backend, tmp_path: Path):
    from vlkit.serve.ui import build_ui

    llm = ChatQwenVL(backend=backend, model="ticking", family="qwen2_vl")
    engine = Engine(llm, name="ticking")
    app = create_app(engine, ServeConfig(max_concurrency=1, queue=2))
    demo = build_ui(app, engine, kb=KnowledgeBase(tmp_path / "kb", llm, temporary=True))
    events = {getattr(f.fn, "__name__", ""): f for f in demo.fns.values()}
    ids = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    return app, events, ids


def _turn(update: dict):
    """The answer being generated, as the first update of an answer's event puts it in the session."""
    return next(value for value in update.values() if hasattr(value, "display"))


def _metric(app, name: str) -> float:
    line = next(x for x in app.state.metrics.render().splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


async def test_stop_cancels_the_generation_and_frees_the_slot(tmp_path: Path) -> None:
    backend = Ticking(pause=0.02)
    app, events, ui = _ui(backend, tmp_path)
    updates = events["respond"].fn({"text": "go", "files": []}, [], [], "", 2000, 0.0, 256, "Describe")
    turn = _turn(await anext(updates))
    while not (await anext(updates)).get(ui["vlkit-chat"], [{}])[-1].get("content"):
        pass  # the answer has started streaming
    assert _metric(app, "vlkit_active_generations") == 1
    await updates.aclose()  # what Gradio's Stop does to the event's generator
    assert backend.closed.wait(10)  # the model's stream was closed: generate() stops at its next token
    assert backend.emitted < 2000
    assert _metric(app, "vlkit_active_generations") == 0 and _metric(app, "vlkit_queue_depth") == 0
    assert _metric(app, "vlkit_generations_cancelled_total") == 1
    after = events["finish"].fn(turn)  # the step after the cancelled event: the answer so far, marked
    shown = after[ui["vlkit-chat"]][-1]["content"]
    assert shown.startswith(" w0") and shown.endswith("stopped*")
    assert after[ui["vlkit-stats"]].startswith("stopped after ")
    assert after[ui["vlkit-stop"]]["interactive"] is False


async def test_updates_are_batched_and_the_stats_are_the_generations_own(tmp_path: Path) -> None:
    from vlkit.serve.ui import FRAME_SECONDS

    backend = Ticking(pause=0.001)
    app, events, ui = _ui(backend, tmp_path)
    chat, stats = ui["vlkit-chat"], ui["vlkit-stats"]
    # Gradio rebuilds every output a yield leaves out, so the streaming event has the transcript as its
    # only visible output: a frame costs one component's postprocessing, not one per control
    assert [type(b).__name__ for b in events["respond"].outputs] == ["State", "State", "Chatbot"]
    updates, received = [], []
    async for update in events["respond"].fn({"text": "go", "files": []}, [], [], "", 400, 0.0, 256, "Describe"):
        updates.append(update)
        received.append(time.monotonic())
    rate = _metric(app, "vlkit_tokens_per_second_sum")  # the decode rate the metrics recorded
    final = updates[-1][chat][-1]["content"]
    assert final.startswith(" w0 w1") and " w399" in final and "tokens/s" not in final  # stats are not in the answer
    streaming = received[1:-1]  # the first update shows the question, the last the finished answer and its stats
    assert len(streaming) < 400  # tokens are batched into browser updates
    assert all(b - a >= FRAME_SECONDS * 0.9 for a, b in zip(streaming, streaming[1:]))  # at most one per frame
    assert all(set(update) == {chat} for update in updates[1:-1])  # a frame sends the transcript only
    line = events["finish"].fn(_turn(updates[0]))[stats]
    assert f"{rate:.1f} tokens/s" in line  # the UI shows what /metrics measured, once
