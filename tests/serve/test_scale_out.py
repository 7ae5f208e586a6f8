"""Scale-out as far as one machine allows: two `vlkit serve` processes behind a client-side round-robin."""

from __future__ import annotations

import concurrent.futures
import itertools
from pathlib import Path

import openai
import pytest

from tests.serve.conftest import MODEL_NAME, start_server, stop_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_round_robin_over_two_servers_uses_both(tmp_path: Path) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # both start at once
        servers = list(pool.map(lambda _: start_server(tmp_path, "--no-ui", "--max-tokens", "3"), range(2)))
    try:
        clients = [openai.OpenAI(base_url=s.base_url, api_key="EMPTY", max_retries=0) for s in servers]
        before = [s.metric("vlkit_completion_tokens_total") for s in servers]
        ring = itertools.cycle(clients)
        answers = [next(ring).chat.completions.create(model=MODEL_NAME, messages=[{"role": "user", "content": f"q{i}"}])
                   for i in range(6)]  # fmt: skip
        assert all(a.choices[0].message.content is not None for a in answers)
        served = [s.metric("vlkit_completion_tokens_total") - b for s, b in zip(servers, before)]
        assert all(tokens >= 3 for tokens in served)  # each replica answered its three requests
        assert servers[0].url != servers[1].url
    finally:
        for s in servers:
            stop_server(s)
