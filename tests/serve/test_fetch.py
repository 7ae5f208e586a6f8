"""Image URL fetching for clients: public addresses only (SSRF), with a size and a time limit, every
refusal a 400 (the fetcher itself, :mod:`vlkit.vision.fetch`, is tested in tests/vision/test_fetch.py).

The loopback HTTP server below is only reachable because these tests pass a policy that admits
127.0.0.1; the server's own policy (``is_public_address``) refuses it, as the first test checks.
"""

from __future__ import annotations

import http.server
import threading
import time
from typing import Iterator

import pytest

from tests.serve.conftest import png_bytes
from vlkit.serve.fetch import UrlFetcher
from vlkit.serve.schemas import APIError

PNG = png_bytes()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/slow.png":
                time.sleep(3)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://10.1.2.3/inner.png")
                self.end_headers()
                return
            body = PNG * 40 if self.path == "/big.png" else PNG
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the fetcher hung up at its limit, as it should
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_the_servers_policy_refuses_loopback(site: str) -> None:
    with pytest.raises(APIError, match="non-public address") as refused:
        await UrlFetcher(max_bytes=2**20, timeout=5).fetch(f"{site}/a.png")
    assert refused.value.status == 400 and "send the image as a data URL" in str(refused.value)


def loopback_ok(ip: str) -> bool:
    return ip == "127.0.0.1"


async def test_fetch_within_limits(site: str) -> None:
    assert await UrlFetcher(max_bytes=2**20, timeout=5, allow_address=loopback_ok).fetch(f"{site}/a.png") == PNG


async def test_size_limit(site: str) -> None:
    with pytest.raises(APIError, match="larger than"):
        await UrlFetcher(max_bytes=len(PNG) * 10, timeout=5, allow_address=loopback_ok).fetch(f"{site}/big.png")


async def test_time_limit(site: str) -> None:
    with pytest.raises(APIError, match="longer than 0.5 s"):
        await UrlFetcher(max_bytes=2**20, timeout=0.5, allow_address=loopback_ok).fetch(f"{site}/slow.png")


async def test_redirect_to_a_private_address_is_checked_again(site: str) -> None:
    with pytest.raises(APIError, match="non-public address"):
        await UrlFetcher(max_bytes=2**20, timeout=5, allow_address=loopback_ok).fetch(f"{site}/redirect")
