"""Fetching image URLs for clients, safely: only with ``--allow-url-fetch``, never to loopback,
private, link-local or otherwise non-public addresses (SSRF), with a size and a time limit.

Every hop of a redirect is resolved and checked again; the host's addresses are resolved here and all
of them must be public. (A DNS answer that changes between this check and the connection — rebinding —
is not covered; run the server where it cannot reach anything private if that matters.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Callable
from urllib.parse import urljoin, urlparse

import httpx

from vlkit.serve.schemas import APIError

__all__ = ["UrlFetcher", "is_public_address"]


def is_public_address(ip: str) -> bool:
    """True for a globally routable unicast address (so not 127/8, 10/8, 169.254/16, ::1, fc00::/7 …)."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class UrlFetcher:
    """Downloads one image URL under the limits; every refusal is an :class:`APIError` 400."""

    def __init__(self, *, max_bytes: int, timeout: float, max_redirects: int = 3,
                 allow_address: Callable[[str], bool] = is_public_address) -> None:  # fmt: skip
        self.max_bytes, self.timeout, self.max_redirects = max_bytes, timeout, max_redirects
        self.allow_address = allow_address

    async def fetch(self, url: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            for _ in range(self.max_redirects + 1):
                await self._check(url)
                remaining = deadline - time.monotonic()
                try:
                    async with asyncio.timeout(max(0.01, remaining)):
                        async with client.stream("GET", url, timeout=max(0.01, remaining)) as response:
                            if response.is_redirect and "location" in response.headers:
                                url = urljoin(url, response.headers["location"])
                                continue
                            if response.status_code != 200:
                                raise APIError(400, f"fetching image {url[:200]} answered HTTP {response.status_code}")
                            declared = response.headers.get("content-length", "")
                            if declared.isdigit() and int(declared) > self.max_bytes:
                                raise self._too_big(url)
                            chunks, total = [], 0
                            async for chunk in response.aiter_bytes():
                                total += len(chunk)
                                if total > self.max_bytes:
                                    raise self._too_big(url)
                                chunks.append(chunk)
                            return b"".join(chunks)
                except (TimeoutError, httpx.TimeoutException):
                    raise APIError(400, f"fetching image {url[:200]} took longer than {self.timeout:g} s") from None
                except httpx.HTTPError as exc:
                    raise APIError(400, f"cannot fetch image {url[:200]}: {exc.__class__.__name__}") from None
        raise APIError(400, f"image URL redirected more than {self.max_redirects} times")

    def _too_big(self, url: str) -> APIError:
        return APIError(400, f"image {url[:200]} is larger than the {self.max_bytes / 2**20:.0f} MiB URL-fetch limit")

    async def _check(self, url: str) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise APIError(400, f"image URLs must be http(s) with a host, got {url[:200]!r}")
        host = parsed.hostname
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            raise APIError(400, f"image URL {url[:200]!r} has an invalid port") from None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise APIError(400, f"cannot resolve the host of image URL {url[:200]}") from None
        addresses = {info[4][0] for info in infos}
        bad = sorted(a for a in addresses if not self.allow_address(a))
        if bad or not addresses:
            raise APIError(400, f"image URL {url[:200]} points at a non-public address ({', '.join(bad)}); the server "
                           "fetches only public http(s) URLs — send the image as a data URL instead")
