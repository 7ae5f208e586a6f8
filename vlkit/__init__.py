"""vlkit — agents, tools and document RAG around the small Qwen vision-language models.

The heavy parts import lazily, so ``import vlkit`` stays fast and works without the extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlkit import errors

__version__ = "0.1.0"

__all__ = ["ChatQwenVL", "errors", "__version__"]

if TYPE_CHECKING:
    from vlkit.models import ChatQwenVL


def __getattr__(name: str) -> Any:
    if name == "ChatQwenVL":
        from vlkit.models import ChatQwenVL

        return ChatQwenVL
    raise AttributeError(f"module 'vlkit' has no attribute {name!r}")
