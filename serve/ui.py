"""The web UI (Gradio, mounted at ``/`` of the API app): chat with images and video, and a documents tab.

The UI runs every generation through the API's one path, :class:`~vlkit.serve.runner.Runner` (a UI
request waits in, or is refused by, the same queue; Stop cancels it like a client that disconnects), so it
cannot overload the server. While an answer streams, only the transcript goes to the browser, at most
:data:`FRAME_SECONDS` apart however fast tokens come, so showing an answer costs no per-token work the API
does not do. Stop is live only while an answer is generated; what it cut short stays, marked as stopped.
One stats line under the conversation gives the answer's time to first token and tokens/s, timed in the
generation thread as ``/metrics`` times them. "Max tokens" goes up to the room the prompt leaves in the
context (counted by the backend as the request would be), and errors name the UI's own controls
(:func:`vlkit.errors.said_on` with ``"ui"``). The presets that produce pictures show them beside the
answer (HTML rendered next to its source, the planned click on the screenshot, the invoice's fields with
vlkit's invoice checks); cited pages are shown by :mod:`vlkit.serve.ui_pages`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import mimetypes
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator

from vlkit.serve.limits import check_context
from vlkit.serve.schemas import APIError, ChatCompletionRequest
from vlkit.serve.ui_pages import PAGES_CSS, PAGES_JS, pages_html, passage_boxes
from vlkit.serve.ui_views import INVOICE_COLUMNS, tool_views
from vlkit.vision.facts import vision_facts

from vlkit.errors import VlkitError, said_on
from vlkit.extras import require

__all__ = ["PRESETS", "FRAME_SECONDS", "STOPPED", "build_ui", "mount_ui"]

FRAME_SECONDS = 0.05
"""Least time between two updates of a streaming answer in the browser (tokens in between are batched)."""

STOPPED = "*— stopped*"
"""Ends an answer that Stop cut short, in the transcript (the conversation keeps the text before it)."""


PRESETS = {
    "Describe": "describe",
    "OCR (transcribe text)": "ocr",
    "Invoice → JSON": "invoice",
    "Screenshot → HTML": "screenshot_html",
    "GUI plan (next click)": "gui_plan",
}


def _preset_text(name: str) -> str:
    return resources.files("vlkit.serve").joinpath("prompts", f"{PRESETS[name]}.txt").read_text(encoding="utf-8")


def _data_url(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def _message_parts(message: dict | None) -> tuple[str, list[str]]:
    """The text and the uploaded files' paths of the input box's value."""
    text = (message or {}).get("text", "") or ""
    return text, [f if isinstance(f, str) else f.get("path") for f in (message or {}).get("files", [])]


def _user_turn(text: str, files: list[str]) -> dict[str, Any]:
    return {"text": text, "images": [f for f in files if not _is_video(f)], "videos": [f for f in files if _is_video(f)]}


@dataclass
class _Turn:
    """One answer on its way, kept in the session so that the step after its event (also when Stop
    cancelled it) can finish it."""

    history: list
    """The conversation: with the question, then (once :meth:`end` ran) with the answer."""
    display: list
    """The transcript, the answer's message last."""
    preset: str = ""
    answer: str = ""
    job: Any = None
    line: str = ""
    """The stats line under the conversation."""
    done: bool = False

    def end(self, shown: str, *, kept: str | None = None, error: bool = False, line: str = "") -> None:
        """``shown`` in the transcript, ``kept`` (default ``shown``) in the conversation the model reads
        next; an ``error`` is kept out of what it reads."""
        self.done, self.line = True, line
        self.display[-1] = {"role": "assistant", "content": shown}
        self.history = [*self.history, {"role": "assistant", "text": shown if kept is None else kept, "error": error}]


def _said(exc: BaseException) -> str:
    """An error in the web UI's words: a vlkit error names the UI's controls, also where the API wrapped
    it in an :class:`APIError` (its cause)."""
    cause = exc.__cause__ if isinstance(exc, APIError) else exc
    if isinstance(cause, VlkitError):
        return said_on(cause, "ui")
    return exc.message if isinstance(exc, APIError) else f"{type(exc).__name__}: {exc}"


