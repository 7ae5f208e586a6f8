"""Agent loops over LangChain v1 ``create_agent``: a VLM that picks among tools, sees the images they
return across steps, and never emits an unusable step.

Names import lazily, so ``import vlkit.agents`` needs no extra; using them needs ``vlkit[agent]``
(LangChain v1) and, for the browser tools, ``vlkit[web]``.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "create_vlm_agent": "vlkit.agents.factory",
    "run_summary": "vlkit.agents.factory",
    "RunSummary": "vlkit.agents.factory",
    "FinalAnswerMiddleware": "vlkit.agents.middleware",
    "ImagePruningMiddleware": "vlkit.agents.images",
    "ToolImagesToUserMiddleware": "vlkit.agents.images",
    "StepLimitMiddleware": "vlkit.agents.middleware",
    "ToolFeedbackMiddleware": "vlkit.agents.middleware",
    "prune_images": "vlkit.agents.images",
    "move_tool_images": "vlkit.agents.images",
    "KnowledgeBaseTool": "vlkit.agents.kb_tool",
    "BrowserSession": "vlkit.agents.browser",
    "browser_tools": "vlkit.agents.browser",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vlkit.agents' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
