"""The web UI (Gradio, mounted at ``/`` of the API app): chat with images, and a documents tab.

The UI runs generations through the same :class:`~vlkit.serve.engine.Engine` and limits as the HTTP
API (a UI request waits in, or is refused by, the same queue), so it cannot overload the server.
Each answer shows its time to first token and tokens/s underneath; the presets that produce pictures
show them beside the answer (HTML rendered next to its source, the planned click on the screenshot,
the invoice's fields as a table).
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import mimetypes
import re
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator

from vlkit.extras import require
from vlkit.serve.schemas import APIError, ChatCompletionRequest

__all__ = ["PRESETS", "build_ui", "mount_ui"]

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


class _KB:
    """The documents tab's index: ``--index`` when given, else a temporary one made on first upload."""

    def __init__(self, kb: Any, index_dir: Path | None, llm: Any) -> None:
        self.kb, self.index_dir, self.llm = kb, index_dir, llm

    def get(self) -> Any:
        if self.kb is None:
            from vlkit.serve.kb import KnowledgeBase

            self.kb = KnowledgeBase(self.index_dir or Path(tempfile.mkdtemp(prefix="vlkit-ui-kb-")), self.llm)
        return self.kb


def build_ui(app: Any, engine: Any, *, kb: Any = None, index_dir: Path | None = None) -> Any:
    """The Gradio Blocks of the UI; generations go through ``app.state.limiter`` like API requests."""
    gr = require("gradio", "ui", "the vlkit serve web UI")
    limiter = app.state.limiter
    docs = _KB(kb, index_dir, engine.llm)

    async def respond(message: dict, history: list, display: list, system: str, max_tokens: float,
                      temperature: float, visual_tokens: float, preset: str) -> AsyncIterator[tuple]:  # fmt: skip
        text = (message or {}).get("text", "") or ""
        files = [f if isinstance(f, str) else f.get("path") for f in (message or {}).get("files", [])]
        if not text.strip() and not files:
            yield history, display, gr.update(), "", gr.update(), gr.update(), gr.update()
            return
        user = {"text": text, "images": files}
        history = [*history, user]
        display = [*display, {"role": "user", "content": [*({"path": f} for f in files), text] if files else text}]
        async for update in _generate(history, display, system, max_tokens, temperature, visual_tokens, preset):
            yield update

    async def regenerate(history: list, display: list, system: str, max_tokens: float, temperature: float,
                         visual_tokens: float, preset: str) -> AsyncIterator[tuple]:  # fmt: skip
        if history and history[-1].get("role") == "assistant":
            history = history[:-1]
            display = display[:-1]
        if not history:
            yield history, display, gr.update(), "", gr.update(), gr.update(), gr.update()
            return
        async for update in _generate(history, display, system, max_tokens, temperature, visual_tokens, preset):
            yield update

    async def _generate(history: list, display: list, system: str, max_tokens: float, temperature: float,
                        visual_tokens: float, preset: str) -> AsyncIterator[tuple]:  # fmt: skip
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system.strip() else []
        for turn in history:
            if turn.get("role") == "assistant":
                messages.append({"role": "assistant", "content": turn["text"]})
                continue
            parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": _data_url(p)}} for p in turn["images"]]
            parts.append({"type": "text", "text": turn["text"]})
            messages.append({"role": "user", "content": parts})
        body: dict[str, Any] = {"model": engine.name, "messages": messages, "max_tokens": int(max_tokens),
                                "temperature": float(temperature),
                                "mm_processor_kwargs": {"max_pixels": int(visual_tokens) * engine.family.factor ** 2}}  # fmt: skip
        if PRESETS.get(preset) == "invoice":
            body["response_format"] = {"type": "json_object"}
        display = [*display, {"role": "assistant", "content": ""}]
        answer, stats = "", ""
        try:
            ticket = limiter.admit()
        except APIError as exc:
            display[-1]["content"] = f"⚠ {exc.message}"
            yield history, display, gr.update(), "", gr.update(), gr.update(), gr.update()
            return
        job = None
        try:
            req = ChatCompletionRequest.model_validate(body)
            await ticket.acquire()
            started = time.monotonic()
            job = await engine.job(req)
            events = engine.start(job, asyncio.get_running_loop())
            first_at, usage = None, None
            while True:
                event = await events.get()
                if event.kind == "error":
                    raise event.error or RuntimeError("generation failed")
                if event.kind == "end":
                    break
                chunk = event.chunk
                if isinstance(chunk.content, str) and chunk.content:
                    first_at = first_at or time.monotonic()
                    answer += chunk.content
                    display[-1] = {"role": "assistant", "content": answer}
                    yield history, display, gr.update(), "", gr.update(), gr.update(), gr.update()
                usage = chunk.usage_metadata or usage
            done = time.monotonic()
            out_tokens = usage["output_tokens"] if usage else job.chunks
            ttft = (first_at or done) - started
            rate = (out_tokens - 1) / (done - first_at) if first_at and out_tokens > 1 and done > first_at else 0.0
            stats = f"time to first token {ttft:.2f} s · {rate:.1f} tokens/s · {job.prompt_tokens} prompt tokens"
        except APIError as exc:
            answer = answer or f"⚠ {exc.message}"
        except Exception as exc:  # shown to the user rather than swallowed by Gradio
            answer = answer or f"⚠ {type(exc).__name__}: {exc}"
        finally:
            if job is not None and stats == "":
                job.cancel.set()  # stopped (the Stop button cancels this generator) or failed
            ticket.release()
        display[-1] = {"role": "assistant", "content": answer + (f"\n\n<sub>{stats}</sub>" if stats else "")}
        history = [*history, {"role": "assistant", "text": answer}]
        html_view, picture, table = _tool_views(preset, answer, history, engine)
        yield history, display, stats, "", html_view, picture if picture is not None else gr.update(), table

    def clear() -> tuple:
        return [], [], "", None

    def add_documents(files: list, progress: Any = gr.Progress()) -> str:
        paths = [f if isinstance(f, str) else f.name for f in files or []]
        if not paths:
            return "Choose PDFs or images first."
        progress(0, desc="reading pages")
        summary = docs.get().add(paths, progress=lambda done, total: progress((done, max(total, 1)), desc="pages"))
        lines = [f"- {html.escape(Path(r.path).name)}: {r.status}" + (f" ({html.escape(r.error)})" if r.error else "")
                 for r in summary.files]  # fmt: skip
        return f"Indexed {summary.pages} page(s).\n" + "\n".join(lines)

    async def ask(question: str) -> tuple[str, str, list]:
        if not question.strip():
            return "Type a question.", "", []
        ticket = limiter.admit()
        try:
            await ticket.acquire()
            answer = await asyncio.to_thread(docs.get().ask, question)
        finally:
            ticket.release()
        cited = answer.cited or answer.sources
        citations = "\n".join(f"- {h.citation} (score {h.score:.3f})" for h in cited) or "No source page was relevant."
        gallery = [(h.image_path, h.citation) for h in cited if h.image_path]
        return answer.text, "**Sources**\n" + citations, gallery

    with gr.Blocks(title="vlkit serve") as demo:
        gr.Markdown(f"### vlkit · `{engine.name}`")
        history = gr.State([])
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="vlkit-chat")
                    box = gr.MultimodalTextbox(file_count="multiple", file_types=["image"], elem_id="vlkit-input",
                                               placeholder="Ask about one or more images…", show_label=False)  # fmt: skip
                    with gr.Row():
                        stop = gr.Button("Stop", variant="stop", elem_id="vlkit-stop")
                        regen = gr.Button("Regenerate", elem_id="vlkit-regenerate")
                        clear_btn = gr.Button("Clear", elem_id="vlkit-clear")
                    stats = gr.Markdown(elem_id="vlkit-stats")
                with gr.Column(scale=2):
                    preset = gr.Dropdown(list(PRESETS), value="Describe", label="System-prompt preset")
                    system = gr.Textbox(_preset_text("Describe"), label="System prompt", lines=4)
                    max_tokens = gr.Slider(1, engine.context, value=min(512, engine.context), step=1, label="Max tokens")
                    temperature = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature (0 = greedy)")
                    visual = gr.Slider(4, 16384, value=engine.family.cpu_max_pixels // engine.family.factor ** 2
                                       if engine.device == "cpu" else engine.family.gpu_max_pixels // engine.family.factor ** 2,
                                       step=4, label="Visual budget (tokens per image)")  # fmt: skip
                    html_view = gr.HTML(label="Rendered HTML")
                    picture = gr.Image(label="Planned click", visible=True, interactive=False)
                    table = gr.Dataframe(label="Invoice fields", interactive=False)
            inputs = [history, chatbot, system, max_tokens, temperature, visual, preset]
            outputs = [history, chatbot, stats, box, html_view, picture, table]
            submit = box.submit(respond, [box, *inputs], outputs)
            again = regen.click(regenerate, inputs, outputs)
            stop.click(None, None, None, cancels=[submit, again])
            clear_btn.click(clear, None, [history, chatbot, stats, picture])
            preset.change(_preset_text, preset, system)
        with gr.Tab("Documents"):
            files = gr.File(file_count="multiple", file_types=[".pdf", "image"], label="PDFs and images",
                            elem_id="vlkit-doc-files")  # fmt: skip
            add_btn = gr.Button("Add to the index", elem_id="vlkit-doc-add")
            ingest = gr.Markdown(elem_id="vlkit-doc-status")
            question = gr.Textbox(label="Question", elem_id="vlkit-doc-question")
            ask_btn = gr.Button("Ask", variant="primary", elem_id="vlkit-doc-ask")
            answer = gr.Markdown(elem_id="vlkit-doc-answer")
            sources = gr.Markdown(elem_id="vlkit-doc-sources")
            pages = gr.Gallery(label="Cited pages", columns=3, height=320, elem_id="vlkit-doc-pages")
            add_btn.click(add_documents, files, ingest)
            ask_btn.click(ask, question, [answer, sources, pages])
            question.submit(ask, question, [answer, sources, pages])
    return demo


