"""File arguments as a closed choice: the model picks one of the user's images by name, not by path.

A tool such as ``InvoiceExtractor`` takes a file path. A model that types paths invents ones that do not
exist (a small model always does), and a missing file is a user error that would stop the run.
:func:`with_file_choices` gives the agent a copy of the tool whose path argument is an enum of the
files the user gave (``image_1``, ``image_2`` … or their file names), so under a grammar the argument is
always one of them, and every backend's schema says which ones exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, create_model

__all__ = ["FILE_ARGUMENTS", "file_choices", "with_file_choices"]

FILE_ARGUMENTS = ("image", "screenshot", "path", "file", "image_path")
"""Argument names taken to be a file path."""


def file_choices(files: Sequence[str | Path]) -> dict[str, str]:
    """``{name: path}`` for the user's files: the file name, or ``image_N`` when names repeat."""
    paths = [str(Path(f)) for f in files]
    names = [Path(p).name for p in paths]
    if len(set(names)) != len(names):
        names = [f"image_{i}" for i in range(1, len(paths) + 1)]
    return dict(zip(names, paths))


def with_file_choices(tool: BaseTool, choices: Mapping[str, str]) -> BaseTool:
    """``tool`` with its file argument limited to ``choices`` (names → paths); unchanged if it has none.

    The copy keeps the tool's name, description and other arguments; the chosen name is turned back into
    the path before the tool runs.
    """
    schema = tool.args_schema
    if not choices or not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return tool
    field_name = next((f for f in FILE_ARGUMENTS if f in schema.model_fields), None)
    if field_name is None:
        return tool
    names = tuple(choices)
    fields: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if name == field_name:
            listed = ", ".join(f"{n} ({p})" for n, p in choices.items())
            fields[name] = (Literal[names], Field(description=f"Which of the user's files: {listed}."))
        else:
            fields[name] = (info.annotation, info)
    restricted = create_model(f"{schema.__name__}Choice", __doc__=schema.__doc__, **fields)

    def run(**kwargs: Any) -> Any:
        kwargs[field_name] = choices[kwargs[field_name]]
        return tool.invoke(kwargs)

    return StructuredTool.from_function(
        func=run,
        name=tool.name,
        description=tool.description,
        args_schema=restricted,
        response_format="content",
    )
