"""A graded set for the visual score, built from real documentation pages: content removed, moved or
restyled in steps, and the order a screenshot → HTML user would put them in.

The pages (``realpages/*.html``, package data; sources and licences in ``realpages/SOURCES.md``) are
trimmed copies of the first screen of Debian's HTML documentation: the Python 3.11 manual, git's
manual pages, the Debian Reference and SQLite — prose, code, tables, lists and headings.
:func:`graded_variants` edits a page's DOM in a JavaScript-on browser page with every request refused
(the pages are our own files, and self-contained):

* ``restyle-1`` … ``restyle-4``: headings recoloured; + links; + the page background; + fonts and body text colour;
* ``remove-25``, ``remove-50``, ``remove-75``: that share of the first screen's text blocks (paragraphs,
  list items, headings, code blocks, table rows) deleted, each step removing a superset of the last;
* ``move-1``, ``move-2``: blocks reordered — neighbours swapped in the container with the most text
  in view; every container's blocks in view reversed.

:func:`expected_pairs` is the ordering a good score must give (content first: a reproduction missing
text is worse than any recolouring of a complete one), :func:`ordering_agreement` counts how many of
those pairs a set of scores gets right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from vlkit.tools.render import ChromiumWorker, live_page

__all__ = [
    "VARIANTS",
    "Agreement",
    "expected_pairs",
    "graded_variants",
    "ordering_agreement",
    "real_pages",
]

RESTYLES = ("restyle-1", "restyle-2", "restyle-3", "restyle-4")
REMOVALS = ("remove-25", "remove-50", "remove-75")
MOVES = ("move-1", "move-2")
VARIANTS = ("self", *RESTYLES, *REMOVALS, *MOVES)
"""Every variant :func:`graded_variants` makes of a page, ``self`` (the page unchanged) first."""

_BLOCKS = "p, li, h1, h2, h3, h4, h5, h6, pre, dt, dd, tr, caption, blockquote"

# One function per kind of edit; ``step`` grows the damage. Runs in the page (JavaScript on, no network).
_EDIT_JS = """
([kind, step, blocksSelector]) => {
  const inView = (el) => { const r = el.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight && r.height > 0; };
  const blocks = Array.from(document.body.querySelectorAll(blocksSelector))
    .filter((el) => !el.querySelector(blocksSelector) && el.textContent.trim() && inView(el));
  const rotate = (css, degrees) => {
    const m = css.match(/rgba?\\(([^)]+)\\)/); if (!m) return css;
    let [r, g, b] = m[1].split(',').map(Number).map((v) => v / 255);
    const max = Math.max(r, g, b), min = Math.min(r, g, b), l = (max + min) / 2, d = max - min;
    let h = 0, s = d === 0 ? 0 : d / (1 - Math.abs(2 * l - 1));
    if (d !== 0) h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    h = h * 60; if (s < 0.15) { s = 0.75; h = 0; }   // greys become a clear red, then rotate
    h = (((h + degrees) % 360) + 360) % 360;
    const c = (1 - Math.abs(2 * Math.min(Math.max(l, 0.3), 0.5) - 1)) * s, x = c * (1 - Math.abs(((h / 60) % 2) - 1));
    const l2 = Math.min(Math.max(l, 0.3), 0.5), m0 = l2 - c / 2;
    const [r1, g1, b1] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
    return `rgb(${Math.round((r1 + m0) * 255)}, ${Math.round((g1 + m0) * 255)}, ${Math.round((b1 + m0) * 255)})`;
  };
  const recolour = (selector, degrees) => {
    const els = Array.from(document.querySelectorAll(selector));
    const colours = els.map((el) => rotate(getComputedStyle(el).color, degrees));
    els.forEach((el, k) => el.style.setProperty('color', colours[k], 'important'));
  };
  if (kind === 'restyle') {
    recolour('h1, h2, h3, h4, h5, h6, h1 *, h2 *, h3 *, h4 *, h5 *, h6 *', 150);
    if (step >= 2) recolour('a, a *', 150);
    if (step >= 3) {
      const tint = '#f3e3c3';
      document.documentElement.style.setProperty('background', tint, 'important');
      document.body.style.setProperty('background', tint, 'important');
      for (const el of document.body.querySelectorAll('*')) {
        const bg = getComputedStyle(el).backgroundColor;
        if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') el.style.setProperty('background-color', tint, 'important');
      }
    }
    if (step >= 4) {
      const style = document.createElement('style');
      style.textContent = 'body, body * { font-family: "DejaVu Serif", Georgia, serif !important; } '
        + 'p, li, dd, td, pre, pre * { color: #1d4e89 !important; }';
      document.head.appendChild(style);
    }
  } else if (kind === 'remove') {
    // 25 %: every 4th block; 50 %: every other; 75 %: all but every 4th (each a superset of the last)
    blocks.forEach((el, k) => {
      const gone = step === 1 ? k % 4 === 0 : step === 2 ? k % 2 === 0 : k % 4 !== 3;
      if (gone) el.remove();
    });
  } else if (kind === 'move') {
    // a block moves with its wrappers (asciidoc's <div class="paragraph"><p>): the highest ancestor holding no other block
    const holds = (el) => blocks.filter((b) => el.contains(b)).length;
    const units = blocks.map((el) => { while (el.parentElement !== document.body && holds(el.parentElement) === 1) el = el.parentElement; return el; });
    const parents = new Map();
    for (const el of units) { if (!parents.has(el.parentElement)) parents.set(el.parentElement, []); parents.get(el.parentElement).push(el); }
    const shown = (el) => el.getBoundingClientRect().top < innerHeight;  // a swap below the fold changes nothing seen
    const groups = Array.from(parents.values()).map((g) => g.filter(shown)).filter((g) => g.length >= 2);
    const text = (g) => g.reduce((n, el) => n + el.textContent.trim().length, 0);
    // put a group's blocks into each other's places: 1 swaps neighbours in the group with the most text, 2 reverses every group
    const permute = (g, order) => { const marks = g.map((el) => { const c = document.createComment(''); el.before(c); return c; });
      order.forEach((from, to) => marks[to].replaceWith(g[from])); };
    if (step === 1) {
      const largest = groups.reduce((a, b) => (text(b) > text(a) ? b : a), []);
      permute(largest, largest.map((_, k) => ((k ^ 1) < largest.length ? k ^ 1 : k)));
    } else {
      for (const g of groups) permute(g, g.map((_, k) => g.length - 1 - k));
    }
  }
  return '<!DOCTYPE html>\\n' + document.documentElement.outerHTML;
}
"""


def real_pages() -> dict[str, str]:
    """``{name: html}`` of the real documentation pages (self-contained, about one screen each)."""
    folder = resources.files("vlkit.tools.html").joinpath("realpages")
    return {
        p.name.removesuffix(".html"): p.read_text("utf-8")
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".html")
    }


def graded_variants(
    html: str, size: tuple[int, int] = (1280, 800), *, worker: ChromiumWorker | None = None
) -> dict[str, str]:
    """``{variant: html}`` for the names in :data:`VARIANTS`, edited at viewport ``size``.

    A step that leaves the page as the step before it left it (no links to recolour, no second block
    in view to move) is left out, so every variant differs from the one before it in its kind."""
    out = {"self": html}
    edits = [(name, "restyle", k + 1) for k, name in enumerate(RESTYLES)]
    edits += [(name, "remove", k + 1) for k, name in enumerate(REMOVALS)]
    edits += [(name, "move", k + 1) for k, name in enumerate(MOVES)]
    with live_page(None, width=size[0], height=size[1], allow=lambda _url: False, worker=worker) as page:
        def edit(p: Any, kind: str, step: int) -> str:
            p.set_content(html, wait_until="load")
            return p.evaluate(_EDIT_JS, [kind, step, _BLOCKS])

        unchanged = page.run(lambda p: edit(p, "none", 0))  # the page as the edits serialise it
        previous = unchanged
        for name, kind, step in edits:
            edited = page.run(lambda p, kind=kind, step=step: edit(p, kind, step))
            if step == 1:
                previous = unchanged
            if edited != previous:  # a step that changes nothing (a page without links) is left out
                out[name] = previous = edited
    return out


def expected_pairs() -> list[tuple[str, str]]:
    """``(better, worse)`` variant pairs a good visual score orders that way, on any one page.

    The page itself beats every edit; each kind's steps fall as the damage grows; and content comes
    first — every removal scores below every pure restyle and every move (all the text is still there).
    """
    pairs = [("self", v) for v in VARIANTS[1:]]
    for chain in (RESTYLES, REMOVALS, MOVES):
        pairs += [(a, b) for k, a in enumerate(chain) for b in chain[k + 1 :]]
    pairs += [(kept, removed) for removed in REMOVALS for kept in (*RESTYLES, *MOVES)]
    return pairs


@dataclass(frozen=True)
class Agreement:
    """How many expected pairs a set of scores orders correctly, and which ones it gets wrong."""

    agreed: int
    total: int
    wrong: list[tuple[str, str, str]]
    """``(page, better, worse)`` pairs that scored the other way round (or equal)."""

    @property
    def share(self) -> float:
        return self.agreed / self.total if self.total else 1.0


def ordering_agreement(scores: Mapping[str, Mapping[str, float]]) -> Agreement:
    """Agreement of ``{page: {variant: score}}`` with :func:`expected_pairs` (a pair needs a strict win)."""
    agreed, total, wrong = 0, 0, []
    for page, by_variant in scores.items():
        for better, worse in expected_pairs():
            if better in by_variant and worse in by_variant:
                total += 1
                if by_variant[better] > by_variant[worse]:
                    agreed += 1
                else:
                    wrong.append((page, better, worse))
    return Agreement(agreed, total, wrong)
