"""Print a model's answer as it streams, then one line of time and tokens: `vlkit chat` and `vlkit kb ask`."""

from __future__ import annotations

import time
from typing import Any

from vlkit.cli._console import console, err_console

__all__ = ["stream_answer"]


def stream_answer(llm: Any, messages: list[Any]) -> str:
    """Stream ``llm``'s answer to ``messages`` to stdout (a spinner on stderr until the first token), then
    ``N prompt tokens, M new tokens, first token after Xs, R tok/s`` on stderr. Returns the answer."""
    started = time.perf_counter()
    first: float | None = None
    usage = None
    pieces: list[str] = []
    waiting = f"loading {llm.model}" if getattr(llm, "backend", None) in ("transformers", "llamacpp") else "asking the server"
    status = err_console.status(waiting)
    status.start()
    try:
        for chunk in llm.stream(messages):
            if first is None:
                first = time.perf_counter()
                status.stop()
            text = _text(chunk.content)
            if text:
                pieces.append(text)
                console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
            usage = chunk.usage_metadata or usage
    finally:
        status.stop()
    console.print()
    if usage:
        elapsed = time.perf_counter() - (first or started)
        rate = usage["output_tokens"] / elapsed if elapsed > 0 else 0.0
        video = (usage.get("input_token_details") or {}).get("video")
        of_video = f" ({video} of them video)" if video else ""
        err_console.print(
            f"[dim]{usage['input_tokens']} prompt tokens{of_video}, {usage['output_tokens']} new tokens, "
            f"first token after {(first or started) - started:.1f}s, {rate:.1f} tok/s[/]"
        )
    return "".join(pieces)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content or []
                   if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text"))
