"""The one URL fetcher: public addresses only unless allowed (SSRF), every redirect hop checked, size and
time limits — against a real HTTP server on 127.0.0.1 (the only address the test suite may reach)."""

from __future__ import annotations

import http.server
import io
import threading
import time
from typing import Iterator

import pytest
from PIL import Image

from vlkit.errors import ImageTooLargeError, UrlFetchError, UrlRefusedError
from vlkit.vision import ImageLimits, afetch, fetch, image_from_block, is_public_address
from vlkit.vision.fetch import any_address


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path in ("/to-private", "/to-local"):
                self.send_response(302)
                target = "http://10.1.2.3/inner.png" if self.path == "/to-private" else "/a.png"
                self.send_header("Location", target)
                self.end_headers()
                return
            if self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
                return
            if self.path == "/slow.png":
                time.sleep(3)
            if self.path == "/absent.png":
                self.send_error(404)
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
    server.server_close()


def loopback_ok(ip: str) -> bool:
    return ip == "127.0.0.1"


@pytest.mark.parametrize("ip", ["127.0.0.1", "10.0.0.8", "172.16.3.4", "192.168.0.1", "169.254.169.254", "0.0.0.0",
                                "::1", "fc00::1", "fe80::1", "::ffff:127.0.0.1", "100.64.0.1", "224.0.0.1"])  # fmt: skip
def test_non_public_addresses_are_refused(ip: str) -> None:
    assert not is_public_address(ip)


def test_public_addresses_are_allowed() -> None:
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::1111")


def test_a_loopback_url_is_refused_by_default_and_fetched_when_allowed(site: str) -> None:
    with pytest.raises(UrlRefusedError, match=r"non-public address \(127\.0\.0\.1\)") as refused:
        fetch(f"{site}/a.png")
    assert "allow_private_image_urls=True" in str(refused.value)  # says how to allow it
    assert "VLKIT_ALLOW_PRIVATE_URLS=1" in refused.value.on("cli")
    fetched = fetch(f"{site}/a.png", allow_address=any_address)
    assert fetched.data == PNG and fetched.content_type == "image/png"


def test_a_redirect_to_a_private_address_is_checked_again(site: str) -> None:
    # the first hop (127.0.0.1) is allowed by this policy; the redirect's 10.1.2.3 is not
    with pytest.raises(UrlRefusedError, match=r"inner\.png points at a non-public address \(10\.1\.2\.3\)"):
        fetch(f"{site}/to-private", allow_address=loopback_ok)
    followed = fetch(f"{site}/to-local", allow_address=loopback_ok)
    assert followed.data == PNG and followed.url == f"{site}/a.png"
    with pytest.raises(UrlRefusedError, match="redirected more than 3 times"):
        fetch(f"{site}/loop", allow_address=loopback_ok)


def test_size_time_status_and_scheme_limits(site: str) -> None:
    with pytest.raises(ImageTooLargeError, match="larger than"):
        fetch(f"{site}/big.png", max_bytes=len(PNG) * 10, allow_address=loopback_ok)
    started = time.monotonic()
    with pytest.raises(UrlFetchError, match="longer than 0.5 s"):
        fetch(f"{site}/slow.png", timeout=0.5, allow_address=loopback_ok)
    assert time.monotonic() - started < 2.5
    with pytest.raises(UrlFetchError, match="absent.png answered HTTP 404"):
        fetch(f"{site}/absent.png", allow_address=loopback_ok)
    for url in ("file:///etc/passwd", "ftp://example.com/a.png", "http:///a.png"):
        with pytest.raises(UrlRefusedError, match="must be http"):
            fetch(url)


async def test_the_async_fetcher_has_the_same_guard(site: str) -> None:
    with pytest.raises(UrlRefusedError, match="non-public address"):
        await afetch(f"{site}/a.png")
    with pytest.raises(UrlRefusedError, match=r"non-public address \(10\.1\.2\.3\)"):
        await afetch(f"{site}/to-private", allow_address=loopback_ok)
    assert (await afetch(f"{site}/to-local", allow_address=loopback_ok)).data == PNG


def test_an_image_block_with_a_loopback_url_loads_only_when_the_limits_allow_it(site: str) -> None:
    block = {"type": "image", "url": f"{site}/a.png"}
    with pytest.raises(UrlRefusedError, match="non-public address"):
        image_from_block(block).to_pil()
    image = image_from_block(block).to_pil(ImageLimits(allow_private_urls=True))
    assert image.size == (32, 24) and image.getpixel((5, 5)) == (10, 200, 30)
    with pytest.raises(ImageTooLargeError):  # the fetched bytes are checked like a file's
        image_from_block(block).to_pil(ImageLimits(allow_private_urls=True, max_pixels=100))


@pytest.mark.slow
def test_chat_qwen_vl_refuses_a_loopback_image_url_unless_allowed(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.messages import HumanMessage

    from vlkit import testing
    from vlkit.models import ChatQwenVL

    folder = str(testing.tiny_checkpoint("qwen2_vl"))
    message = HumanMessage(content=[{"type": "image", "url": f"{site}/a.png"}, "describe"])
    monkeypatch.delenv("VLKIT_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(UrlRefusedError, match="non-public address"):
        ChatQwenVL(model=folder, max_tokens=2).invoke([message])
    assert ChatQwenVL(model=folder, max_tokens=2, allow_private_image_urls=True).invoke([message]).usage_metadata
    monkeypatch.setenv("VLKIT_ALLOW_PRIVATE_URLS", "1")
    assert ChatQwenVL(model=folder).allow_private_image_urls
