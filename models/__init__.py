"""The Qwen vision-language models as LangChain chat models.

Names load on first use, so ``import vlkit.models.families`` (the CLI's family choices) stays cheap and
does not import LangChain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import vlkit as _vlkit

if getattr(_vlkit, "__file__", None) is None:
    # ``vlkit`` resolved to a folder without __init__.py: a clone of the repository named vlkit/ in the
    # current folder shadows the installed package (Python prefers it over an editable install).
    raise ImportError(
        f"'vlkit' was imported from the folder {list(getattr(_vlkit, '__path__', []))[0]!s}, not from the "
        "installed package: a vlkit clone in the current folder shadows it. Run Python from another folder "
        "(for example inside the clone), or rename the clone folder."
    )

__all__ = ["ChatQwenVL", "FAMILIES", "FamilySpec", "smart_resize"]

_EXPORTS = {
    "ChatQwenVL": "vlkit.models.chat",
    "FAMILIES": "vlkit.models.families",
    "FamilySpec": "vlkit.models.families",
    "smart_resize": "vlkit.models.images",
}

if TYPE_CHECKING:
    from vlkit.models.chat import ChatQwenVL
    from vlkit.models.families import FAMILIES, FamilySpec
    from vlkit.models.images import smart_resize


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vlkit.models' has no attribute {name!r}")
