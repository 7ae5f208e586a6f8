"""The one URL fetcher for images: public addresses only (SSRF guard), with a size and a time limit.

A URL inside a message may come from anyone — a user, a web page an agent read, the model itself — so
vlkit fetches it only when every address its host resolves to is public, on every hop of a redirect
(a public URL that redirects to ``http://169.254.169.254/`` is refused at that hop). Downloads stop at
``max_bytes`` and at ``timeout`` seconds for the whole chain.

Used by :class:`~vlkit.vision.loading.ImageInput` (``fetch``: ChatQwenVL on a local backend reading an
image URL) and by ``vlkit serve --allow-url-fetch`` (``afetch``). Private, loopback and link-local
addresses are allowed only on request: ``allow_address=any_address`` here,
``ImageLimits(allow_private_urls=True)`` for the loader, ``ChatQwenVL(allow_private_image_urls=True)``
or ``VLKIT_ALLOW_PRIVATE_URLS=1`` for the chat model.

Limits of the guard: the host is resolved here and then again by the HTTP client, so a DNS answer that
changes in between (rebinding) is not covered; run where nothing private is reachable if that matters.
Proxies from the environment are not used (the address checked must be the address connected to).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urljoin, urlparse

from vlkit.errors import RAISE_MAX_IMAGE_BYTES, ImageTooLargeError, UrlFetchError, UrlRefusedError, Words
from vlkit.vision.limits import MAX_IMAGE_BYTES

__all__ = ["AddressPolicy", "Fetched", "fetch", "afetch", "is_public_address", "any_address", "MAX_REDIRECTS"]

AddressPolicy = Callable[[str], bool]
"""Given one resolved IP address (text), whether the fetcher may connect to it."""

MAX_REDIRECTS = 3
"""Redirects followed (each one checked like the first URL) before the fetch is refused."""

_LOCAL = Words(
    python="download it and pass a local path instead",
    cli="download it and pass the file with --image",
    http="send the image as a data URL instead",
    ui="upload the image file instead",
)
_ALLOW_PRIVATE = Words(
    python="only public http(s) URLs are fetched; download it and pass a local path, or allow private "
    "addresses with ChatQwenVL(allow_private_image_urls=True) or VLKIT_ALLOW_PRIVATE_URLS=1",
    cli="only public http(s) URLs are fetched; download it and pass the file with --image, or set "
    "VLKIT_ALLOW_PRIVATE_URLS=1 to fetch from your own network",
    http="the server fetches only public http(s) URLs — send the image as a data URL instead",
    ui="only public http(s) URLs are fetched; upload the image file instead",
)


@dataclass(frozen=True)
class Fetched:
    """What one fetch returned."""

    data: bytes
    content_type: str | None
    """The ``Content-Type`` header, as the server sent it (None when absent)."""
    url: str
    """The URL the bytes came from, after redirects."""


def is_public_address(ip: str) -> bool:
    """True for a globally routable unicast address (so not 127/8, 10/8, 169.254/16, ::1, fc00::/7 …)."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def any_address(ip: str) -> bool:
    """Allow every address: loopback and private networks included (a trusted caller's own URLs)."""
    return True


def fetch(
    url: str,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    timeout: float = 30.0,
    max_redirects: int = MAX_REDIRECTS,
    allow_address: AddressPolicy = is_public_address,
) -> Fetched:
    """Download ``url`` under the limits, checking every redirect hop's addresses with ``allow_address``.

    Raises :class:`~vlkit.errors.UrlRefusedError` (not http(s), a non-public address, too many redirects),
    :class:`~vlkit.errors.ImageTooLargeError` (over ``max_bytes``) or :class:`~vlkit.errors.UrlFetchError`
    (unresolvable, unreachable, too slow, an error status).

    Example:
        ```python
        image = fetch("https://example.com/chart.png", max_bytes=16 * 2**20, timeout=10).data
        ```
    """
    import httpx

    guard = _Guard(max_bytes, timeout, max_redirects, allow_address)
    try:
        with httpx.Client(follow_redirects=False, trust_env=False) as client:
            for _ in range(max_redirects + 1):
                host, port = guard.target(url)
                guard.check(url, _resolve(host, port))
                # Each network operation waits at most the time left; the total is checked between chunks.
                with client.stream("GET", url, timeout=guard.remaining()) as response:
                    following = guard.redirect(url, response)
                    if following is not None:
                        url = following
                        continue
                    guard.accept(url, response)
                    chunks: list[bytes] = []
                    for chunk in response.iter_bytes():
                        chunks.append(guard.take(url, chunk))
                    return Fetched(b"".join(chunks), response.headers.get("content-type"), url)
    except (TimeoutError, httpx.TimeoutException):
        raise guard.too_slow(url) from None
    except httpx.HTTPError as exc:
        raise UrlFetchError(f"cannot fetch image {url[:200]}: {_describe(exc)}; ", _LOCAL) from None
    raise guard.too_many_redirects()


