"""What every model-using command shares: the model options and building the chat model from them.

One owner for ``--tiny`` (a tiny random checkpoint: the pipeline is real, the output is noise), ``--model``,
``--backend`` / ``--base-url``, ``--family``, ``--device`` and ``--max-image-pixels``, so `vlkit chat`,
`kb ask`, `html`, `invoice`, `gui`, `agent` and `serve` build their model by the same rules
(:func:`resolve_backend`: ``--base-url`` means the openai backend, on every command). A command declares them
all at once with :func:`with_model_options` and gets them as one :class:`ModelOptions`.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, fields
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.markup import escape

from vlkit.cli._console import err_console
from vlkit.vision.families import FAMILIES  # cheap: no torch, no PIL

if TYPE_CHECKING:
    from vlkit.models import ChatQwenVL

__all__ = [
    "BackendName", "Family", "ModelOptions", "build_llm", "resolve_backend", "with_model_options", "ModelOpt",
    "TinyOpt", "BackendOpt", "BaseUrlOpt", "FamilyOpt", "DeviceOpt", "MaxImagePixelsOpt",
]

F = TypeVar("F", bound=Callable[..., Any])


class BackendName(str, Enum):
    transformers = "transformers"
    llamacpp = "llamacpp"
    openai = "openai"


Family = Enum("Family", {name: name for name in FAMILIES}, type=str)  # type: ignore[misc]
"""The ``--tiny`` / ``--family`` choices: every family of :data:`vlkit.vision.families.FAMILIES`."""


# The options themselves, declared once (Typer reads the help from here for every command).
ModelOpt = Annotated[
    Optional[str],
    typer.Option("--model", "-m", show_default=False,
                 help="Hugging Face id, local checkpoint folder, or a folder made by `vlkit export` (runs on "
                      "llama.cpp); with --base-url, the served model's name (default: $VLKIT_MODEL, else "
                      "Qwen/Qwen2-VL-2B-Instruct)."),
]
TinyOpt = Annotated[
    Optional[Family],  # type: ignore[valid-type]
    typer.Option(show_default=False,
                 help="Use a tiny RANDOM checkpoint of this family: an offline pipeline check, the output is noise."),
]
BackendOpt = Annotated[
    Optional[BackendName],
    typer.Option(show_default=False,
                 help="Run locally with transformers or llama.cpp, or on an OpenAI-compatible server "
                      "(default: openai with --base-url, llamacpp for a folder made by `vlkit export`, "
                      "else transformers)."),
]
BaseUrlOpt = Annotated[
    Optional[str], typer.Option(show_default=False,
                                help="OpenAI-compatible server (vLLM, SGLang, Ollama), e.g. http://127.0.0.1:8000/v1; "
                                     "implies --backend openai.")
]
FamilyOpt = Annotated[
    Optional[Family],  # type: ignore[valid-type]
    typer.Option(show_default=False,
                 help="Qwen family of the model (with --base-url: the served model's; default: read from the "
                      "checkpoint's config.json)."),
]
DeviceOpt = Annotated[Optional[str], typer.Option(show_default=False, help="cuda, cpu or mps (default: best available).")]
MaxImagePixelsOpt = Annotated[
    Optional[int],
    typer.Option(min=1, show_default=False,
                 help="Refuse input images with more pixels than this, before decoding them (default: 64000000).")
]


def _value(choice: Any) -> Any:
    return choice.value if isinstance(choice, Enum) else choice


def resolve_backend(backend: Any = None, base_url: str | None = None, tiny: Any = None) -> str:
    """The backend the options mean: ``--base-url`` implies ``openai``; ``--tiny`` is a local checkpoint.

    Contradictions (``--backend transformers --base-url …``, ``--tiny`` with a server) are a
    :class:`~vlkit.errors.UserError` that names both options, never one of them silently ignored.
    """
    from vlkit.errors import UserError

    backend = _value(backend)
    if tiny is not None and (backend == "openai" or base_url):
        given = "--base-url" if base_url else "--backend openai"
        raise UserError(f"--tiny runs a local random checkpoint; drop {given} (or drop --tiny)")
    if backend in ("transformers", "llamacpp") and base_url:
        raise UserError(f"--base-url names a server, which --backend {backend} does not use; drop one of them "
                        "(--base-url alone implies --backend openai)")
    if backend is None:
        return "openai" if base_url else "auto"
    return str(backend)


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

    The backend follows :func:`resolve_backend`; ``tiny`` builds (once, cached) a tiny random checkpoint
    of that family and says so on stderr; ``None`` options are left at their defaults.
    """
    from vlkit.models import ChatQwenVL

    backend = resolve_backend(backend, base_url, tiny)
    tiny, family = _value(tiny), _value(family)
    if tiny is not None:
        from vlkit.testing import tiny_checkpoint

        with err_console.status(f"building tiny {tiny} checkpoint"):
            model = str(tiny_checkpoint(tiny))
        err_console.print(f"[yellow]tiny random {tiny} checkpoint at {escape(model)}: the pipeline is real, {noise}[/]")
    kwargs: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if model:
        kwargs["model"] = model
    if family is not None:
        kwargs["family"] = family
    if backend == "openai":
        kwargs["base_url"] = base_url
    return ChatQwenVL(backend=backend, **kwargs)


@dataclass(frozen=True)
class ModelOptions:
    """The model options of one command run, as given (``None``: not given)."""

    model: str | None = None
    tiny: Any = None
    backend: Any = None
    base_url: str | None = None
    family: Any = None
    max_image_pixels: int | None = None
    device: str | None = None

    @property
    def family_name(self) -> str | None:
        """``--family`` as a plain family name (``None`` when not given)."""
        return _value(self.family)

    def build(self, **options: Any) -> "ChatQwenVL":
        """The chat model these options name (:func:`build_llm`), with the command's own ``options``."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return build_llm(**given, **options)


_OPTION_TYPES: dict[str, Any] = {
    "model": ModelOpt, "tiny": TinyOpt, "backend": BackendOpt, "base_url": BaseUrlOpt, "family": FamilyOpt,
    "max_image_pixels": MaxImagePixelsOpt, "device": DeviceOpt,
}


def with_model_options(*, device: bool = True) -> Callable[[F], F]:
    """Declare the model options on a Typer command once: its ``model_options: ModelOptions`` parameter stands
    on the command line as ``--model``, ``--tiny``, ``--backend``, ``--base-url``, ``--family``,
    ``--max-image-pixels`` and (unless ``device=False``, for a command whose ``--device`` means something
    else) ``--device``, and the command gets them back as one :class:`ModelOptions`.

    Example:
        ```python
        @app.command("plan")
        @with_model_options()
        def plan(screenshot: Path, model_options: ModelOptions = ModelOptions(), max_tokens: int = 256) -> None:
            llm = model_options.build(max_tokens=max_tokens)
        ```
    """
    names = [name for name in _OPTION_TYPES if device or name != "device"]

    def decorate(command: F) -> F:
        signature = inspect.signature(command, eval_str=True)
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name != "model_options":
                params.append(param)
                continue
            params += [inspect.Parameter(name, param.kind, default=None, annotation=_OPTION_TYPES[name]) for name in names]
        if len(params) == len(signature.parameters):
            raise TypeError(f"{command.__name__} has no model_options parameter")

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names}
            return command(**kwargs, model_options=ModelOptions(**given))

        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run  # type: ignore[return-value]

    return decorate
