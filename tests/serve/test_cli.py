"""`vlkit serve --help` says what a user needs; without the extra, one line naming `vlkit[serve]`."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from typer.testing import CliRunner

from vlkit.cli import app


def test_help_lists_the_options_that_matter() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--model", "--tiny", "--api-key", "--max-concurrency", "--queue", "--index", "--allow-url-fetch",
                   "--max-body-mb", "--no-ui", "/v1/chat/completions"):  # fmt: skip
        assert option in result.output, option


def test_missing_serve_extra_is_one_line_naming_it() -> None:
    script = textwrap.dedent(
        """
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"uvicorn", "fastapi"}:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Block())
        sys.argv = ["vlkit", "serve", "--tiny", "qwen2_vl"]
        from vlkit.cli import main
        main()
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "vlkit[serve]" in result.stderr and "Traceback" not in result.stderr


def test_serve_package_imports_without_fastapi() -> None:
    script = "import sys; sys.modules['fastapi'] = None; import vlkit.serve, vlkit.serve.schemas; print(vlkit.serve.__all__)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and "create_app" in result.stdout, result.stderr
