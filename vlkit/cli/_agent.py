"""``vlkit agent``: a VLM agent over vlkit's tools, each step streamed as it happens."""

from __future__ import annotations

import base64
import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from rich.markup import escape

from vlkit.cli._console import console, err_console, plural, printable
from vlkit.cli._exits import FAILED, epilog
from vlkit.cli._inputs import check_images, text_argument
from vlkit.cli.llm import ModelOptions, with_model_options
from vlkit.cli._outputs import output_folder

__all__ = ["agent", "EPILOG"]

EPILOG = epilog("the run stopped without an answer (--max-steps reached, or the model gave none)")

TOOL_NAMES = ("html", "invoice", "gui", "kb", "browser")


@with_model_options()
def agent(
    task: Annotated[str, typer.Argument(help="What the agent should do, e.g. \"Which invoice is over 500 EUR?\".",
                                        callback=text_argument("task", "Which invoice is over 500 EUR?"))],
    image: Annotated[
        Optional[list[Path]],
        typer.Option("--image", "-i", help="Image for the task (the tools can open it by name); repeat for several.",
                     show_default=False),
    ] = None,
    tools: Annotated[
        str, typer.Option(help=f"Comma-separated tools: {', '.join(TOOL_NAMES)} (kb needs --index, browser --allow).")
    ] = "invoice,html,gui",
    index: Annotated[
        Optional[Path], typer.Option(help="Knowledge-base folder for the kb tool (made with `vlkit kb add`).")
    ] = None,
    allow: Annotated[
        Optional[list[str]],
        typer.Option(help="Origin the browser tools may open, e.g. http://127.0.0.1:8000; repeat for several."),
    ] = None,
    model_options: ModelOptions = ModelOptions(),
    max_steps: Annotated[int, typer.Option(min=1, help="Most model calls; then the run stops and says so.")] = 10,
    max_tokens: Annotated[int, typer.Option(min=1, help="Most new tokens per step.")] = 512,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy.")] = 0.0,
    images_dir: Annotated[
        Optional[Path],
        typer.Option(help="Where images that tools return are saved (default: a new temporary folder).",
                     callback=output_folder("--images-dir")),
    ] = None,
) -> None:
    """Run an agent that picks among vlkit's tools until it can answer; each step is printed as it happens.

    Examples:

      vlkit agent -i a.png -i b.png "Which invoice has the higher total?" --tools invoice

      vlkit agent "How often are backups made?" --tools kb --index kb/

      vlkit agent "Sign up as Ada on http://127.0.0.1:8000/form.html" --tools browser --allow http://127.0.0.1:8000

      vlkit agent --tiny qwen2_vl -i shot.png "Describe it" --max-steps 3   # offline, random weights
    """
    from vlkit.agents import create_vlm_agent, file_choices, run_summary
    from vlkit.errors import UserError

    names = [t.strip() for t in tools.split(",") if t.strip()]
    unknown = [n for n in names if n not in TOOL_NAMES]
    if unknown:
        raise UserError(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOL_NAMES)}")
    if "kb" in names and index is None:
        raise UserError("the kb tool needs --index DIR (build one with `vlkit kb add FILES --index DIR`)")
    if "browser" in names and not allow:
        raise UserError("the browser tools need --allow ORIGIN (e.g. --allow http://127.0.0.1:8000)")
    check_images(image or [], "--image", model_options.max_image_pixels)  # before a model loads
    llm = model_options.build(max_tokens=max_tokens, temperature=temperature,
                              noise="the loop and tools are real, the steps are noise")
    files = file_choices(image or [])
    started = time.perf_counter()
    toolset, cleanup = _build_tools(names, llm, files, index, allow)
    try:
        graph = create_vlm_agent(llm, toolset, max_steps=max_steps)
        content: list[dict[str, Any]] = []
        for name, path in files.items():
            content += [{"type": "text", "text": f"[{name}]"}, {"type": "image", "path": path}]
        content.append({"type": "text", "text": task})
        out_dir = images_dir or Path(tempfile.mkdtemp(prefix="vlkit-agent-"))
        printer = _StepPrinter(out_dir, max_steps)
        with err_console.status("thinking") as status:
            for update in graph.stream({"messages": [{"role": "user", "content": content}]}, stream_mode="updates"):
                status.stop()
                for node, value in update.items():
                    printer.show(node, value)
                status.start()
        summary = run_summary(printer.state)
    finally:
        for close in cleanup:
            close()
    elapsed = time.perf_counter() - started
    if summary.stop_reason is None:
        console.rule("[bold green]answer[/]")
        console.print(summary.answer, markup=False, highlight=False)
    else:
        console.rule("[bold yellow]no answer[/]")
        console.print(printer.stopped_text(summary.stop_reason, summary.answer), markup=False, highlight=False)
    err_console.print(
        f"[dim]{plural(summary.steps, 'step')} in {elapsed:.1f}s, {summary.input_tokens} prompt tokens, "
        f"{summary.output_tokens} new tokens"
        + (f", stopped: {escape(printable(summary.stop_reason))}" if summary.stop_reason else "")
        + (f"; {plural(printer.saved, 'image')} in {escape(printable(out_dir))}" if printer.saved else "")
        + "[/]"
    )
    if summary.stop_reason is not None or not summary.answer.strip():
        raise typer.Exit(FAILED)


