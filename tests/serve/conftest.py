"""Fixtures for `vlkit serve`: real server processes on free 127.0.0.1 ports, tiny checkpoints."""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.models.conftest import chart_png, tiny  # noqa: F401  (shared fixtures)

MODEL_NAME = "vlkit-tiny-qwen2_vl"
API_KEY = "sk-serve-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `vlkit serve` process."""

    url: str
    process: subprocess.Popen
    log: Path

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def metric(self, name: str) -> float:
        """One unlabelled value from /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)


def start_server(tmp: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240.0,
                 model: str | None = None) -> Server:  # fmt: skip
    """Start `vlkit serve --tiny qwen2_vl ARGS` (or `--model MODEL ARGS`) on a free port and wait for /health."""
    if model is None:
        tiny("qwen2_vl")  # build the checkpoint in this process first (cached)
    port = free_port()
    log = tmp / f"serve-{port}.log"
    chosen = ["--model", model] if model is not None else ["--tiny", "qwen2_vl"]
    command = [str(Path(sys.executable).parent / "vlkit"), "serve", *chosen, "--port", str(port), *args]
    handle = log.open("wb")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vlkit serve exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return Server(url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"vlkit serve did not answer /health within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `vlkit serve --tiny qwen2_vl` for the session: API key on, small queue, UI mounted."""
    srv = start_server(tmp_path_factory.mktemp("serve"), "--api-key", API_KEY, "--max-concurrency", "1",
                       "--queue", "4", "--max-body-mb", "4", "--max-tokens", "8")  # fmt: skip
    yield srv
    stop_server(srv)


def png_bytes(size: tuple[int, int] = (224, 168), color: str = "white") -> bytes:
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 10, size[0] // 2, size[1] // 2], fill="navy")
    draw.text((12, size[1] - 20), "TOTAL 42.00", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.fixture(scope="session")
def image_url() -> str:
    return data_url(png_bytes())


@pytest.fixture(scope="session")
def asgi_app() -> object:
    """The same app in-process (tiny model, strict URL fetching on), for fast fuzzing over ASGI."""
    from vlkit.models import ChatQwenVL
    from vlkit.serve.app import ServeConfig, create_app
    from vlkit.serve.engine import Engine
    from vlkit.serve.fetch import UrlFetcher

    engine = Engine(ChatQwenVL(model=tiny("qwen2_vl"), max_tokens=2), name=MODEL_NAME,
                    fetcher=UrlFetcher(max_bytes=2**20, timeout=2))  # fmt: skip
    engine.load()
    return create_app(engine, ServeConfig(max_concurrency=1, queue=64, max_body_bytes=2 * 2**20))


from tests.serve.ui_browser import ui_page  # noqa: E402,F401  (the UI tests' browser page)
