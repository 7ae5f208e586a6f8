"""A read-only copy of an index's visible chunk vectors, so a search process need not start Chroma.

Why: ``import chromadb`` alone takes longer than the search itself, many times over — most of what a
``vlkit kb search`` from the shell would wait for (``benchmarks/bench_cli.py``). For a local index of
up to ``MAX_SNAPSHOT_CHUNKS`` chunks the writer (``DocumentIndex.add`` / ``remove``) leaves, next to
the manifest, the vectors of every chunk of the complete documents in one ``.npy`` file plus their
ids; a reader maps it (``numpy.load(mmap_mode="r")``) and answers dense queries by an exact dot
product — no Chroma at all, and exact where HNSW is approximate.

Freshness is the manifest's: a snapshot is named after the ``manifest.version`` it was taken at and
the embedder that made its vectors, and is used only while both still match. Any commit that
changes what is visible bumps the version, so a stale snapshot is never read; the reader then asks
Chroma as before. Files are written under a temporary name and renamed, so a reader sees a whole
snapshot or none.

Layout::

    search/vectors-<version>.npy    float32 (n, dim), unit rows, in the order of ...
    search/ids-<version>.txt        ... the chunk ids, one per line
    search/snapshot.json            {"version": N, "embedder": NAME, "count": n, "dim": d}
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from vlkit.retrieval.embedders import normalize_rows

__all__ = ["VectorSnapshot", "MAX_SNAPSHOT_CHUNKS"]

logger = logging.getLogger(__name__)

MAX_SNAPSHOT_CHUNKS = 50_000
"""Up to this many chunks an exact dot product over the mapped vectors costs milliseconds; larger indexes
are searched through Chroma's HNSW index, whose start-up cost matters less there."""


class VectorSnapshot:
    """The snapshot folder of one index (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._loaded: tuple[int, str, np.ndarray, list[str]] | None = None

    # ------------------------------------------------------------------ read
    def meta(self) -> dict | None:
        try:
            return json.loads((self.folder / "snapshot.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def fresh(self, version: int, embedder: str) -> bool:
        """Whether a snapshot taken at ``version`` with ``embedder`` exists."""
        meta = self.meta()
        return bool(meta) and meta.get("version") == version and meta.get("embedder") == embedder

    def search(self, embedding: np.ndarray, k: int, version: int, embedder: str) -> list[tuple[str, float]] | None:
        """``(chunk id, cosine)`` of the ``k`` nearest chunks, or ``None`` when there is no fresh snapshot
        (the caller then asks the vector store)."""
        loaded = self._load(version, embedder)
        if loaded is None:
            return None
        vectors, ids = loaded
        if not ids or k <= 0:
            return []
        query = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if query.shape[0] != vectors.shape[1]:
            return None  # a different model's vectors: not ours to answer
        query = query / max(float(np.linalg.norm(query)), 1e-12)  # cosine, as Chroma's cosine space computes it
        scores = vectors @ query
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(ids[i], float(scores[i])) for i in top]

    def _load(self, version: int, embedder: str) -> tuple[np.ndarray, list[str]] | None:
        if self._loaded is not None and self._loaded[:2] == (version, embedder):
            return self._loaded[2], self._loaded[3]
        if not self.fresh(version, embedder):
            return None
        try:
            ids = (self.folder / f"ids-{version}.txt").read_text(encoding="utf-8").splitlines()
            vectors = np.load(self.folder / f"vectors-{version}.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            logger.warning("ignoring the unreadable search snapshot in %s (%s)", self.folder, exc)
            return None
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            logger.warning("ignoring the inconsistent search snapshot in %s", self.folder)
            return None
        self._loaded = (version, embedder, vectors, ids)
        return vectors, ids

    # ------------------------------------------------------------------ write
    def write(
        self, version: int, embedder: str, ids: list[str],
        vectors_of: Callable[[list[str]], Iterable[tuple[str, np.ndarray]]], *, current_version: Callable[[], int],
    ) -> bool:
        """Take a snapshot of ``ids`` (the visible chunks at ``version``), fetching their vectors with
        ``vectors_of``. Returns False (and writes nothing) when the index changed meanwhile, or when a
        vector is missing. Old snapshots are deleted."""
        self.folder.mkdir(parents=True, exist_ok=True)
        position = {cid: i for i, cid in enumerate(ids)}
        matrix: np.ndarray | None = None
        seen = 0
        for cid, vector in vectors_of(ids):
            i = position.get(cid)
            if i is None:
                continue
            if matrix is None:
                matrix = np.zeros((len(ids), len(vector)), dtype=np.float32)
            matrix[i] = vector
            seen += 1
        if seen != len(ids):
            logger.warning("search snapshot not written: %d of %d vectors found", seen, len(ids))
            return False
        if current_version() != version:
            return False  # another commit landed while we read; the next writer takes it
        # unit rows, so the dot product is the cosine Chroma reports (embedders' rows can be off by ~0.3 %
        # after a bf16 forward pass)
        matrix = normalize_rows(matrix) if matrix is not None else np.zeros((0, 0), dtype=np.float32)
        tmp = f".tmp-{os.getpid()}"
        with open(self.folder / f"vectors-{version}.npy{tmp}", "wb") as f:
            np.save(f, matrix)
        (self.folder / f"ids-{version}.txt{tmp}").write_text("\n".join(ids), encoding="utf-8")
        os.replace(self.folder / f"vectors-{version}.npy{tmp}", self.folder / f"vectors-{version}.npy")
        os.replace(self.folder / f"ids-{version}.txt{tmp}", self.folder / f"ids-{version}.txt")
        meta = {"version": version, "embedder": embedder, "count": len(ids), "dim": int(matrix.shape[1])}
        (self.folder / f"snapshot.json{tmp}").write_text(json.dumps(meta), encoding="utf-8")
        os.replace(self.folder / f"snapshot.json{tmp}", self.folder / "snapshot.json")
        self._collect(keep=version)
        return True

    def clear(self) -> None:
        """Remove every snapshot (e.g. the index grew past :data:`MAX_SNAPSHOT_CHUNKS`)."""
        (self.folder / "snapshot.json").unlink(missing_ok=True)
        self._collect(keep=None)

    def _collect(self, keep: int | None) -> None:
        if not self.folder.is_dir():
            return
        wanted = {f"vectors-{keep}.npy", f"ids-{keep}.txt", "snapshot.json"} if keep is not None else set()
        for path in self.folder.iterdir():
            if path.name not in wanted and path.name.startswith(("vectors-", "ids-", "snapshot.json.tmp-")):
                try:
                    path.unlink()
                except OSError:  # still mapped by a reader on a system that forbids it; the next write retries
                    pass
