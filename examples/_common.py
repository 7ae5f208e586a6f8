"""What the agent examples share: picking the model from the command line, and printing a run.

    --tiny qwen2_vl            offline: a tiny RANDOM checkpoint (the loop and tools are real, the steps noise)
    --model ID_OR_FOLDER       a real checkpoint with transformers (default: Qwen/Qwen2-VL-2B-Instruct)
    --backend openai --base-url http://127.0.0.1:8000/v1 --model NAME --family qwen2_5_vl
"""

from __future__ import annotations

import argparse
import json
from typing import Any

ASSETS = __import__("pathlib").Path(__file__).resolve().parent / "assets"


def model_arguments(parser: argparse.ArgumentParser, *, max_steps: int = 8) -> argparse.ArgumentParser:
    parser.add_argument("--tiny", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"], help="tiny random checkpoint (offline)")
    parser.add_argument("--model", help="Hugging Face id, local folder, or the served model name")
    parser.add_argument("--backend", choices=["transformers", "openai"], default="transformers")
    parser.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--family", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"], help="served model's family")
    parser.add_argument("--max-steps", type=int, default=max_steps)
    parser.add_argument("--max-tokens", type=int, default=None, help="new tokens per step (default: 48 tiny, 512)")
    return parser


def make_llm(args: argparse.Namespace) -> Any:
    from vlkit.models import ChatQwenVL

    options: dict[str, Any] = {"backend": args.backend, "base_url": args.base_url, "family": args.family}
    if args.tiny:
        from vlkit.testing import tiny_checkpoint

        options["model"] = str(tiny_checkpoint(args.tiny))
        print(f"(tiny random {args.tiny} checkpoint: the steps are noise)")
    elif args.model:
        options["model"] = args.model
    options["max_tokens"] = args.max_tokens or (48 if args.tiny else 512)
    return ChatQwenVL(**options)


def print_step(update: dict[str, Any]) -> None:
    """One streamed update (``stream_mode="updates"``) as plain lines."""
    for node, value in update.items():
        for message in (value or {}).get("messages", []) if isinstance(value, dict) else []:
            if message.type == "ai":
                for call in message.tool_calls:
                    print(f"  -> {call['name']}({json.dumps(call['args'], ensure_ascii=False)[:200]})")
                if not message.tool_calls:
                    print(f"  == {message.text[:300]}")
            elif message.type == "tool":
                mark = "!!" if message.status == "error" else "<-"
                images = sum(1 for b in message.content if isinstance(b, dict) and b.get("type") == "image") \
                    if isinstance(message.content, list) else 0
                print(f"  {mark} {message.text[:200]!r}" + (f" (+{images} image)" if images else ""))


def run_streamed(agent: Any, content: Any, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stream the agent's steps, then return the final state."""
    inputs = {"messages": [{"role": "user", "content": content}]}
    final: dict[str, Any] = {}
    for mode, chunk in agent.stream(inputs, config, stream_mode=["updates", "values"]):
        if mode == "updates":
            print_step(chunk)
        else:
            final = chunk
    return final


def print_summary(summary: Any) -> None:
    print("ANSWER:", summary.answer)
    print(f"({summary.steps} steps, {summary.input_tokens} prompt tokens, {summary.output_tokens} new tokens"
          + (f", stopped: {summary.stop_reason}" if summary.stop_reason else "") + ")")
