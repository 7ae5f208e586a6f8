"""The layer contracts (pyproject.toml [tool.importlinter]) hold, and each one fails when broken.

``bin/lint-imports`` copies the tree into the layout it installs as and runs import-linter on it; these
tests do the same and then add a throwaway module that breaks one contract at a time.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("importlinter", reason="import-linter is in the test extra")


def _lint_module():
    loader = importlib.machinery.SourceFileLoader("vlkit_lint_imports", str(ROOT / "bin" / "lint-imports"))
    spec = importlib.util.spec_from_loader("vlkit_lint_imports", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


lint = _lint_module()

CONTRACTS = {
    "floors": "Floors: nothing imports upward",
    "tools-without-retrieval": "The html, invoice and GUI tools do not import retrieval",
    "cli-serve-on-top": "Nothing imports vlkit.cli or vlkit.serve",
    "backends-behind-models": "Backends are imported only by vlkit.models",
}


def _status(output: str) -> dict[str, str]:
    found = {}
    for key, name in CONTRACTS.items():
        for line in output.splitlines():
            if line.startswith(name + " "):
                found[key] = line.rsplit(" ", 1)[1]
    return found


def test_contracts_hold(tmp_path):
    result = lint.run(lint.stage(tmp_path), [])
    assert _status(result.stdout) == {key: "KEPT" for key in CONTRACTS}, result.stdout + result.stderr
    assert result.returncode == 0


# (folder of the throwaway module inside the staged vlkit/, the import that breaks the contract)
BREAKS = {
    "floors": ("vision", "import vlkit.models"),
    "tools-without-retrieval": ("tools/invoice", "import vlkit.retrieval"),
    "cli-serve-on-top": ("agents", "import vlkit.serve"),
    "backends-behind-models": ("agents", "import vlkit.models.backends.base"),
}


@pytest.mark.parametrize("contract", sorted(BREAKS))
def test_each_contract_fails_when_broken(tmp_path, contract):
    folder, statement = BREAKS[contract]
    staged = lint.stage(tmp_path)
    (staged / "vlkit" / folder / "_upward_import.py").write_text(statement + "\n", encoding="utf-8")
    result = lint.run(staged, [])
    assert result.returncode != 0
    status = _status(result.stdout)
    assert status[contract] == "BROKEN", result.stdout
    assert "_upward_import" in result.stdout
