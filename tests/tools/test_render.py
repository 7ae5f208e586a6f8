"""render_html: real headless Chromium, untrusted HTML contained, failures typed; live pages run JS."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vlkit.errors import RenderError, RenderTimeoutError, UserError
from vlkit.tools.render import MAX_RENDER_SIDE, ChromiumWorker, chromium_launch_options, live_page, render_html

pytestmark = pytest.mark.browser


def _red_share(img) -> float:
    a = np.asarray(img).astype(int)
    red = (a[..., 0] > 200) & (a[..., 1] < 60) & (a[..., 2] < 60)
    return float(red.mean())


def test_launch_options_use_debian_chromium_and_container_flags() -> None:
    opts = chromium_launch_options()
    assert opts["headless"] is True
    for flag in ("--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"):
        assert flag in opts["args"]


def test_render_draws_the_html_at_the_asked_size(chromium) -> None:
    img = render_html(
        "<html><body style='margin:0;background:#3366cc'><h1 style='color:#fff'>Hello 你好</h1></body></html>",
        320,
        200,
    )
    assert img.size == (320, 200) and img.mode == "RGB"
    assert img.getpixel((300, 190)) == (0x33, 0x66, 0xCC)
    # the heading's white text is there
    assert (np.asarray(img) > 250).all(axis=2).any()


def test_full_page_captures_the_scroll_height_and_caps_it(chromium) -> None:
    tall = render_html("<body style='margin:0'><div style='height:1500px;background:#0f0'></div></body>", 200, 300, full_page=True)
    assert tall.size == (200, 1500)
    huge = render_html("<body style='margin:0'><div style='height:50000px'></div></body>", 100, 100, full_page=True)
    assert huge.size == (100, MAX_RENDER_SIDE)


def test_device_scale_factor_doubles_pixels(chromium) -> None:
    assert render_html("<p>x</p>", 100, 80, device_scale_factor=2).size == (200, 160)


def test_hostile_html_makes_zero_requests(chromium, counting_server, tmp_path) -> None:
    u = counting_server.url
    secret = tmp_path / "secret.html"
    secret.write_text("<body style='margin:0;background:#f00;height:2000px'>SECRET</body>")
    hostile = f"""<!doctype html><html><head>
      <meta http-equiv="refresh" content="0;url={u}/refresh">
      <link rel="stylesheet" href="{u}/link.css"><link rel="preload" as="image" href="{u}/preload.png">
      <link rel="prefetch" href="{u}/prefetch"><link rel="icon" href="{u}/favicon.ico">
      <style>@import url("{u}/import.css");
        body {{ background-image: url("{u}/bg.png"); }}
        @font-face {{ font-family: X; src: url("{u}/font.woff2"); }}
        p {{ font-family: X; }}</style>
      <script src="{u}/script.js"></script>
      <script>fetch("{u}/fetch"); new Image().src = "{u}/js-img";</script>
    </head><body>
      <p>hostile page</p>
      <img src="{u}/img.png"><img srcset="{u}/srcset.png 2x" src="{u}/src.png">
      <picture><source srcset="{u}/source.webp"><img src="{u}/pic.png"></picture>
      <iframe src="{u}/iframe" width="300" height="100"></iframe>
      <iframe src="file://{secret}" width="300" height="300"></iframe>
      <object data="{u}/object" width="50" height="50"></object><embed src="{u}/embed">
      <video poster="{u}/poster.png" src="{u}/video.mp4"></video><audio src="{u}/a.mp3" autoplay></audio>
      <form action="{u}/form" method="post"><input type="image" src="{u}/input.png"></form>
      <a href="{u}/ping" ping="{u}/ping2">link</a>
      <svg><image href="{u}/svg.png" width="10" height="10"/></svg>
    </body></html>"""
    img = render_html(hostile, 640, 900)
    # the page still rendered (its text), nothing reached the server, the file:// secret is not shown
    assert np.asarray(img).min() < 100
    assert counting_server.requests == [] and counting_server.connections == 0
    assert _red_share(img) == 0.0
    # a later render on the same reused page is not hijacked by the delayed refresh
    again = render_html("<body style='margin:0;background:#00f'></body>", 100, 100)
    assert again.getpixel((50, 50)) == (0, 0, 255)
    assert counting_server.requests == []


def test_data_uri_images_still_show(chromium) -> None:
    # 1x1 red PNG, stretched: self-contained images are part of the page, not a request
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    img = render_html(f"<body style='margin:0'><img src='data:image/png;base64,{png}' width=80 height=80></body>", 100, 100)
    assert _red_share(img) > 0.5


def test_javascript_is_off(chromium) -> None:
    img = render_html("<body style='margin:0;background:#fff'><script>document.body.style.background='#f00'</script></body>", 50, 50)
    assert img.getpixel((25, 25)) == (255, 255, 255)


def test_too_large_html_and_bad_sizes_are_user_errors() -> None:
    with pytest.raises(RenderError, match="limit"):
        render_html("x" * 101, 10, 10, max_html_bytes=100)
    with pytest.raises(RenderError, match="width"):
        render_html("<p>x</p>", 0, 10)
    with pytest.raises(UserError, match="height"):
        render_html("<p>x</p>", 10, MAX_RENDER_SIDE + 1)


def test_render_time_limit_is_a_typed_error(chromium) -> None:
    # a huge layout cannot finish in 1 ms; the error is typed and the worker keeps working afterwards
    with pytest.raises(RenderTimeoutError):
        render_html("<table>" + "<tr><td>cell</td><td>more</td></tr>" * 20000 + "</table>", 800, 600, timeout_s=0.001)
    assert render_html("<p>fine</p>", 60, 40).size == (60, 40)


def test_renders_from_many_threads_share_one_browser(chromium) -> None:
    results: dict[int, tuple[int, int, int]] = {}

    def work(i: int) -> None:
        colour = f"#{i * 40:02x}0000"
        results[i] = render_html(f"<body style='margin:0;background:{colour}'></body>", 40, 40).getpixel((20, 20))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: (i * 40, 0, 0) for i in range(4)}


def test_live_page_runs_javascript_and_reaches_loopback(chromium, counting_server) -> None:
    with live_page(counting_server.url + "/live", width=400, height=300) as page:
        assert page.run(lambda p: p.evaluate("1 + 2")) == 3
        assert page.run(lambda p: p.inner_text("body")) == "LEAKED"
        assert page.screenshot().size == (400, 300)
    assert counting_server.requests[0] == "/live"


def test_live_page_allow_blocks_what_it_rejects(chromium, counting_server) -> None:
    html = f"<img src='{counting_server.url}/blocked.png'><p>ok</p>"
    with live_page(None, width=200, height=100, allow=lambda url: "blocked" not in url) as page:
        page.run(lambda p: p.set_content(html))
        assert page.run(lambda p: p.inner_text("body")) == "ok"
    assert counting_server.requests == []


def test_a_closed_worker_refuses_jobs() -> None:
    worker = ChromiumWorker()
    worker.close()
    with pytest.raises(RenderError, match="closed"):
        render_html("<p>x</p>", 10, 10, worker=worker)


def test_without_playwright_the_error_names_the_extra(monkeypatch) -> None:
    import sys

    from vlkit.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails as if not installed
    worker = ChromiumWorker()
    try:
        with pytest.raises(MissingExtraError, match=r"vlkit\[web\]"):
            render_html("<p>x</p>", 10, 10, worker=worker)
    finally:
        worker.close()


def test_a_missing_browser_says_how_to_install_one(monkeypatch) -> None:
    from vlkit.errors import BrowserUnavailableError

    monkeypatch.setenv("VLKIT_CHROMIUM", "/nonexistent/chromium")
    worker = ChromiumWorker()
    try:
        with pytest.raises(BrowserUnavailableError, match="apt-get install chromium"):
            render_html("<p>x</p>", 10, 10, worker=worker)
    finally:
        worker.close()
