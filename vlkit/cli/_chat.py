"""``vlkit chat``: one question (with images and videos) to a Qwen-VL model, the answer streamed."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from vlkit.cli._exits import epilog
from vlkit.cli._inputs import URL_SCHEMES, check_images, check_videos, text_argument
from vlkit.cli.llm import ModelOptions, with_model_options

__all__ = ["chat", "image_block", "video_block", "EPILOG"]

EPILOG = epilog()


def image_block(image: str) -> dict[str, Any]:
    """An ``--image`` value as a content block: URLs (http, https, file, data) as given, else a local path.

    Taken as a string, not a ``Path``: a Path would collapse the ``//`` of ``http://``.
    """
    if image.lower().startswith(URL_SCHEMES):
        return {"type": "image", "url": image}
    return {"type": "image", "path": image}


def video_block(video: str, fps: float | None = None, max_frames: int | None = None) -> dict[str, Any]:
    """A ``--video`` value as a content block (URLs as given, else a local path), with the sampling options."""
    block: dict[str, Any] = {"type": "video", "url" if video.lower().startswith(URL_SCHEMES) else "path": video}
    if fps is not None:
        block["fps"] = fps
    if max_frames is not None:
        block["max_frames"] = max_frames
    return block


@with_model_options()
def chat(
    prompt: Annotated[str, typer.Argument(help="What to ask, e.g. \"Describe this screenshot\".",
                                          callback=text_argument("prompt", "Describe this screenshot"))],
    image: Annotated[
        Optional[list[str]],
        typer.Option(
            "--image",
            "-i",
            help="Image file or http(s):// URL to show the model; repeat for several.",
            show_default=False,
        ),
    ] = None,
    video: Annotated[
        Optional[list[str]],
        typer.Option(
            "--video",
            help="Video file (MP4, MKV, WebM, MOV, AVI) or http(s):// URL to show the model; repeat for several. "
            "Frames are sampled at --fps under the visual budget; the answer's usage line counts them.",
            show_default=False,
        ),
    ] = None,
    fps: Annotated[
        Optional[float], typer.Option(min=0.01, help="Frames sampled per second of --video (default: 2).", show_default=False)
    ] = None,
    max_frames: Annotated[
        Optional[int], typer.Option(min=2, help="Most frames sampled from each --video (default: 768).", show_default=False)
    ] = None,
    model_options: ModelOptions = ModelOptions(),
    system: Annotated[Optional[str], typer.Option(help="System message.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Most new tokens.")] = 512,
    temperature: Annotated[float, typer.Option(min=0.0, help="0 = greedy.")] = 0.0,
    max_pixels: Annotated[
        Optional[int], typer.Option(min=1, help="Visual budget per image in pixels (default: 256 tokens on CPU).")
    ] = None,
    dtype: Annotated[Optional[str], typer.Option(help="bfloat16, float16 or float32 (default: auto).")] = None,
) -> None:
    """Ask a Qwen vision-language model about images and videos; the answer streams as it is generated.

    Examples:

      vlkit chat --image receipt.png "What is the total?"

      vlkit chat --video clip.mp4 --fps 1 "What happens after the door opens?"

      vlkit chat --base-url http://127.0.0.1:8000/v1 -i ui.png "Where is the login button?"   # a server

      vlkit chat --tiny qwen2_vl --image some.png "describe"   # offline, random weights
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    from vlkit.cli._streaming import stream_answer

    check_images(image or [], "--image", model_options.max_image_pixels)  # before a model loads
    check_videos(video or [], "--video")
    llm = model_options.build(max_tokens=max_tokens, temperature=temperature, max_pixels=max_pixels, dtype=dtype)
    content: list = [image_block(i) for i in image or []] + [video_block(v, fps, max_frames) for v in video or []]
    content.append({"type": "text", "text": prompt})
    messages = ([SystemMessage(content=system)] if system else []) + [HumanMessage(content=content)]
    stream_answer(llm, messages)