async def afetch(
    url: str,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    timeout: float = 30.0,
    max_redirects: int = MAX_REDIRECTS,
    allow_address: AddressPolicy = is_public_address,
) -> Fetched:
    """:func:`fetch` for an event loop (``vlkit serve``): the same checks, errors and limits."""
    import httpx

    guard = _Guard(max_bytes, timeout, max_redirects, allow_address)
    loop = asyncio.get_running_loop()
    try:
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            for _ in range(max_redirects + 1):
                host, port = guard.target(url)
                try:
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except (socket.gaierror, UnicodeError, OSError):
                    raise guard.unresolvable(url) from None
                guard.check(url, {info[4][0] for info in infos})
                async with asyncio.timeout(guard.remaining()):
                    async with client.stream("GET", url, timeout=guard.remaining()) as response:
                        following = guard.redirect(url, response)
                        if following is not None:
                            url = following
                            continue
                        guard.accept(url, response)
                        chunks: list[bytes] = []
                        async for chunk in response.aiter_bytes():
                            chunks.append(guard.take(url, chunk))
                        return Fetched(b"".join(chunks), response.headers.get("content-type"), url)
    except (TimeoutError, httpx.TimeoutException):
        raise guard.too_slow(url) from None
    except httpx.HTTPError as exc:
        raise UrlFetchError(f"cannot fetch image {url[:200]}: {_describe(exc)}; ", _LOCAL) from None
    raise guard.too_many_redirects()


def _resolve(host: str, port: int) -> set[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UrlFetchError(f"cannot resolve the host '{host[:100]}' of an image URL; ", _LOCAL) from None
    return {str(info[4][0]) for info in infos}


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text[:200]}" if text else exc.__class__.__name__


class _Guard:
    """The checks and limits both fetchers share, so the sync and async paths cannot drift apart."""

    def __init__(self, max_bytes: int, timeout: float, max_redirects: int, allow_address: AddressPolicy) -> None:
        self.max_bytes, self.timeout, self.max_redirects = max_bytes, timeout, max_redirects
        self.allow_address = allow_address
        self.deadline = time.monotonic() + timeout
        self.received = 0

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def target(self, url: str) -> tuple[str, int]:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UrlRefusedError(f"image URLs must be http(s) with a host, got {url[:200]!r}")
        try:
            return parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            raise UrlRefusedError(f"image URL {url[:200]!r} has an invalid port") from None

    def check(self, url: str, addresses: set[str]) -> None:
        bad = sorted(a for a in addresses if not self.allow_address(a))
        if bad or not addresses:
            raise UrlRefusedError(
                f"image URL {url[:200]} points at a non-public address ({', '.join(bad) or 'none resolved'}); ",
                _ALLOW_PRIVATE,
            )

    def unresolvable(self, url: str) -> UrlFetchError:
        return UrlFetchError(f"cannot resolve the host of image URL {url[:200]}; ", _LOCAL)

    def redirect(self, url: str, response: Any) -> str | None:
        """The next URL when ``response`` is a redirect (checked by the next round), else None."""
        if response.is_redirect and "location" in response.headers:
            return urljoin(url, response.headers["location"])
        return None

    def accept(self, url: str, response: Any) -> None:
        if response.status_code != 200:
            raise UrlFetchError(f"fetching image {url[:200]} answered HTTP {response.status_code}; ", _LOCAL)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self.too_big(url)

    def take(self, url: str, chunk: bytes) -> bytes:
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise self.too_big(url)
        self.remaining()  # a server that drips bytes still ends at the deadline
        return chunk

    def too_big(self, url: str) -> ImageTooLargeError:
        return ImageTooLargeError(
            f"image {url[:200]} is larger than the {self.max_bytes / 2**20:.0f} MiB fetch limit (", RAISE_MAX_IMAGE_BYTES, ")"
        )

    def too_slow(self, url: str) -> UrlFetchError:
        return UrlFetchError(f"fetching image {url[:200]} took longer than {self.timeout:g} s; ", _LOCAL)

    def too_many_redirects(self) -> UrlRefusedError:
        return UrlRefusedError(f"image URL redirected more than {self.max_redirects} times; ", _LOCAL)
