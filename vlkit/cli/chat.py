"""``vlkit chat``: one question (with images) to a Qwen-VL model, the answer streamed."""

from __future__ import annotations

import time
from typing import Annotated, Any, Optional

import typer

from vlkit.cli.console import console, err_console
from vlkit.cli.llm import BackendName, BackendOpt, BaseUrlOpt, DeviceOpt, Family, ModelOpt, TinyOpt, build_llm

__all__ = ["BackendName", "Family", "chat", "image_block"]


_URL_SCHEMES = ("http://", "https://", "file://", "data:")


def image_block(image: str) -> dict[str, Any]:
    """An ``--image`` value as a content block: URLs (http, https, file, data) as given, else a local path.

    Taken as a string, not a ``Path``: a Path would collapse the ``//`` of ``http://``.
    """
    if image.lower().startswith(_URL_SCHEMES):
        return {"type": "image", "url": image}
    return {"type": "image", "path": image}


def chat(
    prompt: Annotated[str, typer.Argument(help="What to ask, e.g. \"Describe this screenshot\".")],
    image: Annotated[
        Optional[list[str]],
        typer.Option(
            "--image",
            "-i",
            help="Image file or http(s):// URL to show the model; repeat for several.",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = BackendName.transformers,
    base_url: BaseUrlOpt = None,
    tiny: TinyOpt = None,
    system: Annotated[Optional[str], typer.Option(help="System message.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Most new tokens.")] = 512,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy.")] = 0.0,
    max_pixels: Annotated[
        Optional[int], typer.Option(min=1, help="Visual budget per image in pixels (default: 256 tokens on CPU).")
    ] = None,
    device: DeviceOpt = None,
    dtype: Annotated[Optional[str], typer.Option(help="bfloat16, float16 or float32 (default: auto).")] = None,
) -> None:
    """Ask a Qwen vision-language model about images; the answer streams as it is generated.

    Examples:

      vlkit chat --image receipt.png "What is the total?"

      vlkit chat --backend openai --base-url http://127.0.0.1:8000/v1 -i ui.png "Where is the login button?"

      vlkit chat --tiny qwen2_vl --image some.png "describe"   # offline, random weights
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    llm = build_llm(model=model, tiny=tiny, backend=backend, base_url=base_url, max_tokens=max_tokens,
                    temperature=temperature, max_pixels=max_pixels, device=device, dtype=dtype)
    content: list = [image_block(i) for i in image or []]
    content.append({"type": "text", "text": prompt})
    messages = ([SystemMessage(content=system)] if system else []) + [HumanMessage(content=content)]

    started = time.perf_counter()
    first: float | None = None
    usage = None
    status = err_console.status(f"loading {llm.model}" if backend == BackendName.transformers else "asking the server")
    status.start()
    try:
        for chunk in llm.stream(messages):
            if first is None:
                first = time.perf_counter()
                status.stop()
            if chunk.content:
                console.print(chunk.content, end="", markup=False, highlight=False, soft_wrap=True)
            usage = chunk.usage_metadata or usage
    finally:
        status.stop()
    console.print()
    if usage:
        elapsed = time.perf_counter() - (first or started)
        rate = usage["output_tokens"] / elapsed if elapsed > 0 else 0.0
        err_console.print(
            f"[dim]{usage['input_tokens']} prompt tokens, {usage['output_tokens']} new tokens, "
            f"first token after {(first or started) - started:.1f}s, {rate:.1f} tok/s[/]"
        )