def _is_video(path: str) -> bool:
    """An uploaded file is a video by its type (MP4, WebM, MKV, MOV, AVI); GIFs go as images."""
    return (mimetypes.guess_type(path)[0] or "").startswith("video/")


def _index_note(kb: Any) -> str:
    if kb is None:
        return "No document index: start the server with `--index DIR` (built with `vlkit kb add`)."
    if kb.temporary:
        return (f"Documents are indexed into `{kb.path}`, a temporary folder deleted when the server stops; "
                "start it with `--index DIR` to keep an index.")  # fmt: skip
    return f"Index: `{kb.path}`"


def build_ui(app: Any, engine: Any, *, kb: Any = None) -> Any:
    """The Gradio Blocks of the UI; generations go through ``app.state.runner`` like API requests, and the
    Documents tab works on ``kb`` (a :class:`~vlkit.serve.kb.KnowledgeBase`, the API's)."""
    gr = require("gradio", "ui", "the vlkit serve web UI")
    runner = app.state.runner

    def request(history: list, system: str, max_tokens: float, temperature: float, visual_tokens: float,
                preset: str) -> ChatCompletionRequest:  # fmt: skip
        """The chat completion the conversation ``history`` makes, as an API client would send it."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system.strip() else []
        for turn in history:
            if turn.get("role") == "assistant":
                if not turn.get("error"):  # an error shown in the transcript is not the model's to read
                    messages.append({"role": "assistant", "content": turn["text"]})
                continue
            parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": _data_url(p)}} for p in turn["images"]]
            parts += [{"type": "video_url", "video_url": {"url": _data_url(p)}} for p in turn.get("videos", [])]
            parts.append({"type": "text", "text": turn["text"]})
            messages.append({"role": "user", "content": parts})
        body: dict[str, Any] = {"model": engine.name, "messages": messages, "max_tokens": int(max_tokens),
                                "temperature": float(temperature),
                                "mm_processor_kwargs": {"max_pixels": engine.family.pixels_for_tokens(int(visual_tokens))}}  # fmt: skip
        if PRESETS.get(preset) == "invoice":
            body["response_format"] = {"type": "json_object"}
        return ChatCompletionRequest.model_validate(body)

    def prepare(message: dict | None) -> dict:
        """Before an answer: the question leaves the box for the answer's event, and Stop goes live."""
        return {pending: message, box: "", **controls(live=True)}

    async def respond(message: dict | None, history: list, display: list, system: str, max_tokens: float,
                      temperature: float, visual_tokens: float, preset: str) -> AsyncIterator[dict]:  # fmt: skip
        """The answer to ``message``, streamed into the transcript. This event's outputs are the transcript
        and session state only: Gradio rebuilds each output that a yield leaves out as a no-op update (a
        new component and its config) on every frame, work the event loop then takes from the decoding beside
        it (``benchmarks/bench_serve.py`` measures it); Stop, the stats line and the pictures are set by
        :func:`finish`."""
        text, files = _message_parts(message)
        if not text.strip() and not files:
            yield {live: None}
            return
        history = [*history, _user_turn(text, files)]
        display = [*display, {"role": "user", "content": [*({"path": f} for f in files), text] if files else text}]
        async with contextlib.aclosing(_generate(history, display, system, max_tokens, temperature, visual_tokens,
                                                 preset)) as updates:  # Stop closes this: the run ends now, not at GC
            async for update in updates:
                yield update

    async def regenerate(history: list, display: list, system: str, max_tokens: float, temperature: float,
                         visual_tokens: float, preset: str) -> AsyncIterator[dict]:  # fmt: skip
        if history and history[-1].get("role") == "assistant":
            history = history[:-1]
            display = display[:-1]
        if not history:
            yield {live: None}
            return
        async with contextlib.aclosing(_generate(history, display, system, max_tokens, temperature, visual_tokens,
                                                 preset)) as updates:  # Stop closes this: the run ends now, not at GC
            async for update in updates:
                yield update

    async def _generate(history: list, display: list, system: str, max_tokens: float, temperature: float,
                        visual_tokens: float, preset: str) -> AsyncIterator[dict]:  # fmt: skip
        turn = _Turn(history, [*display, {"role": "assistant", "content": ""}], preset)
        yield {live: turn, conversation: history, chatbot: turn.display}  # the question shows at once
        try:
            ticket = runner.admit()
        except APIError as exc:
            turn.end(f"⚠ {_said(exc)}", error=True)
            yield {conversation: turn.history, chatbot: turn.display}
            return
        failed, line = False, ""
        try:
            turn.job = job = await engine.job(request(history, system, max_tokens, temperature, visual_tokens, preset))
            shown = time.monotonic()
            async with contextlib.aclosing(runner.run(ticket, job)) as chunks:  # Stop closes it: the run ends
                async for chunk in chunks:
                    if isinstance(chunk.content, str) and chunk.content:
                        turn.answer += chunk.content
                        if time.monotonic() - shown >= FRAME_SECONDS:
                            turn.display[-1] = {"role": "assistant", "content": turn.answer}
                            yield {chatbot: turn.display}
                            shown = time.monotonic()
            line = _stats(job)
        except Exception as exc:  # shown to the user (in the UI's words) rather than swallowed by Gradio
            failed = not turn.answer
            turn.answer = turn.answer or f"⚠ {_said(exc)}"
        finally:
            ticket.release()
        turn.end(turn.answer, error=failed, line=line)
        yield {conversation: turn.history, chatbot: turn.display}

    def controls(*, live: bool) -> dict:
        """Stop is live (red) only while an answer is generated; Regenerate only while none is."""
        return {stop: gr.update(interactive=live, variant="stop" if live else "secondary"),
                regen: gr.update(interactive=not live)}  # fmt: skip

    def finish(turn: _Turn | None) -> dict:
        """After an answer's event ends, however it ended (Stop cancels it): Stop goes idle, the stats line
        and the preset's pictures are shown, and an answer that Stop cut short is kept in the conversation,
        marked as stopped. (The pictures are outputs of this step, not of the answer's event, also because
        Gradio marks the outputs of a cancelled event that never got a value as failed.)"""
        if turn is None:
            return controls(live=False)
        update = controls(live=False)
        if not turn.done:  # Stop cancelled the answer's event
            line = _stats(turn.job, stopped=True) if turn.job is not None else "stopped before the answer started"
            turn.end(f"{turn.answer}\n\n{STOPPED}" if turn.answer else STOPPED, kept=turn.answer,
                     error=not turn.answer, line=line)  # fmt: skip
            update |= {conversation: turn.history, chatbot: turn.display}
        html_value, picture_value, table_value = tool_views(PRESETS.get(turn.preset, ""), turn.answer, turn.history,
                                                            engine)  # fmt: skip
        return {**update, stats: turn.line, html_view: html_value, table: table_value,
                picture: picture_value if picture_value is not None else gr.update()}  # fmt: skip

    async def room(message: dict | None, history: list, system: str, wanted: float, visual_tokens: float,
                   preset: str) -> Any:  # fmt: skip
        """"Max tokens" goes up to the room the prompt leaves in the context: the conversation, the system
        prompt and what is in the box (images at the visual budget), counted by the backend as a request.
        Its value is what the user chose (``wanted``), or the room when that is less."""
        if engine.context is None:
            return gr.update()
        text, files = _message_parts(message)
        turns = [*history, _user_turn(text, files)] if text.strip() or files else history
        if not turns and not system.strip():
            return gr.update(maximum=engine.context, info=f"up to {engine.context}: the model's context")
        try:
            job = await engine.job(request(turns, system, 1, 0.0, visual_tokens, preset))
            count = await asyncio.to_thread(engine.prompt_count, job)
        except Exception as exc:  # an image the model cannot take: sending it says so in the transcript
            return gr.update(info=f"⚠ {_said(exc)}")
        if count is None:
            return gr.update()
        left = engine.context - count.prompt_tokens
        if left < 2:  # (a slider's maximum must be above its minimum, 1)
            try:  # what sending it would say, with "Max tokens" as it is set
                check_context(count, int(wanted), engine.context, engine.family, True)
            except VlkitError as exc:
                return gr.update(info=f"⚠ {_said(exc)}")
            return gr.update(info=f"⚠ the prompt leaves room for {left} token(s) of answer")
        return gr.update(maximum=left, value=max(1, min(int(wanted), left)),
                         info=f"up to {left}: the prompt takes {count.prompt_tokens} of the {engine.context}-token context")  # fmt: skip

    def clear() -> tuple:
        return [], [], "", None

    def add_documents(files: list, progress: Any = gr.Progress()) -> str:
        paths = [f if isinstance(f, str) else f.name for f in files or []]
        if kb is None:
            return _index_note(kb)
        if not paths:
            return "Choose PDFs or images first."
        progress(0, desc="reading pages")
        summary = kb.add(paths, progress=lambda done, total: progress((done, max(total, 1)), desc="pages"))
        lines = [f"- {html.escape(Path(r.path).name)}: {r.status}" + (f" ({html.escape(r.error)})" if r.error else "")
                 for r in summary.files]  # fmt: skip
        return f"Indexed {summary.pages} page(s).\n" + "\n".join(lines)

    def show_pages(hits: list, question: str) -> str:
        index = kb.index
        with kb.lock:  # MuPDF, which reads the line boxes, is not safe in two threads at once
            boxes = [passage_boxes(index, hit, question) for hit in hits]
        return pages_html(hits, boxes)

    async def ask(question: str) -> tuple[str, str, str]:
        if not question.strip():
            return "Type a question.", "", ""
        if kb is None:
            return _index_note(kb), "", ""
        try:
            ticket = runner.admit()
            try:
                answer, _ = await kb.answer(runner, ticket, question)
            finally:
                ticket.release()
        except APIError as exc:
            return f"⚠ {_said(exc)}", "", ""
        cited = answer.cited or answer.sources
        citations = "\n".join(f"- {h.citation} (score {h.score:.3f})" for h in cited) or "No source page was relevant."
        return answer.text, "**Sources**\n" + citations, await asyncio.to_thread(show_pages, cited, question)

    with gr.Blocks(title="vlkit serve") as demo:
        gr.Markdown(f"### vlkit · `{engine.name}`")
        conversation = gr.State([])
        live = gr.State(None)  # the answer being generated (a _Turn), for the step after its event
        pending = gr.State(None)  # the question on its way from the box to the answer's event
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="vlkit-chat")
                    box = gr.MultimodalTextbox(file_count="multiple", file_types=["image", "video"], elem_id="vlkit-input",
                                               placeholder="Ask about images or a video…", show_label=False)  # fmt: skip
                    with gr.Row():
                        stop = gr.Button("Stop", variant="secondary", interactive=False, elem_id="vlkit-stop")
                        regen = gr.Button("Regenerate", elem_id="vlkit-regenerate")
                        clear_btn = gr.Button("Clear", elem_id="vlkit-clear")
                    stats = gr.Markdown(elem_id="vlkit-stats")
                with gr.Column(scale=2):
                    preset = gr.Dropdown(list(PRESETS), value="Describe", label="System-prompt preset")
                    system = gr.Textbox(_preset_text("Describe"), label="System prompt", lines=4, elem_id="vlkit-system")
                    context = engine.context or 32768
                    max_tokens = gr.Slider(1, context, value=min(512, context), step=1, label="Max tokens",
                                           elem_id="vlkit-max-tokens")  # fmt: skip
                    wanted = gr.State(min(512, context))  # "Max tokens" as the user set it, before any room cut it
                    temperature = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature (0 = greedy)")
                    visual = gr.Slider(4, 16384, value=vision_facts(engine.llm).max_image_tokens,
                                       step=4, label="Visual budget (tokens per image)", elem_id="vlkit-visual")  # fmt: skip
                    html_view = gr.HTML(label="Rendered HTML")
                    picture = gr.Image(label="Planned click", visible=True, interactive=False)
                    table = gr.Dataframe(headers=list(INVOICE_COLUMNS), label="Invoice fields", interactive=False,
                                         wrap=True, elem_id="vlkit-invoice")  # fmt: skip
            inputs = [conversation, chatbot, system, max_tokens, temperature, visual, preset]
            streamed = [live, conversation, chatbot]  # an answer's event touches nothing else (see respond)
            finished = [conversation, chatbot, stats, stop, regen, html_view, picture, table]
            room_inputs = [box, conversation, system, wanted, visual, preset]
            quiet: dict[str, Any] = {"trigger_mode": "always_last", "show_progress": "hidden", "queue": False}
            private: dict[str, Any] = {"api_visibility": "private"}
            submit = box.submit(prepare, box, [pending, box, stop, regen], queue=False, **private).then(
                respond, [pending, *inputs], streamed)  # fmt: skip
            again = regen.click(lambda: controls(live=True), None, [stop, regen], queue=False, **private).then(
                regenerate, inputs, streamed)  # fmt: skip
            for event in (submit, again):  # also after Stop cancelled it
                event.then(finish, live, finished, **private).then(room, room_inputs, max_tokens, **quiet, **private)
            stop.click(None, None, None, cancels=[submit, again])
            clear_btn.click(clear, None, [conversation, chatbot, stats, picture], **private).then(
                room, room_inputs, max_tokens, **quiet, **private)  # fmt: skip
            preset.change(_preset_text, preset, system, **private)
            for control in (box, system, visual):
                control.change(room, room_inputs, max_tokens, **quiet, **private)
            max_tokens.input(lambda value: value, max_tokens, wanted, queue=False, **private)
            demo.load(room, room_inputs, max_tokens, **quiet, **private)
        with gr.Tab("Documents"):
            gr.Markdown(_index_note(kb), elem_id="vlkit-doc-index")
            with gr.Row():
                with gr.Column(scale=1):
                    files = gr.File(file_count="multiple", file_types=[".pdf", "image"], label="PDFs and images",
                                    elem_id="vlkit-doc-files")  # fmt: skip
                    add_btn = gr.Button("Add to the index", elem_id="vlkit-doc-add")
                    ingest = gr.Markdown(elem_id="vlkit-doc-status")
                    question = gr.Textbox(label="Question", elem_id="vlkit-doc-question")
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="vlkit-doc-ask")
                    answer = gr.Markdown(elem_id="vlkit-doc-answer")
                    sources = gr.Markdown(elem_id="vlkit-doc-sources")
                with gr.Column(scale=1):
                    pages = gr.HTML(css_template=PAGES_CSS, js_on_load=PAGES_JS, elem_id="vlkit-doc-pages")
            add_btn.click(add_documents, files, ingest)
            ask_btn.click(ask, question, [answer, sources, pages])
            question.submit(ask, question, [answer, sources, pages])
    return demo


