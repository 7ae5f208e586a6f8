"""vlkit — agents, tools and document RAG around the small Qwen vision-language models.

The heavy parts import lazily, so ``import vlkit`` stays fast and works without the extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit import errors
from vlkit.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {"ChatQwenVL": "vlkit.models"}

__all__ = ["ChatQwenVL", "errors", "__version__"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.models import ChatQwenVL