def mount_ui(app: Any, engine: Any, *, kb: Any = None, index_dir: Path | None = None, api_key: str | None = None) -> Any:
    """Mount the UI at ``/`` of ``app`` (after the API routes, which keep precedence). With an API key,
    the UI asks for it as the password."""
    gr = require("gradio", "ui", "the vlkit serve web UI")
    demo = build_ui(app, engine, kb=kb, index_dir=index_dir)
    auth = (lambda user, password: password == api_key) if api_key else None
    return gr.mount_gradio_app(app, demo, path="/", auth=auth, auth_message="Password: the server's --api-key",
                               footer_links=[], ssr_mode=False)  # fmt: skip


# ------------------------------------------------------------------------------------------ tool views


def _tool_views(preset: str, answer: str, history: list, engine: Any) -> tuple[Any, Any, Any]:
    """The pictures a preset's answer makes: rendered HTML, the planned click, the invoice fields."""
    kind = PRESETS.get(preset)
    html_view, picture, table = "", None, None
    if kind == "screenshot_html":
        source = answer.strip()
        match = re.search(r"```(?:html)?\s*(.*?)```", source, re.S)
        source = match.group(1) if match else source
        html_view = (
            '<div style="display:flex;gap:8px"><iframe sandbox="" style="flex:1;height:320px;border:1px solid #ccc" '
            f'srcdoc="{html.escape(source, quote=True)}"></iframe><pre style="flex:1;height:320px;overflow:auto">'
            f"{html.escape(source)}</pre></div>"
        )
    elif kind == "gui_plan":
        picture = _draw_click(answer, history, engine)
    elif kind == "invoice":
        try:
            data = json.loads(answer)
        except ValueError:
            data = None
        if isinstance(data, dict):
            table = [[k, json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v] for k, v in data.items()]
    return html_view, picture, table