def mount_ui(app: Any, engine: Any, *, kb: Any = None, api_key: str | None = None) -> Any:
    """Mount the UI at ``/`` of ``app`` (after the API routes, which keep precedence). With an API key,
    the UI asks for it as the password."""
    gr = require("gradio", "ui", "the vlkit serve web UI")
    demo = build_ui(app, engine, kb=kb)
    auth = (lambda user, password: password == api_key) if api_key else None
    return gr.mount_gradio_app(app, demo, path="/", auth=auth, auth_message="Password: the server's --api-key",
                               footer_links=[], ssr_mode=False)  # fmt: skip


def _stats(job: Any, *, stopped: bool = False) -> str:
    """Time to first token and decode speed of ``job``, timed in its generation thread (not by the browser)."""
    parts = [f"stopped after {job.completion_tokens} token(s)"] if stopped else []
    if job.first_token is not None or not stopped:
        parts.append(f"time to first token {(job.first_token or job.finished or job.started) - job.started:.2f} s")
    rate = job.decode_rate
    if rate is None and stopped and job.first_token is not None and job.completion_tokens >= 2:
        rate = (job.completion_tokens - 1) / max(1e-6, time.monotonic() - job.first_token)  # its thread is stopping
    if rate is not None or not stopped:
        parts.append(f"{rate or 0.0:.1f} tokens/s")
    parts.append(f"{job.prompt_tokens} prompt tokens")
    return " · ".join(parts)