class _StepPrinter:
    """Prints each message of a streamed update and keeps the messages, to summarize the run."""

    def __init__(self, out_dir: Path, max_steps: int = 0) -> None:
        self.out_dir = out_dir
        self.max_steps = max_steps
        self.step = 0
        self.saved = 0
        self.state: dict[str, Any] = {"messages": []}

    def show(self, node: str, value: Any) -> None:
        from rich.text import Text

        if not isinstance(value, dict):
            return
        if value.get("stop_reason"):
            self.state["stop_reason"] = value["stop_reason"]
        for message in value.get("messages", []):
            self.state["messages"].append(message)
            kind = message.type
            if kind == "ai" and message.response_metadata.get("vlkit_stop_reason"):
                reason = message.response_metadata["vlkit_stop_reason"]
                console.print(Text("  stopped: ", style="yellow") + Text(printable(self.stopped_text(reason, message.text))))
            elif kind == "ai":
                self.step += 1
                thought = message.additional_kwargs.get("vlkit_thought") or (message.text if message.tool_calls else "")
                console.print(Text(f"step {self.step}", style="bold cyan"))
                if thought.strip():
                    console.print(Text("  thought: ", style="dim") + Text(printable(thought.strip())))
                for call in message.tool_calls:
                    args = json.dumps(call["args"], ensure_ascii=False)
                    console.print(Text("  → ", style="cyan") + Text(printable(f"{call['name']}({args[:300]})"), style="bold"))
                if not message.tool_calls and node == "model":
                    console.print(Text("  final answer", style="green"))
            elif kind == "tool":
                self._result(message)
            elif kind == "human":  # feedback on an unusable step
                console.print(Text("  ! ", style="yellow") + Text(printable(message.text[:300])))

    def stopped_text(self, reason: str, text: str) -> str:
        """Why the run stopped, naming this command's own option where there is one (the agent's own
        message names ``max_steps=``, its Python argument)."""
        if reason == "max_steps":
            return (f"no final answer within {plural(self.max_steps, 'step')}; raise --max-steps or give a "
                    "narrower task")
        return text

    def _result(self, message: Any) -> None:
        from rich.text import Text

        style = "red" if message.status == "error" else "green"
        text = message.text.strip()
        console.print(Text("  ← ", style=style) + Text(printable(text[:500] + ("…" if len(text) > 500 else ""))))
        if isinstance(message.content, list):
            for block in message.content:
                if isinstance(block, dict) and block.get("type") == "image" and block.get("base64"):
                    self.out_dir.mkdir(parents=True, exist_ok=True)
                    self.saved += 1
                    ext = (block.get("mime_type") or "image/png").split("/")[-1]
                    path = self.out_dir / f"step{self.step:02d}_{self.saved:02d}.{ext}"
                    path.write_bytes(base64.b64decode(block["base64"]))
                    console.print(Text("    image: ", style="dim") + Text(printable(path)))


def _build_tools(
    names: list[str], llm: Any, files: dict[str, str], index: Path | None, allow: list[str] | None
) -> tuple[list[Any], list[Any]]:
    """The tools named on the command line, and what to close afterwards."""
    from vlkit.agents import with_file_choices
    from vlkit.errors import UserError

    built: list[Any] = []
    cleanup: list[Any] = []
    for name in names:
        if name == "kb":
            assert index is not None
            if not index.is_dir():
                raise UserError(f"no knowledge base at {index}; build one with `vlkit kb add FILES --index {index}`")
            from vlkit.agents import KnowledgeBaseTool
            from vlkit.retrieval import DocumentIndex

            kb = DocumentIndex(index)
            cleanup.append(kb.close)
            built.append(KnowledgeBaseTool(index=kb))
        elif name == "browser":
            from vlkit.agents import BrowserSession, browser_tools

            session = BrowserSession(allowed_origins=list(allow or []), confirm=_ask)
            cleanup.append(session.close)
            built += browser_tools(session, model=llm)
        else:
            built.append(with_file_choices(_vlm_tool(name, llm), files))
    return built, cleanup


def _ask(action: Any, risks: list[str]) -> bool:
    """The policy's confirmation for a risky browser action: asked on the terminal."""
    return typer.confirm(f"allow {printable(action.describe())} ({printable('; '.join(risks))})?", default=False)


def _vlm_tool(name: str, llm: Any) -> Any:
    import importlib

    module, cls = {
        "html": ("vlkit.tools.html", "ScreenshotToHTML"),
        "invoice": ("vlkit.tools.invoice", "InvoiceExtractor"),
        "gui": ("vlkit.tools.gui", "GUIActionPlanner"),
    }[name]
    return getattr(importlib.import_module(module), cls)(model=llm)
