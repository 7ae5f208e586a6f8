"""The README stays true: its Python example runs, and its first screen has the two commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:15])
    assert "bin/demo" in first_screen and "bin/test" in first_screen
    assert (ROOT / "bin/demo").is_file() and (ROOT / "bin/test").is_file()
    assert "bin/test" in (ROOT / ".ci/run").read_text()


def test_python_example_runs() -> None:
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    result = subprocess.run(
        [sys.executable, "-c", example], cwd=ROOT, capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr
    assert "input_tokens" in result.stdout
