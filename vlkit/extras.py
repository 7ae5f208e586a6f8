"""The one optional-dependency guard: ``require(module, extra, purpose)``.

Heavy or niche dependencies (Playwright, xgrammar, chromadb, FastAPI, …) live in extras and are imported
where they are used, through this function, so a missing one is a :class:`~vlkit.errors.MissingExtraError`
that names the extra to install instead of a bare ``ImportError``.

Example:
    ```python
    playwright = require("playwright.sync_api", "web", "rendering HTML")
    ```
"""

from __future__ import annotations

import importlib
from types import ModuleType

from vlkit.errors import MissingExtraError

__all__ = ["require"]


def require(module: str, extra: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``pip install 'vlkit[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # the missing piece may be a dependency of ``module`` (exc.name), which is what to report
        raise MissingExtraError(exc.name or module.split(".")[0], extra, purpose) from None
