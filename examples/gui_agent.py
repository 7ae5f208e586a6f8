#!/usr/bin/env python
"""GUI-automation prototype: an agent fills in and submits a sign-up form on a local page in headless
Chromium, one screenshot per step, every action through the GUI tool's executor and safety policy.

    python examples/gui_agent.py --tiny qwen2_5_vl --yes     # offline, tiny random weights (clicks are noise)
    python examples/gui_agent.py --model Qwen/Qwen2.5-VL-3B-Instruct
    python examples/gui_agent.py --backend openai --base-url http://127.0.0.1:8000/v1 --model NAME --family qwen2_5_vl

The page (examples/assets/signup.html) is served on 127.0.0.1; the browser may load nothing else.
Submitting the form is a risky action: the policy asks on the terminal first (``--yes`` approves).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ASSETS, make_llm, model_arguments, print_summary, run_streamed  # noqa: E402

TASK = "Open {url}, sign up as Ada Lovelace with the email ada@example.org, and submit the form."


@contextmanager
def serve_assets() -> Iterator[str]:
    """examples/assets over HTTP on 127.0.0.1 (a free port); yields the origin."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(ASSETS)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ask_on_terminal(action: Any, risks: list[str]) -> bool:
    return input(f"allow {action.describe()} ({'; '.join(risks)})? [y/N] ").strip().lower() == "y"


def run(
    llm: Any,
    origin: str,
    *,
    confirm: Callable[[Any, list[str]], bool] | None,
    max_steps: int = 12,
    detect_injection: bool = True,
    planner: bool = True,
) -> tuple[Any, Any]:
    """Run the task on ``origin``; returns the run summary and what the page received (None: nothing)."""
    from vlkit.agents import BrowserSession, browser_tools, create_vlm_agent, run_summary

    session = BrowserSession([origin], width=1024, height=700, confirm=confirm, detect_injection=detect_injection)
    try:
        tools = browser_tools(session, model=llm if planner else None)
        agent = create_vlm_agent(llm, tools, max_steps=max_steps)
        state = run_streamed(agent, TASK.format(url=f"{origin}/signup.html"))
        submitted = session.page.run(lambda page: page.evaluate("window.submitted || null"))
    finally:
        session.close()
    return run_summary(state), submitted


def main(argv: list[str] | None = None) -> Any:
    parser = model_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), max_steps=12)
    parser.add_argument("--yes", action="store_true", help="approve risky actions (form submission) without asking")
    args = parser.parse_args(argv)
    llm = make_llm(args)
    with serve_assets() as origin:
        summary, submitted = run(llm, origin, confirm=(lambda a, r: True) if args.yes else ask_on_terminal,
                                 max_steps=args.max_steps)
    print_summary(summary)
    print("the page received:", submitted)
    return summary, submitted


if __name__ == "__main__":
    main()
