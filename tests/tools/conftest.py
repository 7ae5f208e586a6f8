"""Shared browser fixtures for the tool tests: one Chromium per test session, a counting loopback server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture(scope="session")
def chromium():
    """The process-wide :class:`ChromiumWorker` (started once; every render in the session reuses it)."""
    from vlkit.tools.render import default_worker, render_html

    worker = default_worker()
    render_html("<p>warm-up</p>", 64, 64, worker=worker)  # launch now, not inside the first timed test
    yield worker


@dataclass
class CountingServer:
    """An HTTP server on 127.0.0.1 that counts every connection and request it receives."""

    url: str
    requests: list[str] = field(default_factory=list)
    connections: int = 0


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    """A loopback server answering 200 to anything; ``.requests`` lists the paths asked for."""
    record = CountingServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def setup(self) -> None:
            record.connections += 1
            super().setup()

        def do_GET(self) -> None:  # noqa: N802 — http.server's naming
            record.requests.append(self.path)
            body = b"<html><body style='background:#f00'>LEAKED</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
