"""A client that disconnects mid-stream cancels its generation (seen in /metrics and the server log)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.serve.conftest import API_KEY, MODEL_NAME, Server

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_disconnect_mid_stream_stops_the_generation(server: Server) -> None:
    cancelled = server.metric("vlkit_generations_cancelled_total")
    generated = server.metric("vlkit_completion_tokens_total")
    body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "tell a very long story"}],
            "max_tokens": 3500, "stream": True}  # fmt: skip
    with httpx.Client(timeout=60) as client:
        with client.stream("POST", f"{server.base_url}/chat/completions", json=body,
                           headers={"Authorization": f"Bearer {API_KEY}"}) as response:  # fmt: skip
            assert response.status_code == 200
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(6)]  # role chunk, then a few tokens
            assert any('"content"' in line for line in seen)
        # leaving the block closes the connection with the answer unfinished
    deadline = time.monotonic() + 60
    while server.metric("vlkit_generations_cancelled_total") == cancelled and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.metric("vlkit_generations_cancelled_total") == cancelled + 1
    assert server.metric("vlkit_active_generations") == 0
    assert server.metric("vlkit_completion_tokens_total") - generated < 3500  # stopped early, not run to the end
    assert "generation cancelled after" in server.log.read_text(errors="replace")
