"""The render-and-compare loop: draft → render at the screenshot's size → score → fix *in words* → keep the best.

screenshot-to-code and Design2Code show the model its own render; this loop also scores every round
(:func:`~vlkit.tools.html.score.visual_score`), tells the model *where* the render differs ("missing text
'Sign in' at top-right; block 'Pricing' is 120 px too low") and keeps the best-scoring round, stopping
as soon as a round does not improve. Each revision prompt is rebuilt from scratch (screenshot, render,
current HTML, differences) so the context stays the size of one round for small models.
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from PIL import Image

from vlkit.errors import InvalidArgumentError, ModelOutputError, RenderError
from vlkit.tools.html.heatmap import LEGEND, side_by_side
from vlkit.tools.html.page_text import render_with_text
from vlkit.tools.html.score import VisualScore, visual_score

__all__ = ["HTMLResult", "HTMLRound", "extract_html", "refine_html"]

logger = logging.getLogger(__name__)


@cache
def prompt(name: str) -> str:
    """A prompt template shipped as package data (``prompts/<name>.txt``)."""
    return resources.files("vlkit.tools.html").joinpath("prompts", f"{name}.txt").read_text("utf-8")


# --------------------------------------------------------------------------- answer → document

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_DOC_START = re.compile(r"<!doctype\s+html[^>]*>|<html[\s>]", re.I)
_DOC_END = re.compile(r"</html\s*>", re.I)
_FRAGMENT = re.compile(r"<(body|div|main|header|nav|section|table|style)[\s>]", re.I)


def extract_html(answer: str) -> str:
    """The one HTML document in a model's answer: code fences and prose around it stripped.

    The first ``<!DOCTYPE html>``/``<html>`` … ``</html>`` wins (a second document is dropped); a fenced
    ``html`` block holding only a fragment is wrapped into a document. Raises :class:`ModelOutputError`
    (fed back to the model by the loop) when the answer holds no HTML.
    """
    fences = [(lang.lower(), body) for lang, body in _FENCE.findall(answer)]
    candidates = [body for _, body in fences if _DOC_START.search(body)] + [answer]
    for text in candidates:
        start = _DOC_START.search(text)
        if start is None:
            continue
        end = _DOC_END.search(text, start.end())
        doc = text[start.start() : end.end()] if end else text[start.start() :].rstrip().removesuffix("```")
        return doc.strip()
    for lang, body in fences:
        if lang in ("html", "htm", "") and _FRAGMENT.search(body):
            return f"<!DOCTYPE html>\n<html>\n{body.strip()}\n</html>"
    raise ModelOutputError(
        "the answer holds no HTML document (no <!DOCTYPE html> or <html> … </html>, no ```html block)"
    )


# --------------------------------------------------------------------------- records


@dataclass
class HTMLRound:
    """One round: the model's answer, the HTML taken from it, its render and score (or the error)."""

    index: int
    answer: str
    html: str | None = None
    score: VisualScore | None = None
    render: Image.Image | None = field(default=None, repr=False)
    error: str | None = None

    @property
    def total(self) -> float:
        return self.score.total if self.score is not None else 0.0


@dataclass
class HTMLResult:
    """The best round's HTML, its score and render, and every round in order."""

    html: str
    score: VisualScore
    render: Image.Image = field(repr=False)
    rounds: list[HTMLRound]
    best_round: int
    screenshot: Image.Image = field(repr=False)
    from_text: bool = False
    """True when no round gave an HTML document and ``html`` wraps the last answer as text."""

    @property
    def png(self) -> bytes:
        """The render as PNG bytes."""
        buffer = io.BytesIO()
        self.render.save(buffer, format="PNG")
        return buffer.getvalue()

    def side_by_side(self) -> Image.Image:
        """screenshot | render | diff heat-map, one picture, with the heat-map's legend under it."""
        heat = self.score.heatmap or self.render
        return side_by_side(self.screenshot, self.render, heat, labels=("screenshot", "render", "differences"), legend=LEGEND)


# --------------------------------------------------------------------------- the loop


def _image_block(img: Image.Image) -> dict:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode("ascii"), "mime_type": "image/png"}


def _answer_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)


def _draft_messages(shot_view: Image.Image, size: tuple[int, int], instructions: str) -> list[BaseMessage]:
    text = prompt("draft").format(width=size[0], height=size[1], instructions=instructions)
    return [SystemMessage(prompt("system")), HumanMessage([_image_block(shot_view), {"type": "text", "text": text}])]


