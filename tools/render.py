"""Headless Chromium through Playwright: untrusted HTML → picture, and live pages for GUI tools.

One browser per process, owned by one worker thread. Playwright's sync API is bound to the thread that
started it, so every browser call is a job submitted to :class:`ChromiumWorker` and run on its thread;
callers on any thread (the CLI, a server's thread pool, pytest) just wait for the result. Launching
Chromium costs far more than a render in the warm browser (``benchmarks/bench_html.py``), so the browser
stays up.

Two ways in:

* :func:`render_html` — **untrusted** HTML (model output): JavaScript off, every request except the
  document itself aborted (network, ``file://``, ``data:`` sub-resources, navigations such as meta
  refresh), an HTML size limit and a render time limit. Failures are :class:`~vlkit.errors.RenderError`.
* :func:`live_page` — a **real** page at a URL with JavaScript on, for the GUI executor and the agent's
  browser tools. The page object lives on the worker thread; drive it with ``page.run(fn)``::

      with live_page("http://127.0.0.1:8000/", width=1280, height=800) as page:
          page.run(lambda p: p.click("text=Sign in"))
          shot = page.screenshot()          # PIL.Image

  ``allow`` (a predicate on the request URL) blocks what it rejects; by default everything is allowed.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any, TypeVar

from PIL import Image

from vlkit.errors import BrowserUnavailableError, RenderError, RenderTimeoutError, VlkitError
from vlkit.extras import require

__all__ = [
    "CHROMIUM_ARGS",
    "LAUNCH_TIMEOUT_S",
    "MAX_HTML_BYTES",
    "MAX_RENDER_SIDE",
    "ChromiumWorker",
    "LivePage",
    "chromium_launch_options",
    "default_worker",
    "live_page",
    "check_html",
    "render_html",
    "render_untrusted",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in containers/CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--dns-prefetch-disable",  # untrusted <link rel=dns-prefetch> must not leak lookups
]
MAX_HTML_BYTES = 2_000_000
"""Larger HTML is refused before it reaches the browser (a generated page is a few tens of kB)."""
MAX_RENDER_SIDE = 8192
"""Largest viewport width/height (and full-page height) rendered, in CSS pixels."""
LAUNCH_TIMEOUT_S = 120.0
"""Chromium gets this long to start (seconds): far more than an idle machine needs, for a loaded CI box."""
QUEUE_TIMEOUT_S = 300.0
"""Longest wait for earlier jobs and the launch before a job starts (its own limit is separate)."""
DEBIAN_CHROMIUM = "/usr/bin/chromium"
_DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, every connection is refused


def chromium_launch_options(headless: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``playwright.chromium.launch``.

    Uses Playwright's own Chromium when it is installed, else Debian's ``/usr/bin/chromium`` (Playwright
    cannot download its browser in offline builds); ``VLKIT_CHROMIUM`` overrides both.
    """
    opts: dict[str, Any] = {"headless": headless, "args": list(CHROMIUM_ARGS)}
    override = os.environ.get("VLKIT_CHROMIUM")
    if override:
        opts["executable_path"] = override
        return opts
    if not _playwright_browser_installed() and os.path.exists(DEBIAN_CHROMIUM):
        opts["executable_path"] = DEBIAN_CHROMIUM
    return opts


def _playwright_browser_installed() -> bool:
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser("~/.cache/ms-playwright")
    try:
        return any(name.startswith(("chromium-", "chromium_headless_shell-")) for name in os.listdir(root))
    except OSError:
        return False


