"""Fixtures for model tests: tiny checkpoints of each family, test images, a loopback image server."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest
from PIL import Image, ImageDraw

from vlkit.vision.families import FAMILIES

FAMILY_NAMES = list(FAMILIES)
"""Every family vlkit runs: tests parametrised with the ``family`` fixture follow vlkit.vision.families."""


@functools.cache
def tiny(family: str) -> str:
    from vlkit.testing import tiny_checkpoint

    return str(tiny_checkpoint(family))


@pytest.fixture(params=FAMILY_NAMES)
def family(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def chart_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 448x448 bar chart with a caption: a realistic image input."""
    image = Image.new("RGB", (448, 448), "white")
    draw = ImageDraw.Draw(image)
    for i, height in enumerate([120, 260, 200, 330]):
        draw.rectangle([40 + i * 100, 400 - height, 110 + i * 100, 400], fill=(40 + 50 * i, 90, 200 - 40 * i))
    draw.text((40, 20), "Quarterly revenue 2026", fill="black")
    path = tmp_path_factory.mktemp("img") / "chart.png"
    image.save(path)
    return path


@pytest.fixture(scope="session")
def image_server(chart_png: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the folder of chart.png; yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(chart_png.parent))

    class Quiet(handler.func):  # type: ignore[name-defined, misc]
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(chart_png.parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
