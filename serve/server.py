"""The server process: claim the port before anything loads, run uvicorn, stop cleanly on Ctrl-C / SIGTERM.

``listen(host, port)`` binds the socket first, so a port in use is a :class:`~vlkit.errors.UserError`
before the model loads (and ``--port 0`` serves on the free port it picked, which the caller can print).
``run(app, sock, runner)`` serves on it; the first SIGINT or SIGTERM refuses new and queued requests and
cancels the running generations, so their responses end at once (a stream ends with a 503 error event)
and uvicorn's graceful shutdown has nothing left to wait for. It returns normally: exit status 0.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
from typing import Any

from vlkit.errors import UserError
from vlkit.extras import require
from vlkit.serve.runner import Runner

__all__ = ["listen", "run"]

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0
"""How long shutdown waits for responses to end once their generations were cancelled (they end within a
token; this bounds a client that does not read)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or a :class:`UserError` saying who holds the port and
    how to pick another (``--port``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart right after a stop
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _bind_error(host, port, exc) from None
    sock.set_inheritable(True)
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> UserError:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return UserError(f"port {port} on {host} is already in use{_holder(port)}; stop that process or pass "
                         "another --port (--port 0 picks a free one)")  # fmt: skip
    if exc.errno == errno.EACCES:
        return UserError(f"not allowed to listen on {where} (ports below 1024 need privileges); pass --port 8000 "
                         "or another port above 1023")  # fmt: skip
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return UserError(f"cannot listen on {where}: {host} is not an address of this machine; pass --host "
                         "127.0.0.1 (this machine only) or 0.0.0.0 (every interface)")  # fmt: skip
    return UserError(f"cannot listen on {where}: {exc.strerror or exc}; pass another --host or --port")


def _holder(port: int) -> str:
    """`` by process PID (command)`` when psutil can tell who listens on ``port``, else nothing."""
    try:
        import psutil
    except ImportError:
        return ""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                command = " ".join(psutil.Process(conn.pid).cmdline()[:4])
                return f" by process {conn.pid}" + (f" ({command})" if command else "")
    except (psutil.Error, OSError):  # not allowed to look (another user's process, macOS without root)
        pass
    return ""


def run(app: Any, sock: socket.socket, runner: Runner, *, log_level: str = "warning") -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM; then stop cleanly and return.

    A second SIGINT forces the exit without waiting for open responses."""
    uvicorn = require("uvicorn", "serve", "vlkit serve")

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # uvicorn would record the signal and re-raise it after its shutdown (exit status 130/143, and a
            # KeyboardInterrupt inside the event loop); vlkit stops here and returns instead.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            cancelled = runner.close()
            if cancelled:
                log.info("shutting down: cancelling %d running generation(s)", cancelled)

        async def shutdown(self, sockets: Any = None) -> None:
            runner.close()  # also when stopped by should_exit rather than a signal
            await super().shutdown(sockets)

    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=int(GRACE_SECONDS))
    Server(config).run(sockets=[sock])
