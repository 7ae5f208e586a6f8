"""Issue 25.10: Ctrl-C during `vlkit kb add` is an interruption, not a page error, and says how to resume.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group, so the tesseract child dies of it
too; its exit status (-2) was logged as "tesseract failed (exit -2)" on the page being read, and the run
ended without saying that the next one resumes. The real thing: `vlkit kb add --reader tesseract` in its
own process group, on generated scanned pages, interrupted the way a terminal does it.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli.kb_helpers import VLKIT, run_vlkit

pytestmark = pytest.mark.usefixtures("shared_use")


def _tesseract_ready() -> bool:
    exe = shutil.which("tesseract")
    if exe is None:
        return False
    listed = subprocess.run([exe, "--list-langs"], capture_output=True, text=True).stdout.split()
    return {"eng", "chi_sim"} <= set(listed)


def scanned_pdf(path: Path, pages: int) -> Path:
    """An image-only PDF (no text layer): each page a picture of 30 lines of typed text."""
    import pymupdf
    from PIL import Image, ImageDraw, ImageFont

    doc = pymupdf.open()
    font = ImageFont.load_default(size=28)
    for number in range(1, pages + 1):
        image = Image.new("L", (1240, 1754), 255)
        draw = ImageDraw.Draw(image)
        for line in range(30):
            draw.text((100, 100 + 50 * line), f"Page {number} line {line}: the keeper logs every ship.", fill=0,
                      font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        page = doc.new_page(width=595, height=842)
        page.insert_image(page.rect, stream=buffer.getvalue())
    doc.save(path)
    doc.close()
    return path


def _children_named(name: str, group: int) -> set[int]:
    """Processes called ``name`` in process group ``group`` (read from /proc: no psutil needed)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == name and int(stat[stat.rindex(")") + 2:].split()[2]) == group:
            found.add(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not _tesseract_ready() or not sys.platform.startswith("linux"),
                    reason="needs Linux and tesseract with eng + chi_sim (apt-get install tesseract-ocr "
                           "tesseract-ocr-chi-sim)")
def test_ctrl_c_during_kb_add_is_an_interruption_and_the_rerun_resumes(tmp_path):
    pdf = scanned_pdf(tmp_path / "scans.pdf", pages=6)
    index = tmp_path / "kb"
    argv = [VLKIT] if VLKIT else [sys.executable, "-m", "vlkit.cli"]
    proc = subprocess.Popen([*argv, "kb", "add", str(pdf), "--reader", "tesseract", "--index", str(index)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "COLUMNS": "200"})
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while len(seen) < 2 and time.monotonic() < deadline and proc.poll() is None:
        seen |= _children_named("tesseract", proc.pid)  # wait until OCR is under way (the second page)
        time.sleep(0.01)
    assert len(seen) >= 2, "tesseract never ran"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "tesseract failed" not in out + err and "Traceback" not in out + err, out + err
    assert "interrupted" in err and "run the same command again to resume" in err, err

    again = run_vlkit("kb", "add", pdf, "--reader", "tesseract", "--index", index)
    assert again.code == 0 and "1 resumed" in again.out, again.output
    listed = run_vlkit("kb", "list", "--index", index)
    assert listed.code == 0 and "complete" in listed.out and "pending" not in listed.out, listed.output


def _fake_tesseract(folder: Path, dies_of: signal.Signals) -> str:
    """A `tesseract` that lists its languages, then dies of ``dies_of`` when asked to read a page."""
    script = folder / "tesseract"
    script.write_text(f"#!/bin/sh\nif [ \"$1\" = --list-langs ]; then printf 'List\\neng\\nchi_sim\\n'; exit 0; fi\n"
                      f"cat > /dev/null\nkill -{dies_of.name[3:]} $$\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("dies_of, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGKILL, "DocumentError")])
def test_a_signal_killed_tesseract(tmp_path, dies_of, raised):
    from vlkit.documents import SourcePage, TesseractReader
    from vlkit.errors import DocumentError

    reader = TesseractReader(binary=_fake_tesseract(tmp_path, dies_of))
    page = SourcePage(3, np.full((40, 60, 3), 255, dtype=np.uint8))
    expected = KeyboardInterrupt if raised is KeyboardInterrupt else DocumentError
    with pytest.raises(expected) as caught:
        reader.read(page)
    if expected is DocumentError:  # any other signal is a page error that names it, not "exit -9"
        assert "page 3: tesseract was killed by SIGKILL" in str(caught.value)
