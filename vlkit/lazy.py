"""The one lazy-import helper: a package's public names, imported from their modules on first use.

A package ``__init__`` lists its public names and the module that defines each; nothing heavy
(torch, Chroma, Playwright) is imported until a name is used, so ``import vlkit.tools`` stays cheap
and needs no extra.

Example:
    ```python
    from vlkit.lazy import lazy_exports

    _EXPORTS = {"ChatQwenVL": ".chat"}          # name -> module, relative to this package
    __all__ = sorted(_EXPORTS)
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
    ```
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``exports`` is read from its module on first
    access and cached in the package's namespace. Modules may be relative (``".chat"``) or absolute."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