def _revise_messages(
    shot_view: Image.Image, view_size: tuple[int, int], size: tuple[int, int], best: HTMLRound, instructions: str
) -> list[BaseMessage]:
    assert best.score is not None and best.render is not None and best.html is not None
    terms = best.score.terms()
    text = prompt("revise").format(
        width=size[0],
        height=size[1],
        score=terms["total"],
        html=best.html,
        diff=best.score.describe(),
        instructions=instructions,
        **{k: v for k, v in terms.items() if k != "total"},
    )
    render_view = best.render.resize(view_size) if best.render.size != view_size else best.render
    return [
        SystemMessage(prompt("system")),
        HumanMessage([_image_block(shot_view), _image_block(render_view), {"type": "text", "text": text}]),
    ]


def refine_html(
    model: BaseChatModel,
    screenshot: Image.Image,
    *,
    rounds: int = 3,
    target: float = 0.95,
    instructions: str = "",
    viewport: tuple[int, int] | None = None,
    view_size: tuple[int, int] | None = None,
    render_timeout_s: float = 15.0,
    on_round: Callable[[HTMLRound], None] | None = None,
    fallback_to_text: bool = False,
) -> HTMLResult:
    """Run the loop for at most ``rounds`` model calls; return the best-scoring round.

    ``viewport`` is the CSS size to render at (default: the screenshot's own size; a smaller viewport
    renders at the matching device scale, e.g. a 2× retina screenshot). ``view_size`` is the size the
    pictures are sent to the model at (default: unchanged). A stop comes at ``target``, after a round
    that did not beat the best, or when rounds run out; answers without a document or that fail to
    render are fed back and count as rounds. With no usable round at all, :class:`ModelOutputError` is
    raised — or, with ``fallback_to_text``, the last answer is returned as an escaped text page.
    """
    if rounds < 1:
        raise InvalidArgumentError(f"rounds must be 1 or more; got {rounds}")
    screenshot = screenshot.convert("RGB")
    vw, vh = viewport or screenshot.size
    scale = round(screenshot.width / vw, 3)
    view_size = view_size or screenshot.size
    shot_view = screenshot.resize(view_size) if view_size != screenshot.size else screenshot
    extra = f"\nAlso: {instructions.strip()}" if instructions.strip() else ""

    messages = _draft_messages(shot_view, (vw, vh), extra)
    history: list[HTMLRound] = []
    best: HTMLRound | None = None
    for k in range(rounds):
        answer = _answer_text(model.invoke(messages))
        current = HTMLRound(index=k, answer=answer)
        history.append(current)
        retry: str | None = None
        try:
            current.html = extract_html(answer)
            # the render's text comes from its DOM: only the screenshot is OCR'd, once for every round
            page = render_with_text(current.html, vw, vh, device_scale_factor=scale, timeout_s=render_timeout_s)
            page = page.resized(screenshot.size)
            current.render = page.image
            current.score = visual_score(screenshot, page)
        except ModelOutputError as exc:
            current.error = str(exc)
            retry = prompt("no_document").format(error=f"Your answer could not be used: {exc}.")
        except RenderError as exc:
            current.error = str(exc)
            retry = prompt("render_failed").format(error=exc)
        logger.info("html round %d: %s", k + 1, current.error or current.score.terms())  # type: ignore[union-attr]
        improved = current.score is not None and (best is None or current.total > best.total)
        if improved:
            best = current
        if on_round is not None:
            on_round(current)
        if k == rounds - 1:
            break
        if retry is not None:
            # keep the failed exchange so the model sees what it said; then ask again
            messages = [*messages, AIMessage(answer), HumanMessage(retry)]
            continue
        if best is not None and (best.total >= target or not improved):
            break
        assert best is not None
        messages = _revise_messages(shot_view, view_size, (vw, vh), best, extra)

    if best is None:
        last = history[-1]
        if not fallback_to_text:
            raise ModelOutputError(f"no round gave a usable HTML page in {len(history)} rounds; last problem: {last.error}")
        text_page = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'></head><body><pre style='white-space:pre-wrap'>"
            f"{html_lib.escape(last.answer)}</pre></body></html>"
        )
        page = render_with_text(text_page, vw, vh, device_scale_factor=scale, timeout_s=render_timeout_s)
        page = page.resized(screenshot.size)
        return HTMLResult(
            html=text_page,
            score=visual_score(screenshot, page),
            render=page.image,
            rounds=history,
            best_round=last.index,
            screenshot=screenshot,
            from_text=True,
        )
    assert best.html is not None and best.score is not None and best.render is not None
    return HTMLResult(
        html=best.html, score=best.score, render=best.render, rounds=history, best_round=best.index, screenshot=screenshot
    )
