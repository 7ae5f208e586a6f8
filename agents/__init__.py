"""Agent loops over LangChain v1 ``create_agent``: a VLM that picks among tools, sees the images they
return across steps, and never emits an unusable step.

Names import lazily, so ``import vlkit.agents`` needs no extra; using them needs ``vlkit[agent]``
(LangChain v1) and, for the browser tools, ``vlkit[web]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "create_vlm_agent": "vlkit.agents._factory",
    "run_summary": "vlkit.agents._factory",
    "KnowledgeBaseTool": "vlkit.agents._kb_tool",
    "BrowserSession": "vlkit.agents._browser",
    "browser_tools": "vlkit.agents._browser",
    "file_choices": "vlkit.agents._choices",
    "with_file_choices": "vlkit.agents._choices",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.agents._browser import BrowserSession, browser_tools
    from vlkit.agents._choices import file_choices, with_file_choices
    from vlkit.agents._factory import create_vlm_agent, run_summary
    from vlkit.agents._kb_tool import KnowledgeBaseTool
