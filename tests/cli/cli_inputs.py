"""The inputs each `vlkit` command needs, made small and real, and the commands' own option tables read from
the Typer app (so a command or an option added later is covered by the tests that enumerate them).

A helper module for the CLI tests (like kb_helpers.py), not a test module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests.cli.kb_helpers import png_header_only

RECEIPT = Path(__file__).resolve().parents[2] / "examples" / "assets" / "receipt.png"

HUGE = (12_000, 12_000)
"""A 144 MP size claim: over vlkit's 64 MP default, the PIL decompression-bomb warning size and more."""


def screenshot(path: Path, size: tuple[int, int] = (320, 200)) -> Path:
    """A small screenshot-like PNG: a page with a button."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([110, 80, 210, 120], fill=(30, 90, 200))
    draw.text((130, 92), "Sign in", fill="white")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def huge_png(path: Path) -> Path:
    """A PNG whose header claims :data:`HUGE` pixels over a few bytes of data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_header_only(*HUGE))
    return path


def html_set(folder: Path, image: Callable[[Path], Path] = screenshot) -> Path:
    """A `vlkit html eval` folder: one NAME.png with its NAME.html."""
    image(folder / "page.png")
    (folder / "page.html").write_text("<html><body><button>Sign in</button></body></html>", encoding="utf-8")
    return folder


def gui_set(folder: Path, image: Callable[[Path], Path] = screenshot) -> Path:
    """A `vlkit gui eval` folder: items.jsonl and its screenshot."""
    image(folder / "shot.png")
    item = {"image": "shot.png", "instruction": "Click Sign in", "box": [110, 80, 210, 120], "device": "desktop",
            "element": "button", "viewport": "desktop"}
    (folder / "items.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    return folder


def invoice_set(folder: Path, image: Callable[[Path], Path] | None = None) -> Path:
    """A `vlkit invoice eval` folder: one receipt with a ground-truth JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "receipt.png"
    if image is None:
        target.write_bytes(RECEIPT.read_bytes())
    else:
        image(target)
    (folder / "receipt.json").write_text("{}", encoding="utf-8")
    return folder


def commands(root: Any = None, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every runnable command of `vlkit`, as (path, click command): ("chat",), ("kb", "add"), …

    (Typer ships its own copy of click: groups are recognised by their ``commands``, not by class.)"""
    if root is None:
        import typer.main

        from vlkit.cli import build_app

        root = typer.main.get_command(build_app())
    if isinstance(getattr(root, "commands", None), dict):
        for name, sub in root.commands.items():
            yield from commands(sub, (*prefix, name))
    else:
        yield prefix, root


def options_named(name: str) -> set[tuple[str, ...]]:
    """The commands that have a parameter called ``name`` (the Python name, e.g. ``base_url``)."""
    return {path for path, command in commands() if any(p.name == name for p in command.params)}
