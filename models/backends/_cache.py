"""The caches the local backends share: a byte-bounded LRU, image keys, and prefix lookup.

* **Vision cache** — an image's visual embeddings, keyed by :func:`image_key` (a hash of the pixels the
  encoder sees, their size and the family), so a repeated screenshot or page costs no vision-encoder time.
  Two different images of the same size never share a key: the key hashes every pixel.
* **Prefix cache** — the model's attention state (KV cache) after a prompt's leading *units* (token ids,
  and one unit per image: its key), so a call that starts like an earlier one prefills only what is new.
  :meth:`PrefixCache.longest` finds the entry sharing the longest prefix with a new prompt.

Both are bounded by bytes, least-recently-used first out, safe to share between threads, and off when
their budget is 0 (:class:`CacheConfig`; env ``VLKIT_PROMPT_CACHE=0`` turns both off).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Generic, Hashable, Iterator, Sequence, TypeVar

from vlkit.errors import InvalidArgumentError

__all__ = ["ByteLRU", "CacheConfig", "CacheStats", "PrefixCache", "common_prefix", "image_key"]

V = TypeVar("V")

MIB = 2**20


@dataclass(frozen=True)
class CacheConfig:
    """Budgets of the two caches, in bytes; 0 turns a cache off."""

    prefix_bytes: int = 1024 * MIB
    """Attention state of earlier prompts (llama.cpp: about 28 KiB per token for a 2B model at f16)."""
    vision_bytes: int = 256 * MIB
    """Visual embeddings of earlier images (a 448×448 image on Qwen2-VL-2B: 256 × 1536 floats, 1.5 MiB)."""

    def __post_init__(self) -> None:
        if self.prefix_bytes < 0 or self.vision_bytes < 0:
            raise InvalidArgumentError("cache budgets are bytes ≥ 0 (0 turns a cache off)")

    @classmethod
    def from_env(cls, prefix_mb: int | None = None, vision_mb: int | None = None) -> "CacheConfig":
        """The budgets asked for (MiB), the defaults otherwise; ``VLKIT_PROMPT_CACHE=0`` turns both off."""
        if os.environ.get("VLKIT_PROMPT_CACHE", "").strip().lower() in {"0", "false", "no", "off"}:
            return cls(prefix_bytes=0, vision_bytes=0)
        default = cls()
        return cls(
            prefix_bytes=default.prefix_bytes if prefix_mb is None else int(prefix_mb) * MIB,
            vision_bytes=default.vision_bytes if vision_mb is None else int(vision_mb) * MIB,
        )


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    entries: int = 0
    bytes: int = 0
    evictions: int = 0


class ByteLRU(Generic[V]):
    """A thread-safe LRU map bounded by the summed ``size_of(value)``; ``max_bytes=0`` stores nothing."""

    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes = int(max_bytes)
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.stats.misses += 1
                return None
            self._items.move_to_end(key)
            self.stats.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V) -> bool:
        """Store ``value`` (evicting the least recently used); False when it alone exceeds the budget."""
        size = int(self._size_of(value))
        if size > self.max_bytes:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.stats.bytes -= old[1]
            while self._items and self.stats.bytes + size > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self.stats.bytes -= evicted
                self.stats.evictions += 1
            self._items[key] = (value, size)
            self.stats.bytes += size
            self.stats.entries = len(self._items)
            return True

    def pop(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self.stats.bytes -= item[1]
            self.stats.entries = len(self._items)
            return item[0]

    def items(self) -> list[tuple[Hashable, V]]:
        """A snapshot, least recently used first."""
        with self._lock:
            return [(key, value) for key, (value, _) in self._items.items()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.stats.bytes = self.stats.entries = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.items())


def image_key(pixels: Any, family: str) -> str:
    """Identity of an image as the encoder sees it: a hash of its pixels (after the resize to the visual
    budget, so the budget is part of it), its size and mode, and the model family."""
    mode = getattr(pixels, "mode", "")
    size = getattr(pixels, "size", None)
    data = pixels.tobytes() if hasattr(pixels, "tobytes") else bytes(pixels)
    digest = hashlib.blake2b(data, digest_size=20)
    digest.update(f"|{family}|{mode}|{size}".encode())
    return "img:" + digest.hexdigest()


def common_prefix(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """How many leading units ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class PrefixEntry(Generic[V]):
    units: tuple[Hashable, ...]
    """The prompt units the saved state covers."""
    state: V
    nbytes: int


class PrefixCache(Generic[V]):
    """Saved model states keyed by the prompt units they cover; :meth:`longest` finds the best match.

    A state may be reused for a new prompt up to the units both share (the runtime then drops what follows
    the cut); an entry is only useful when it shares at least ``min_units`` with the new prompt.
    """

    def __init__(self, max_bytes: int, min_units: int = 16) -> None:
        self._lru: ByteLRU[PrefixEntry[V]] = ByteLRU(max_bytes, lambda entry: entry.nbytes)
        self.min_units = min_units

    @property
    def enabled(self) -> bool:
        return self._lru.enabled

    @property
    def stats(self) -> CacheStats:
        return self._lru.stats

    @property
    def max_bytes(self) -> int:
        return self._lru.max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        self._lru.max_bytes = int(value)

    def put(self, units: Sequence[Hashable], state: V, nbytes: int) -> bool:
        return self._lru.put(tuple(units), PrefixEntry(tuple(units), state, nbytes))

    def entries(self) -> list[tuple[Hashable, PrefixEntry[V]]]:
        """A snapshot of the entries, least recently used first."""
        return self._lru.items()

    def pop(self, units: Sequence[Hashable]) -> PrefixEntry[V] | None:
        """Remove the entry saved for exactly ``units`` (a state a longer one has superseded)."""
        return self._lru.pop(tuple(units))

    def longest(self, units: Sequence[Hashable]) -> tuple[PrefixEntry[V] | None, int]:
        """``(entry, shared)`` for the entry sharing the most leading units with ``units`` (None, 0 when no
        entry shares ``min_units``); the entry becomes the most recently used."""
        best: PrefixEntry[V] | None = None
        shared = 0
        for _, entry in self._lru.items():
            n = common_prefix(entry.units, units)
            if n > shared:
                best, shared = entry, n
        if best is None or shared < self.min_units:
            self._lru.stats.misses += 1
            return None, 0
        self._lru.get(best.units)  # mark used (counts the hit)
        return best, shared

    def clear(self) -> None:
        self._lru.clear()
