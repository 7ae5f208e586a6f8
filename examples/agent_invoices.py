#!/usr/bin/env python
"""An agent over invoices and screenshots: it reads the receipts with the invoice tool, looks at the
screenshot, and answers one question about all of them.

    python examples/agent_invoices.py --tiny qwen2_vl       # offline, tiny random weights (steps are noise)
    python examples/agent_invoices.py                        # Qwen/Qwen2-VL-2B-Instruct (downloads once)
    python examples/agent_invoices.py --backend openai --base-url http://127.0.0.1:8000/v1 \
        --model Qwen/Qwen2.5-VL-3B-Instruct --family qwen2_5_vl
    python examples/agent_invoices.py --image a.png --image b.pdf "Which invoice is over budget (500)?"

The user's files become a closed choice for the tools (``with_file_choices``): the model picks
``receipt.png`` by name and cannot invent a path.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ASSETS, make_llm, model_arguments, print_summary, run_streamed  # noqa: E402

TASK = "What is the total of the receipt, and what can a user do on the screenshot?"


def screenshot_of_signup_page(folder: Path) -> Path:
    """A real screenshot to work on: examples/assets/signup.html rendered in headless Chromium."""
    from vlkit.tools import render_html

    image = render_html((ASSETS / "signup.html").read_text(encoding="utf-8"), width=800, height=600)
    path = folder / "signup_screen.png"
    image.save(path)
    return path


def run(llm: Any, images: list[Path], task: str, *, max_steps: int = 8) -> Any:
    from vlkit.agents import create_vlm_agent, file_choices, run_summary, with_file_choices
    from vlkit.tools import InvoiceExtractor, ScreenshotToHTML

    files = file_choices(images)
    tools = [with_file_choices(tool, files) for tool in (InvoiceExtractor(model=llm), ScreenshotToHTML(model=llm))]
    agent = create_vlm_agent(llm, tools, max_steps=max_steps)
    content: list[dict[str, Any]] = []
    for name, path in files.items():
        content += [{"type": "text", "text": f"[{name}]"}, {"type": "image", "path": path}]
    content.append({"type": "text", "text": task})
    return run_summary(run_streamed(agent, content))


def main(argv: list[str] | None = None) -> Any:
    parser = model_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("task", nargs="?", default=TASK)
    parser.add_argument("--image", action="append", type=Path, help="invoice, receipt or screenshot (repeat)")
    args = parser.parse_args(argv)
    llm = make_llm(args)
    with tempfile.TemporaryDirectory() as tmp:
        images = args.image or [ASSETS / "receipt.png", screenshot_of_signup_page(Path(tmp))]
        summary = run(llm, images, args.task, max_steps=args.max_steps)
    print_summary(summary)
    return summary


if __name__ == "__main__":
    main()
