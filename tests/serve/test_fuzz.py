"""Malformed and hostile bodies (wrong types, huge numbers, bad base64, image bombs, deep JSON, odd unicode,
SSRF URLs, deep tool schemas): zero 500s, every 4xx an error object, and the server still answers."""

from __future__ import annotations

import collections

import httpx
import pytest

from tests.serve.conftest import API_KEY, MODEL_NAME, Server
from tests.serve.fuzz_bodies import bodies

pytestmark = [pytest.mark.slow]


def _check(response: httpx.Response, body: bytes, statuses: collections.Counter) -> None:
    statuses[response.status_code] += 1
    assert response.status_code < 500, (response.status_code, response.text[:500], body[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] == response.status_code and error["message"]


async def test_fuzz_1000_bodies_in_process(asgi_app: object) -> None:
    statuses: collections.Counter = collections.Counter()
    transport = httpx.ASGITransport(app=asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
        for body in bodies(seed=1, count=1000):
            response = await client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
            _check(response, body, statuses)
        ok = await client.post("/v1/chat/completions", json={"model": MODEL_NAME, "max_tokens": 2,
                                                             "messages": [{"role": "user", "content": "still there?"}]})
        assert ok.status_code == 200 and ok.json()["choices"][0]["finish_reason"] in ("stop", "length")
    assert statuses[400] > 750  # nearly all are refused; a few mutations are still valid requests


@pytest.mark.server
def test_fuzz_300_bodies_against_the_real_process(server: Server) -> None:
    statuses: collections.Counter = collections.Counter()
    headers = {"Authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        for body in bodies(seed=2, count=300):
            _check(client.post("/chat/completions", content=body), body, statuses)
        assert client.get("/models").status_code == 200
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    assert statuses[400] > 200
