"""The Qwen vision-language models as LangChain chat models.

Names load on first use, so ``import vlkit.models`` stays cheap and does not import LangChain. The Qwen
image facts (families, smart_resize, budgets) live one floor down, in :mod:`vlkit.vision`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import vlkit as _vlkit

if getattr(_vlkit, "__file__", None) is None:
    # ``vlkit`` resolved to a folder without __init__.py: a clone of the repository named vlkit/ in the
    # current folder shadows the installed package (Python prefers it over an editable install).
    raise ImportError(
        f"'vlkit' was imported from the folder {list(getattr(_vlkit, '__path__', []))[0]!s}, not from the "
        "installed package: a vlkit clone in the current folder shadows it. Run Python from another folder "
        "(for example inside the clone), or rename the clone folder."
    )

from vlkit.lazy import lazy_exports  # noqa: E402  (after the check: a shadowing clone has no vlkit.lazy)

# The backend interface is public here: a new backend subclasses Backend, and serve talks to it through
# these types. Nothing outside vlkit.models imports vlkit.models.backends (an import-linter contract).
_EXPORTS = {
    "ChatQwenVL": "vlkit.models._chat",
    **{name: "vlkit.models.backends.base" for name in ("Backend", "Delta", "GenerationRequest", "ImageCount", "TokenCount", "Usage", "VideoCount")},
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.models._chat import ChatQwenVL
    from vlkit.models.backends.base import Backend, Delta, GenerationRequest, ImageCount, TokenCount, Usage, VideoCount
