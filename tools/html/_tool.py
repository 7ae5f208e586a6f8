"""``ScreenshotToHTML``: a LangChain tool that turns a screenshot into a self-contained HTML file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from vlkit.tools.html.refine import HTMLResult, HTMLRound, refine_html
from vlkit.vision import image_from_block, vision_facts

__all__ = ["ScreenshotToHTML", "ScreenshotToHTMLInput"]


class ScreenshotToHTMLInput(BaseModel):
    """Arguments of the ``screenshot_to_html`` tool."""

    model_config = ConfigDict(extra="forbid")

    screenshot: str = Field(description="The screenshot: a file path, an http(s) URL or a data: URL.")
    instructions: str | None = Field(default=None, description="Extra wishes, e.g. 'use a dark theme'.")
    rounds: int = Field(default=3, ge=1, le=8, description="Most model calls (draft + revisions).")
    viewport_width: int | None = Field(
        default=None, ge=1, le=8192, description="CSS width to render at (default: the screenshot's width)."
    )
    viewport_height: int | None = Field(
        default=None, ge=1, le=8192, description="CSS height to render at (default: the screenshot's height)."
    )


def load_screenshot(screenshot: str | Path | Image.Image) -> Image.Image:
    """A screenshot given as a PIL image, path, http(s) URL or data URL, as RGB (size limits checked)."""
    if isinstance(screenshot, Image.Image):
        return screenshot.convert("RGB")
    return image_from_block({"type": "image_url", "image_url": {"url": str(screenshot)}}).to_pil()


class ScreenshotToHTML(BaseTool):
    """Screenshot → HTML with render-and-compare refinement, over any chat model.

    Each round the HTML is rendered in headless Chromium at the screenshot's size, scored with
    :func:`~vlkit.tools.html.visual_score`, and the differences are told to the model in words; the
    best-scoring round is kept. As a tool it answers with the HTML and its score (the full
    :class:`HTMLResult` is the artifact); :meth:`convert` is the plain Python call.

    Example:
        ```python
        tool = ScreenshotToHTML(model=ChatQwenVL(model="Qwen/Qwen2.5-VL-3B-Instruct", max_tokens=4096))
        result = tool.convert("shot.png", rounds=3)
        Path("page.html").write_text(result.html)
        print(result.score.terms())
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    name: str = "screenshot_to_html"
    description: str = (
        "Turn a screenshot of a web page or app into one self-contained HTML file that looks like it. "
        "Input: the screenshot as a path or URL, optional instructions. Output: the HTML and its visual score."
    )
    args_schema: type[BaseModel] = ScreenshotToHTMLInput
    response_format: str = "content_and_artifact"

    model: BaseChatModel = Field(description="Any chat model that accepts images (ChatQwenVL locally or on a server).")
    family: str | None = Field(default=None, description="Qwen family when the model is not a ChatQwenVL.")
    target: float = Field(default=0.95, ge=0, le=1, description="Stop refining once the total score reaches this.")
    render_timeout_s: float = Field(default=15.0, gt=0, description="Time limit for rendering one round's HTML.")
    max_pixels: int | None = Field(default=None, ge=1, description="Visual budget per picture (default: the model's).")

    def convert(
        self,
        screenshot: str | Path | Image.Image,
        *,
        instructions: str | None = None,
        rounds: int = 3,
        viewport: tuple[int, int] | None = None,
        on_round: Callable[[HTMLRound], None] | None = None,
        fallback_to_text: bool = False,
    ) -> HTMLResult:
        """Run the refinement loop on ``screenshot`` and return the best round (see :func:`refine_html`)."""
        shot = load_screenshot(screenshot)
        facts = vision_facts(self.model, self.family, max_pixels=self.max_pixels, asked_by="ScreenshotToHTML")
        # pictures go to the model at the size it would resize them to anyway (less to send to a server)
        view = facts.view_size(*shot.size)
        return refine_html(
            self.model,
            shot,
            rounds=rounds,
            target=self.target,
            instructions=instructions or "",
            viewport=viewport,
            view_size=view,
            render_timeout_s=self.render_timeout_s,
            on_round=on_round,
            fallback_to_text=fallback_to_text,
        )

    def _run(
        self,
        screenshot: str,
        instructions: str | None = None,
        rounds: int = 3,
        viewport_width: int | None = None,
        viewport_height: int | None = None,
        run_manager: Any = None,
    ) -> tuple[str, HTMLResult]:
        viewport = None
        if viewport_width or viewport_height:
            shot = load_screenshot(screenshot)
            viewport = (viewport_width or shot.width, viewport_height or shot.height)
        result = self.convert(screenshot, instructions=instructions, rounds=rounds, viewport=viewport)
        summary = (
            f"visual score {result.score.total:.3f} after {len(result.rounds)} rounds "
            f"(best: round {result.best_round + 1})"
        )
        return f"{summary}\n\n{result.html}", result