def _draw_click(answer: str, history: list, engine: Any) -> Any:
    images = [p for turn in history if turn.get("role") != "assistant" for p in turn.get("images", [])]
    numbers = re.search(r'"x"\s*:\s*(-?\d+(?:\.\d+)?)\s*,\s*"y"\s*:\s*(-?\d+(?:\.\d+)?)', answer)
    if not images or not numbers:
        return None
    from PIL import Image, ImageDraw

    image = Image.open(images[-1]).convert("RGB")
    x, y = float(numbers.group(1)), float(numbers.group(2))
    if engine.family.coordinates == "relative_1000":
        x, y = x / 1000 * image.width, y / 1000 * image.height
    else:  # pixels of the image as the model saw it (resized to the visual budget)
        from vlkit.models.images import resized_size

        seen_w, seen_h = resized_size(engine.family, image.width, image.height, *engine.llm.visual_budget())
        x, y = x * image.width / seen_w, y * image.height / seen_h
    draw = ImageDraw.Draw(image)
    r = max(6, image.width // 60)
    draw.ellipse([x - r, y - r, x + r, y + r], outline="red", width=3)
    draw.line([x - 2 * r, y, x + 2 * r, y], fill="red", width=2)
    draw.line([x, y - 2 * r, x, y + 2 * r], fill="red", width=2)
    return image
