"""Folders made by ``vlkit export``: a runtime's files beside the tokenizer, template and ``config.json``.

The manifest ``vlkit-export.json`` says what the folder holds, so ``ChatQwenVL(model=folder)`` and
``vlkit serve --model folder`` pick the runtime without being told.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from vlkit.errors import ModelNotFoundError

__all__ = ["MANIFEST", "ExportManifest", "is_gguf_export", "read_manifest"]

MANIFEST = "vlkit-export.json"


@dataclass
class ExportManifest:
    """What ``vlkit export`` wrote."""

    format: Literal["gguf"]
    family: str
    """``model_type`` of the source checkpoint (qwen2_vl, qwen2_5_vl, qwen3_vl)."""
    quant: str
    """Weights of the language model (``Q4_K_M``, ``Q8_0``, ``F16``, …)."""
    model_file: str
    """The language model, relative to the folder."""
    mmproj_file: str | None = None
    """The vision encoder and projector (llama.cpp's ``mmproj``), relative to the folder."""
    mmproj_quant: str | None = None
    source: str = ""
    """The Hugging Face folder or id it was exported from."""
    runtime: dict[str, Any] = field(default_factory=dict)
    """Versions of what converted it (llama.cpp build, vlkit)."""

    def write(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


def read_manifest(folder: str | Path) -> ExportManifest | None:
    """The manifest of an exported folder, None for any other folder (or a Hugging Face id)."""
    path = Path(folder).expanduser() / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ExportManifest(**data)
    except (ValueError, TypeError) as exc:
        raise ModelNotFoundError(f"{path} is not a vlkit export manifest ({exc}); export the model again") from None


def is_gguf_export(model: str | Path) -> bool:
    """Whether ``model`` is a folder made by ``vlkit export --to gguf``."""
    manifest = read_manifest(model)
    return manifest is not None and manifest.format == "gguf"
