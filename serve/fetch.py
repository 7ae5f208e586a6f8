"""Image and video URLs fetched for clients (``--allow-url-fetch``): :func:`vlkit.vision.fetch.afetch` — public
addresses only, every redirect hop checked, size and time limited — with its errors as HTTP 400s.
"""

from __future__ import annotations

from vlkit.errors import UserError, said_on
from vlkit.serve.schemas import APIError
from vlkit.vision.fetch import AddressPolicy, afetch, is_public_address

__all__ = ["UrlFetcher"]


class UrlFetcher:
    """Downloads one image (or video) URL under the server's limits; every refusal is an :class:`APIError` 400."""

    def __init__(self, *, max_bytes: int, timeout: float, max_redirects: int = 3,
                 allow_address: AddressPolicy = is_public_address) -> None:  # fmt: skip
        self.max_bytes, self.timeout, self.max_redirects = max_bytes, timeout, max_redirects
        self.allow_address = allow_address

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """The body of ``url``, at most ``max_bytes`` (default: the image limit; a video passes its own)."""
        try:
            fetched = await afetch(url, max_bytes=max_bytes or self.max_bytes, timeout=self.timeout,
                                   max_redirects=self.max_redirects, allow_address=self.allow_address)  # fmt: skip
        except UserError as exc:
            raise APIError(400, said_on(exc, "http")) from None
        return fetched.data
