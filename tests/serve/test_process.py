"""The `vlkit serve` process itself: Ctrl-C / SIGTERM while busy, a port in use, a missing --index, and the
temporary index it names when started without one."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import API_KEY, MODEL_NAME, Server, free_port, start_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

VLKIT = str(Path(sys.executable).parent / "vlkit")


def _flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def _temporary_index(server: Server) -> Path:
    found = re.search(r"a temporary index at (\S+)", _flat(server.log.read_text(errors="replace")))
    assert found, server.log.read_text(errors="replace")
    return Path(found.group(1))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_on_a_busy_server_cancels_the_generation_and_exits_0(tmp_path: Path, sig: int) -> None:
    server = start_server(tmp_path)  # the UI mounted, as `vlkit serve` runs by default
    try:
        scratch = _temporary_index(server)
        assert scratch.is_dir()
        body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "tell a very long story"}],
                "max_tokens": 4000, "stream": True}  # fmt: skip
        with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body, timeout=60) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            content = 0
            while content < 5:  # the generation is running
                content += '"content"' in next(lines)
            server.process.send_signal(sig)
            signalled = time.monotonic()
            rest = [line for line in lines if line]
        rc = server.process.wait(timeout=30)
        elapsed = time.monotonic() - signalled
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    log = server.log.read_text(errors="replace")
    assert rc == 0, log[-3000:]
    assert elapsed < 15, f"the server took {elapsed:.1f} s to stop"  # a hang, not a speed: it stops in ~2 s
    for crash in ("Traceback", "Exception in ASGI application", "terminate called", "timeout graceful shutdown"):
        assert crash not in log, log[-3000:]
    assert "generation cancelled after" in log and "shutting down" in log
    error = json.loads(rest[-2].removeprefix("data: "))["error"]  # the stream ends with a 503 event, then [DONE]
    assert rest[-1] == "data: [DONE]" and error["code"] == 503 and "shutting down" in error["message"]
    assert not scratch.exists()  # the temporary index went with the server


def test_a_port_in_use_is_refused_before_the_model_loads() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([VLKIT, "serve", "--tiny", "qwen2_vl", "--port", str(port)],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
    message = _flat(result.stderr)
    assert result.returncode == 2, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in message and "--port" in message
    try:
        import psutil  # noqa: F401
    except ImportError:
        pass
    else:
        assert f"by process {os.getpid()}" in message  # who holds it
    assert "Traceback" not in result.stderr
    for later in ("tiny random", "Loading weights", "serving"):  # nothing was built, loaded or announced
        assert later not in result.stderr + result.stdout


def test_a_missing_index_is_refused_like_kb_search(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "kb"
    result = subprocess.run([VLKIT, "serve", "--tiny", "qwen2_vl", "--port", str(free_port()), "--index", str(typo)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    message = _flat(result.stderr)
    assert result.returncode == 2, result.stderr
    assert f"no index at {typo}" in message and "vlkit kb add" in message
    assert not typo.exists() and "Traceback" not in result.stderr
    assert "Loading weights" not in result.stderr and "serving" not in result.stderr


def test_without_index_the_server_names_its_temporary_index_and_the_kb_routes_use_it(server: Server) -> None:
    scratch = _temporary_index(server)
    assert scratch.is_dir()
    auth = {"Authorization": f"Bearer {API_KEY}"}
    found = httpx.post(f"{server.base_url}/kb/search", json={"query": "backups"}, headers=auth, timeout=120)
    assert found.status_code == 200 and found.json()["data"] == []  # empty until the UI adds documents
    answer = httpx.post(f"{server.base_url}/kb/ask", json={"question": "How often do backups run?"}, headers=auth,
                        timeout=120).json()  # fmt: skip
    assert answer["found"] is False and answer["answer"] and answer["usage"]["completion_tokens"] == 0
    assert (scratch / "manifest.sqlite").is_file()  # the routes opened the folder the log named
