"""What every model-using command shares: the family and backend choices, and building the chat model.

One owner for ``--tiny`` (a tiny random checkpoint: the pipeline is real, the output is noise), ``--model``,
``--backend`` / ``--base-url`` and ``--family``, so `vlkit chat`, `kb ask`, `html`, `invoice`, `gui`, `agent`
and `serve` build their model the same way.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.markup import escape

from vlkit.cli.console import err_console
from vlkit.models.families import FAMILIES  # cheap: vlkit.models loads its heavy parts lazily

if TYPE_CHECKING:
    from vlkit.models import ChatQwenVL

__all__ = [
    "BackendName", "Family", "build_llm", "ModelOpt", "TinyOpt", "BackendOpt", "BaseUrlOpt", "FamilyOpt", "DeviceOpt",
]


class BackendName(str, Enum):
    transformers = "transformers"
    openai = "openai"


Family = Enum("Family", {name: name for name in FAMILIES}, type=str)  # type: ignore[misc]
"""The ``--tiny`` / ``--family`` choices: every family of :data:`vlkit.models.families.FAMILIES`."""


# The options themselves, declared once (Typer reads the help from here for every command).
ModelOpt = Annotated[
    Optional[str],
    typer.Option("--model", "-m", show_default=False,
                 help="Hugging Face id or local checkpoint folder; with --backend openai, the served model's name "
                      "(default: $VLKIT_MODEL, else Qwen/Qwen2-VL-2B-Instruct)."),
]
TinyOpt = Annotated[
    Optional[Family],  # type: ignore[valid-type]
    typer.Option(show_default=False,
                 help="Use a tiny RANDOM checkpoint of this family: an offline pipeline check, the output is noise."),
]
BackendOpt = Annotated[BackendName, typer.Option(help="Run locally with transformers, or on an OpenAI-compatible server.")]
BaseUrlOpt = Annotated[
    Optional[str], typer.Option(show_default=False,
                                help="OpenAI-compatible server (vLLM, SGLang, Ollama), e.g. http://127.0.0.1:8000/v1; "
                                     "implies --backend openai.")
]
FamilyOpt = Annotated[
    Optional[Family],  # type: ignore[valid-type]
    typer.Option(show_default=False, help="Qwen family of the served model (with --base-url; default: from its name)."),
]
DeviceOpt = Annotated[Optional[str], typer.Option(show_default=False, help="cuda, cpu or mps (default: best available).")]


def _value(choice: Any) -> Any:
    return choice.value if isinstance(choice, Enum) else choice


def build_llm(
    *,
    model: str | None = None,
    tiny: Any = None,
    backend: Any = None,
    base_url: str | None = None,
    family: Any = None,
    noise: str = "the output is noise",
    **options: Any,
) -> "ChatQwenVL":
    """A :class:`~vlkit.models.ChatQwenVL` from the command's options.

    ``tiny`` builds (once, cached) a tiny random checkpoint of that family and says so on stderr;
    ``base_url`` without ``backend`` means the openai backend; ``None`` options are left at their defaults.
    """
    from vlkit.models import ChatQwenVL

    tiny, backend, family = _value(tiny), _value(backend), _value(family)
    if tiny is not None:
        from vlkit.testing import tiny_checkpoint

        with err_console.status(f"building tiny {tiny} checkpoint"):
            model = str(tiny_checkpoint(tiny))
        err_console.print(f"[yellow]tiny random {tiny} checkpoint at {escape(model)}: the pipeline is real, {noise}[/]")
    if backend is None:
        backend = "openai" if base_url else "transformers"
    kwargs: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if model:
        kwargs["model"] = model
    if family is not None:
        kwargs["family"] = family
    if backend == "openai":
        kwargs["base_url"] = base_url
    return ChatQwenVL(backend=backend, **kwargs)
