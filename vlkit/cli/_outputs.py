"""Every file or folder a command writes, checked when the options are parsed, before any work is done.

One rule for all output options (``--draw``, ``-o``, ``--compare``, ``--json``, ``--report``, ``--index``,
``--images-dir``, the folder of ``--make`` / ``--generate``): missing parent folders are created; a
file where a folder is needed (or the reverse), a picture whose extension names no image format, or a
folder that cannot be created is one ``error:`` line naming the option (exit status 2), not a traceback
after the model has run.

Declare an output option with :func:`output_file` / :func:`output_folder` as its Typer callback; code that
picks an output path itself (a default next to the input) calls :func:`prepare_file`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

__all__ = ["IMAGE_SUFFIXES", "output_file", "output_folder", "prepare_file", "prepare_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
"""Extensions a picture may be written with (the extension picks the format)."""

Kind = Literal["file", "image", "folder", "index"]


def _fail(message: str) -> None:
    from vlkit.errors import InvalidArgumentError

    raise InvalidArgumentError(message)


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def _make_folder(folder: Path, option: str, shown: Path) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        _fail(f"{option} {shown}: {existing} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"{option} {shown}: cannot create the folder {folder} ({exc.strerror or exc})")


def prepare_file(path: Path, option: str, *, image: bool = False) -> Path:
    """``path`` ready to be written by ``option``: not a folder, a known picture extension when ``image``,
    its parent folders created."""
    if path.is_dir():
        _fail(f"{option} {path} is a folder; give a file name" + (" such as out.png" if image else ""))
    if image and path.suffix.lower() not in IMAGE_SUFFIXES:
        what = f"'{path.suffix}'" if path.suffix else "no extension"
        _fail(f"{option} {path}: {what} is not a picture format; end the name with {', '.join(IMAGE_SUFFIXES)}")
    _make_folder(path.parent, option, path)
    return path


def prepare_folder(path: Path, option: str, *, create: bool = True) -> Path:
    """``path`` ready as ``option``'s folder: not a file; created (with its parents) when ``create``."""
    if path.exists() and not path.is_dir():
        _fail(f"{option} {path} is a file; give a folder (it is created when missing)")
    existing = _nearest_existing(path)
    if not existing.is_dir():
        _fail(f"{option} {path}: {existing} is a file, not a folder")
    if create:
        _make_folder(path, option, path)
    return path


def _callback(kind: Kind, option: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return None
        path = Path(value)
        if kind == "folder":
            return prepare_folder(path, option)
        if kind == "index":  # `kb add` creates the index itself; the reading commands must not
            return prepare_folder(path, option, create=False)
        return prepare_file(path, option, image=kind == "image")

    check.vlkit_output = kind  # type: ignore[attr-defined]  # tests/cli find every output option by this
    return check


def output_file(option: str, *, image: bool = False) -> Callable[[Any], Any]:
    """Typer callback of an option naming a file to write (``image``: a picture, format from the extension)."""
    return _callback("image" if image else "file", option)


def output_folder(option: str, *, create: bool = True) -> Callable[[Any], Any]:
    """Typer callback of an option naming a folder to write into (``create=False``: checked, not created)."""
    return _callback("folder" if create else "index", option)
