"""A GUI-grounding eval set vlkit makes itself: pages it ships, rendered by headless Chromium, targets from the DOM.

Each item is ``(screenshot, instruction, target box)`` in the ScreenSpot style: a prediction is right when
its point falls inside the box. Boxes are the elements' ``getBoundingClientRect()`` × device-pixel ratio
(buttons, links, inputs), so they are exact, in screenshot pixels. Viewports:

* ``desktop-1920`` — 1920×1080; ``desktop-1366`` — 1366×768;
* ``mobile-412`` — 412×915 CSS at device-pixel ratio 2 (824×1830 screenshots, a phone);
* ``tall-1366`` — a full-page capture of a long article, 1366 wide (several screens tall).

    python -m vlkit.tools.gui.evalset /tmp/gui-eval     # then: vlkit gui eval /tmp/gui-eval --tiny qwen3_vl

Writes ``items.jsonl`` (one item per line: ``image``, ``instruction``, ``box`` [left, top, right, bottom],
``device``, ``element``, ``viewport``) and the PNGs next to it.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

__all__ = ["EvalItem", "VIEWPORTS", "Viewport", "generate_evalset", "load_items", "page_html"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewport:
    """One way to render a page."""

    name: str
    width: int
    height: int
    scale: float = 1.0
    """Device-pixel ratio."""
    device: str = "desktop"
    full_page: bool = False
    pages: tuple[str, ...] = ("login", "settings")


VIEWPORTS: tuple[Viewport, ...] = (
    Viewport("desktop-1920", 1920, 1080),
    Viewport("desktop-1366", 1366, 768),
    Viewport("mobile-412", 412, 915, scale=2.0, device="mobile"),
    Viewport("tall-1366", 1366, 768, full_page=True, pages=("article",)),
)


@dataclass(frozen=True)
class EvalItem:
    """One screenshot, an instruction, and the target's box in screenshot pixels."""

    image: str
    """PNG file name, relative to the set's folder."""
    instruction: str
    box: tuple[int, int, int, int]
    """left, top, right, bottom (right/bottom exclusive), screenshot pixels."""
    device: str
    element: str
    """``button``, ``link`` or ``input``."""
    viewport: str

    def contains(self, point: tuple[int, int] | None) -> bool:
        """ScreenSpot's rule: the point lies inside the target box."""
        if point is None:
            return False
        left, top, right, bottom = self.box
        return left <= point[0] < right and top <= point[1] < bottom


_TOPICS = (
    "Faster sync", "Offline mode", "Shared folders", "Audit log", "Webhooks", "Single sign-on",
    "Data residency", "Usage quotas", "Mobile widgets", "Accessibility",
)  # fmt: skip

_TARGETS_JS = """(scale) => {
  const out = [];
  const seen = new Set();
  for (const el of document.querySelectorAll('button, a[href], input')) {
    const r = el.getBoundingClientRect();
    if (r.width < 4 || r.height < 4) continue;
    let kind = el.tagName === 'A' ? 'link' : el.tagName === 'BUTTON' ? 'button' : 'input';
    let name = (el.innerText || '').trim();
    if (kind === 'input') {
      if (el.type === 'checkbox') { name = (el.parentElement.innerText || '').trim(); kind = 'checkbox'; }
      else { const label = el.id && document.querySelector('label[for="' + el.id + '"]');
             name = label ? label.innerText.trim() : (el.placeholder || el.name || ''); }
    }
    if (!name || seen.has(kind + name)) continue;
    seen.add(kind + name);
    out.push({kind, name, box: [Math.floor((r.left + window.scrollX) * scale), Math.floor((r.top + window.scrollY) * scale),
                                Math.ceil((r.right + window.scrollX) * scale), Math.ceil((r.bottom + window.scrollY) * scale)]});
  }
  return out;
}"""


def page_html(name: str) -> str:
    """The HTML of one shipped page (``login``, ``settings``, ``article``)."""
    text = resources.files("vlkit.tools.gui").joinpath(f"evalpages/{name}.html").read_text("utf-8")
    if name != "article":
        return text
    sections = []
    for i, topic in enumerate(_TOPICS):
        body = " ".join(
            f"{topic} now works across every workspace, with settings an administrator can review in one place."
            for _ in range(4)
        )
        extra = f'<p><a href="/guides/{i}">Read the {topic.lower()} guide</a></p>' if i % 2 == 0 else (
            f'<p><button class="cta" type="button">Try {topic.lower()}</button></p>'
        )
        sections.append(f"<h2>{topic}</h2><p>{body}</p>{extra}")
    return Template(text).safe_substitute(sections="\n".join(sections))


def _instruction(kind: str, name: str) -> str:
    if kind == "input":
        return f"Click the '{name}' field"
    if kind == "checkbox":
        return f"Tick the '{name}' checkbox"
    return f"Click the '{name}' {kind}"


def generate_evalset(folder: str | Path, viewports: tuple[Viewport, ...] = VIEWPORTS, worker: Any = None) -> list[EvalItem]:
    """Render every page at every viewport into ``folder``; returns the items (also in ``items.jsonl``)."""
    from PIL import Image

    from vlkit.tools.render import default_worker

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    worker = worker or default_worker()
    items: list[EvalItem] = []
    for viewport in viewports:
        for page_name in viewport.pages:
            html = page_html(page_name)

            def job(browser: Any, html: str = html, vp: Viewport = viewport) -> tuple[bytes, list[dict[str, Any]]]:
                mobile = vp.device == "mobile"
                context = browser.new_context(
                    viewport={"width": vp.width, "height": vp.height}, device_scale_factor=vp.scale,
                    is_mobile=mobile, has_touch=mobile,
                )  # fmt: skip
                try:
                    context.route("**/*", lambda route: route.abort() if route.request.url.startswith("http") else route.continue_())
                    page = context.new_page()
                    page.set_content(html, wait_until="load")
                    png = page.screenshot(type="png", full_page=vp.full_page, animations="disabled")
                    targets = page.evaluate(_TARGETS_JS, vp.scale)
                    return png, targets
                finally:
                    context.close()

            png, targets = worker.submit(job, timeout_s=60)
            image = Image.open(io.BytesIO(png))
            file_name = f"{viewport.name}-{page_name}.png"
            (out / file_name).write_bytes(png)
            for target in targets:
                left, top, right, bottom = target["box"]
                right, bottom = min(right, image.width), min(bottom, image.height)
                if right - left < 4 or bottom - top < 4 or left < 0 or top < 0:
                    continue  # off the capture (below the fold of a viewport screenshot)
                items.append(
                    EvalItem(file_name, _instruction(target["kind"], target["name"]), (left, top, right, bottom),
                             viewport.device, target["kind"], viewport.name)
                )  # fmt: skip
    with (out / "items.jsonl").open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
    logger.info("wrote %d items to %s", len(items), out)
    return items


def load_items(folder: str | Path) -> list[EvalItem]:
    """The items of a set written by :func:`generate_evalset` (or by hand, in the same format)."""
    path = Path(folder) / "items.jsonl"
    if not path.is_file():
        from vlkit.errors import UserError

        raise UserError(f"{path} not found; create a set with: python -m vlkit.tools.gui.evalset {folder}")
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            data["box"] = tuple(data["box"])
            items.append(EvalItem(**data))
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render vlkit's GUI-grounding eval set with headless Chromium.")
    parser.add_argument("folder", help="where to write items.jsonl and the screenshots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    generate_evalset(args.folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
