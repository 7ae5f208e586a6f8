"""A per-user cache of tiny checkpoints, built once and shared by test processes.

The cache key holds a content version: a hash of this package's sources, templates and corpus plus
the transformers version, so editing the builder or upgrading transformers yields a fresh folder.
Concurrent builders each build into a private temporary folder and publish it with one atomic
``rename``; the loser of a race discards its copy and uses the winner's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

from vlkit.testing._families import family_spec
from vlkit.testing.build import build_tiny_checkpoint

__all__ = ["cache_root", "content_version", "tiny_checkpoint", "tiny_export"]

logger = logging.getLogger(__name__)

_SOURCE_SUFFIXES = (".py", ".jinja", ".txt")


def cache_root() -> Path:
    """``$VLKIT_CACHE/tiny`` when ``VLKIT_CACHE`` is set, else ``~/.cache/vlkit/tiny``."""
    base = os.environ.get("VLKIT_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "vlkit"
    return root / "tiny"


@lru_cache(maxsize=1)
def content_version() -> str:
    """A short hash of everything that decides a tiny checkpoint's bytes."""
    import transformers

    digest = hashlib.sha256(f"transformers={transformers.__version__}\n".encode())
    package = resources.files("vlkit.testing")
    pending = [package]
    files = []
    while pending:
        for entry in pending.pop().iterdir():
            if entry.is_dir():
                if entry.name != "__pycache__":
                    pending.append(entry)
            elif entry.name.endswith(_SOURCE_SUFFIXES):
                files.append(entry)
    # The tiny specs take the patch geometry from vlkit.vision.families: its source counts too.
    files.append(resources.files("vlkit.vision").joinpath("families.py"))
    for entry in sorted(files, key=lambda e: str(e)):
        digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _publish(final: Path, build) -> Path:  # type: ignore[no-untyped-def]
    """Build into a private sibling of ``final`` and rename it into place (the loser of a race keeps the
    winner's folder)."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        build(staging)
        staging.chmod(0o755)  # mkdtemp makes it owner-only; the published folder is an ordinary one
        try:
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():
                raise
            logger.debug("another process published %s first; using it", final)
        else:
            logger.info("cached %s at %s", final.name, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


def tiny_export(family: str, quant: str = "F16", mmproj_quant: str = "F32") -> Path:
    """A cached ``vlkit export --to gguf`` of :func:`tiny_checkpoint` ``(family)``, for the llama.cpp backend's
    tests (needs the ``llamacpp`` extra). F16 weights and an F32 vision encoder by default: closest to the
    transformers run of the same checkpoint."""
    import llama_cpp

    from vlkit.models.export import export_model

    source = tiny_checkpoint(family)
    final = cache_root() / f"{family}-{content_version()}-gguf-{llama_cpp.__version__}-{quant}-{mmproj_quant}"
    return _publish(final, lambda staging: export_model(source, staging, quant=quant, mmproj_quant=mmproj_quant, overwrite=True))


def tiny_checkpoint(family: str) -> Path:
    """Return a cached tiny checkpoint folder of ``family``, building it on first use.

    Safe when several processes (e.g. pytest-xdist workers) ask at once: each builds into a
    temporary sibling folder and renames it into place atomically; whoever loses the race keeps
    the winner's folder. The seed is always 0, so every build of one version is identical.

    Example::

        from transformers import AutoModelForImageTextToText
        model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint("qwen3_vl"))
    """
    family_spec(family)  # fail on an unknown family before touching the disk
    final = cache_root() / f"{family}-{content_version()}"
    return _publish(final, lambda staging: build_tiny_checkpoint(family, staging, seed=0))