class ChromiumWorker:
    """A thread that owns one Playwright + Chromium and runs submitted jobs on it, one at a time.

    The browser starts on the first job and is relaunched if it crashed. ``submit(fn)`` runs
    ``fn(browser)`` on the worker thread and returns its result (exceptions propagate).
    """

    def __init__(self, name: str = "vlkit-chromium") -> None:
        self._jobs: queue.Queue[tuple[Callable[[Any], Any], Future, threading.Event] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False
        self._closed = False
        self._lock = threading.Lock()
        self.state: dict[Any, Any] = {}
        """Per-browser objects kept between jobs (reused pages); touched only on the worker thread."""

    def submit(self, fn: Callable[[Any], T], timeout_s: float = 60.0, queue_timeout_s: float = QUEUE_TIMEOUT_S) -> T:
        """Run ``fn(browser)`` on the worker thread; :class:`RenderTimeoutError` after ``timeout_s``.

        ``timeout_s`` counts from when the job starts running; waiting for earlier jobs and for the
        browser to launch is bounded separately by ``queue_timeout_s``.
        """
        if threading.current_thread() is self._thread:  # a job submitting a job would deadlock
            return fn(self._ensure_browser())
        future: Future = Future()
        started = threading.Event()
        with self._lock:
            if self._closed:
                raise RenderError("the browser worker is closed; create a new ChromiumWorker")
            if not self._started:
                self._thread.start()
                self._started = True
            self._jobs.put((fn, future, started))
        if not started.wait(queue_timeout_s) and not future.done():
            future.cancel()
            raise RenderTimeoutError(
                f"the browser was busy or starting for over {queue_timeout_s:.0f} s; try again when the machine is less loaded"
            )
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout:
            # the job keeps the thread; abandon this worker so later jobs get a fresh one
            self._abandon()
            raise RenderTimeoutError(
                f"the browser did not answer within {timeout_s:.0f} s; simplify the page or raise timeout_s"
            ) from None

    def close(self, timeout_s: float = 10.0) -> None:
        """Close the browser and stop the thread (jobs already queued still run)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            started = self._started
        if started:
            self._jobs.put(None)
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return not self._closed

    def _abandon(self) -> None:
        global _DEFAULT
        with self._lock:
            self._closed = True
        self._jobs.put(None)
        with _DEFAULT_LOCK:
            if _DEFAULT is self:
                _DEFAULT = None

    def _loop(self) -> None:
        self._pw = None
        self._browser = None
        try:
            while True:
                item = self._jobs.get()
                if item is None:
                    break
                fn, future, started = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    browser = self._ensure_browser()  # a launch is not part of the job's time limit
                    started.set()
                    future.set_result(fn(browser))
                except BaseException as exc:  # noqa: BLE001 — handed to the waiting caller
                    future.set_exception(exc)
                finally:
                    started.set()
        finally:
            for closer in (getattr(self._browser, "close", None), getattr(self._pw, "stop", None)):
                if closer is not None:
                    try:
                        closer()
                    except Exception:  # noqa: BLE001 — best effort at shutdown
                        logger.debug("closing the browser failed", exc_info=True)

    def _ensure_browser(self) -> Any:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        sync_api = require("playwright.sync_api", "web", "rendering HTML in headless Chromium")
        if self._pw is None:
            self._pw = sync_api.sync_playwright().start()
        opts = chromium_launch_options()
        try:
            self.state = {}
            self._browser = self._pw.chromium.launch(**opts, timeout=LAUNCH_TIMEOUT_S * 1000)
        except Exception as exc:
            raise BrowserUnavailableError(
                f"Chromium could not be started ({str(exc).splitlines()[0]}); install it with "
                "'apt-get install chromium' or 'playwright install chromium', or set VLKIT_CHROMIUM to its path"
            ) from None
        logger.info("launched Chromium %s", self._browser.version)
        return self._browser


_DEFAULT: ChromiumWorker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_worker() -> ChromiumWorker:
    """The process-wide worker (one browser reused by every render and live page)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or not _DEFAULT.alive:
            _DEFAULT = ChromiumWorker()
        return _DEFAULT


@atexit.register
def _close_default() -> None:
    worker = _DEFAULT
    if worker is not None:
        worker.close(timeout_s=5.0)


def _check_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not 1 <= int(value) <= MAX_RENDER_SIDE:
            raise RenderError(f"render {name} {value} is outside 1..{MAX_RENDER_SIDE} CSS pixels; pass a smaller size")


def _untrusted_route(route: Any) -> None:
    # A navigation (meta refresh, link target, iframe src) gets "204 No Content", which Chromium treats
    # as "stay on the current document"; aborting it would replace the page with an error page.
    # Every sub-resource is aborted. file:// is refused by Chromium itself (the document is about:blank).
    if route.request.is_navigation_request():
        route.fulfill(status=204)
    else:
        route.abort("blockedbyclient")


def _untrusted_page(worker: ChromiumWorker, browser: Any, device_scale_factor: float) -> Any:
    """The reused JS-off page for untrusted renders (a new page per render costs several times a reused
    page's render: ``benchmarks/README.md``)."""
    key = ("untrusted", device_scale_factor)
    page = worker.state.get(key)
    if page is None or page.is_closed():
        context = browser.new_context(
            device_scale_factor=device_scale_factor,
            java_script_enabled=False,
            service_workers="block",
            accept_downloads=False,
            # belt and braces: <link rel=prefetch> is fetched by the browser process, past route
            # interception; a dead proxy with no bypass (not even loopback) leaves it nowhere to go
            proxy={"server": _DEAD_PROXY, "bypass": "<-loopback>"},
        )
        context.route("**/*", _untrusted_route)
        page = worker.state[key] = context.new_page()
    return page


def check_html(html: str, width: int, height: int, max_html_bytes: int = MAX_HTML_BYTES) -> None:
    """Refuse a render before the browser starts: HTML over ``max_html_bytes`` or a viewport out of bounds
    (:class:`RenderError`). Every function that renders untrusted HTML calls this first."""
    size = len(html.encode("utf-8", "replace"))
    if size > max_html_bytes:
        raise RenderError(
            f"the HTML is {size:,} bytes, over the {max_html_bytes:,}-byte limit; shorten it or raise max_html_bytes"
        )
    _check_size(width, height)


def render_untrusted(
    html: str,
    width: int,
    height: int,
    capture: Callable[[Any, float], T],
    *,
    device_scale_factor: float = 1,
    timeout_s: float = 15.0,
    max_html_bytes: int = MAX_HTML_BYTES,
    worker: ChromiumWorker | None = None,
) -> T:
    """Load untrusted ``html`` into the reused JS-off page (no request leaves it) and return
    ``capture(playwright_page, timeout_ms)``, run on the browser thread. The one path for every render of
    untrusted HTML: the size checks, the page set-up, discarding a page left in an unknown state, and the
    typed errors (:class:`RenderError`, :class:`RenderTimeoutError`; never hangs past ``timeout_s`` + 10 s)."""
    check_html(html, width, height, max_html_bytes)
    timeout_ms = max(1.0, timeout_s * 1000)
    worker = worker or default_worker()

    def job(browser: Any) -> T:
        page = _untrusted_page(worker, browser, device_scale_factor)
        try:
            page.set_viewport_size({"width": int(width), "height": int(height)})
            page.set_content(html, wait_until="load", timeout=timeout_ms)
            return capture(page, timeout_ms)
        except BaseException:
            # a page in an unknown state is not reused
            worker.state.pop(("untrusted", device_scale_factor), None)
            try:
                page.context.close()
            except Exception:  # noqa: BLE001
                logger.debug("closing a failed render context failed", exc_info=True)
            raise

    try:
        return worker.submit(job, timeout_s=timeout_s + 10.0)
    except VlkitError:  # RenderError, BrowserUnavailableError, MissingExtraError: already typed
        raise
    except Exception as exc:
        if "Timeout" in type(exc).__name__:
            raise RenderTimeoutError(
                f"rendering took longer than {timeout_s:.0f} s; simplify the page or raise timeout_s"
            ) from None
        raise RenderError(f"Chromium could not render the HTML: {str(exc).splitlines()[0]}") from None


def render_html(
    html: str,
    width: int = 1280,
    height: int = 800,
    *,
    full_page: bool = False,
    device_scale_factor: float = 1,
    timeout_s: float = 15.0,
    max_html_bytes: int = MAX_HTML_BYTES,
    worker: ChromiumWorker | None = None,
) -> Image.Image:
    """Render untrusted ``html`` in a ``width``×``height`` viewport and return the screenshot (RGB).

    JavaScript is off and no request leaves the page: the document is loaded with ``set_content`` into
    a reused JS-off page and every request it makes (images, CSS, fonts, iframes, meta refresh) is
    intercepted and refused (``file://`` Chromium refuses itself), so broken resources simply do not
    appear; ``data:`` images still show. ``full_page`` captures the whole scroll height
    (capped at :data:`MAX_RENDER_SIDE`). Raises :class:`RenderError` (too large, bad size, browser
    failure) or :class:`RenderTimeoutError`, never hangs past ``timeout_s`` (plus a 10 s backstop).

    Example:
        ```python
        img = render_html("<h1>Hello</h1>", 640, 480)
        ```
    """
    def capture(page: Any, timeout_ms: float) -> bytes:
        clip = None
        if full_page:
            # JS is off, so ask the compositor (CDP) how tall the page is; cap huge pages
            cdp = page.context.new_cdp_session(page)
            content = cdp.send("Page.getLayoutMetrics")["cssContentSize"]
            cdp.detach()
            if content["height"] > MAX_RENDER_SIDE:
                clip = {"x": 0, "y": 0, "width": int(width), "height": MAX_RENDER_SIDE}
        return page.screenshot(type="png", full_page=full_page, timeout=timeout_ms, animations="disabled", clip=clip)

    png = render_untrusted(
        html, width, height, capture, device_scale_factor=device_scale_factor, timeout_s=timeout_s,
        max_html_bytes=max_html_bytes, worker=worker,
    )
    return Image.open(io.BytesIO(png)).convert("RGB")


class LivePage:
    """A Playwright page with JavaScript on, owned by the worker thread; use :meth:`run` to drive it."""

    def __init__(self, worker: ChromiumWorker, page: Any, context: Any, timeout_s: float) -> None:
        self._worker = worker
        self._page = page
        self._context = context
        self.timeout_s = timeout_s

    def run(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(playwright_page)`` on the browser thread and return its result."""
        return self._worker.submit(lambda _b: fn(self._page), timeout_s=self.timeout_s)

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.run(lambda p: p.goto(url, wait_until="load"))

    def screenshot(self, full_page: bool = False) -> Image.Image:
        """The current viewport (or whole page) as an RGB PIL image."""
        png = self.run(lambda p: p.screenshot(type="png", full_page=full_page))
        return Image.open(io.BytesIO(png)).convert("RGB")

    @property
    def url(self) -> str:
        return self.run(lambda p: p.url)

    def close(self) -> None:
        """Close the page's browser context (idempotent)."""
        if self._context is not None:
            context, self._context = self._context, None
            self._worker.submit(lambda _b: context.close(), timeout_s=self.timeout_s)


@contextmanager
def live_page(
    url: str | None = None,
    *,
    width: int = 1280,
    height: int = 800,
    javascript: bool = True,
    allow: Callable[[str], bool] | None = None,
    timeout_s: float = 30.0,
    worker: ChromiumWorker | None = None,
) -> Iterator[LivePage]:
    """Open a real page (own browser context) at ``url``; closed when the ``with`` block ends.

    ``allow(url) -> bool`` decides which requests may go out (``None``: all). Each call of
    :meth:`LivePage.run` is bounded by ``timeout_s``.
    """
    _check_size(width, height)
    worker = worker or default_worker()

    def open_job(browser: Any) -> tuple[Any, Any]:
        context = browser.new_context(
            viewport={"width": int(width), "height": int(height)}, java_script_enabled=javascript
        )
        context.set_default_timeout(timeout_s * 1000)
        if allow is not None:
            context.route("**/*", lambda r: r.continue_() if allow(r.request.url) else r.abort("blockedbyclient"))
        return context, context.new_page()

    context, page = worker.submit(open_job, timeout_s=timeout_s)
    live = LivePage(worker, page, context, timeout_s)
    try:
        if url is not None:
            live.goto(url)
        yield live
    finally:
        live.close()
