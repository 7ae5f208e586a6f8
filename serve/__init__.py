"""`vlkit serve`: an OpenAI-compatible HTTP API and a web UI in one process.

FastAPI and uvicorn come with ``pip install 'vlkit[serve]'``, Gradio with ``vlkit[ui]``; the names below
import on first use, so ``import vlkit.serve`` needs neither.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Engine", "ServeConfig", "create_app", "mount_ui"]

_LAZY = {"Engine": "engine", "ServeConfig": "app", "create_app": "app", "mount_ui": "ui"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"vlkit.serve.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vlkit.serve' has no attribute {name!r}")
