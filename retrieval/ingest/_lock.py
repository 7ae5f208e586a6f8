"""One writer per index: an advisory lock on ``<index>/ingest.lock`` held while adding or removing.

Two ``kb add`` of the same folder at once would read every page twice and end with the same index.
So the second writer **waits** for the first, with a message naming it, and then finds most files
unchanged; ``timeout`` turns the wait into an
:class:`~vlkit.errors.IndexBusyError`. Readers (search, QA, ``kb list``) never take the lock.

``flock`` locks belong to the open file, so the OS releases the lock when the holder dies, even by
SIGKILL: a crashed ingest never leaves the index locked. (POSIX only; elsewhere there is no lock.)
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from vlkit.errors import IndexBusyError

__all__ = ["IngestLock"]

logger = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_POLL_S = 0.2


class IngestLock:
    """``with IngestLock(path): ...`` — exclusive across processes (and across instances in one process).

    Args:
        path: the lock file (created if missing).
        timeout: seconds to wait for another writer; ``None`` waits as long as it takes, ``0`` not at all.
        on_wait: called once with a message when the lock is held elsewhere (default: a log warning).
    """

    def __init__(self, path: Path, *, timeout: float | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.timeout = timeout
        self.on_wait = on_wait
        self.waited_s = 0.0
        self._fd: int | None = None

    def holder(self) -> str | None:
        """Who holds the lock (``pid N on HOST since HH:MM:SS``), or ``None`` when it is free."""
        if fcntl is None:
            return None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return self._describe(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def acquire(self) -> None:
        if fcntl is None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        started = time.monotonic()
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                waited = time.monotonic() - started
                who = self._describe(fd)
                if self.timeout is not None and waited >= self.timeout:
                    raise IndexBusyError(
                        f"the index {self.path.parent} is being written by another process ({who}); "
                        "wait for it to finish and run again"
                    )
                if not told:
                    message = (f"the index {self.path.parent} is being written by another process ({who}); "
                               "waiting for it to finish")
                    (self.on_wait or logger.warning)(message)
                    told = True
                time.sleep(_POLL_S)
        except BaseException:
            os.close(fd)
            raise
        self.waited_s = time.monotonic() - started if told else 0.0
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def try_acquire(self) -> bool:
        """Take the lock if it is free now; ``False`` (and no wait, no message) when it is not."""
        saved = self.timeout, self.on_wait
        self.timeout, self.on_wait = 0.0, lambda _: None
        try:
            self.acquire()
            return True
        except IndexBusyError:
            return False
        finally:
            self.timeout, self.on_wait = saved

    @staticmethod
    def _describe(fd: int) -> str:
        try:
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        except OSError:
            text = ""
        return text or "another process"

    def __enter__(self) -> IngestLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
