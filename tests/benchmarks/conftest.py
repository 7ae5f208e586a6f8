"""Fixtures for the benchmark scripts' tests: the dev-set builder loaded from its file (benchmarks/ is no package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

DEVSET = Path(__file__).resolve().parents[2] / "benchmarks" / "devset"


@pytest.fixture(scope="session")
def devset_dir() -> Path:
    """``benchmarks/devset/`` (manifest.json, questions.jsonl, build.py)."""
    return DEVSET


@pytest.fixture(scope="session")
def devset_build():
    """The ``benchmarks/devset/build.py`` module."""
    spec = importlib.util.spec_from_file_location("devset_build", DEVSET / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def devset_questions():
    """Every row of the dev set's questions.jsonl, as dicts (line order)."""
    import json

    lines = (DEVSET / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
