"""The index manifest: SQLite (WAL) in the index folder, the single source of truth.

A document is ``pending`` while its pages are ingested, ``complete`` once every page is in, and
``removing`` while its traces are deleted. Each page's text and chunks are committed in the same
transaction that marks the page done, so a killed ingest loses at most the pages in flight; vectors
go to Chroma *before* that commit under deterministic ids, so redoing a page overwrites them.
Only ``complete`` documents are visible to search.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlkit.retrieval.types import Chunk

__all__ = ["Manifest", "DocRow", "PageRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, file_name TEXT NOT NULL, source_path TEXT NOT NULL, sha256 TEXT NOT NULL,
    pages INTEGER NOT NULL, state TEXT NOT NULL, replaces TEXT, added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL, page INTEGER NOT NULL, reader TEXT NOT NULL, text TEXT NOT NULL,
    image_sha TEXT, heading_out TEXT NOT NULL, PRIMARY KEY (doc_id, page)
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, page INTEGER NOT NULL, idx INTEGER NOT NULL,
    reader TEXT NOT NULL, text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    heading TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, page);
CREATE INDEX IF NOT EXISTS pages_image ON pages (image_sha);
"""


@dataclass
class DocRow:
    doc_id: str
    file_name: str
    source_path: str
    sha256: str
    pages: int
    state: str
    replaces: str | None


@dataclass
class PageRow:
    doc_id: str
    page: int
    reader: str
    text: str
    image_sha: str | None
    heading_out: str
    """The heading in force at the end of the page, carried into the next page's chunks."""


class Manifest:
    """Thread-safe access to the manifest database."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (all or nothing, also under SIGKILL)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                   (key, value))

    def bump_version(self, db: sqlite3.Connection) -> None:
        row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        self.set_meta(db, "version", str(int(row[0]) + 1 if row else 1))

    @property
    def version(self) -> int:
        return int(self.get_meta("version") or 0)

    # ------------------------------------------------------------------ documents
    def doc(self, doc_id: str) -> DocRow | None:
        rows = self._all("SELECT doc_id, file_name, source_path, sha256, pages, state, replaces "
                         "FROM documents WHERE doc_id=?", (doc_id,))
        return DocRow(*rows[0]) if rows else None

    def docs(self, state: str | None = None) -> list[DocRow]:
        sql = "SELECT doc_id, file_name, source_path, sha256, pages, state, replaces FROM documents"
        rows = self._all(sql + (" WHERE state=?" if state else "") + " ORDER BY added_at, doc_id",
                         (state,) if state else ())
        return [DocRow(*r) for r in rows]

    def complete_ids(self) -> list[str]:
        return [r[0] for r in self._all("SELECT doc_id FROM documents WHERE state='complete' ORDER BY doc_id")]

    def has_complete(self) -> bool:
        return bool(self._all("SELECT 1 FROM documents WHERE state='complete' LIMIT 1"))

    def hidden_ids(self) -> list[str]:
        """Documents whose vectors may be in the store but must not be found (``pending``, ``removing``)."""
        return [r[0] for r in self._all("SELECT doc_id FROM documents WHERE state!='complete' ORDER BY doc_id")]

    def complete_stamps(self) -> dict[str, str]:
        """Complete doc id -> a stamp that changes whenever the document's chunk rows may have: a
        document's rows are only written while it is pending, and a re-ingest after a removal
        inserts a new row (new ``added_at``)."""
        rows = self._all("SELECT doc_id, added_at, file_name FROM documents WHERE state='complete'")
        return {doc_id: f"{added_at!r}:{file_name}" for doc_id, added_at, file_name in rows}

    def start_doc(self, row: DocRow) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO documents(doc_id, file_name, source_path, sha256, pages, state, replaces, added_at) "
                "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(doc_id) DO UPDATE SET source_path=excluded.source_path, "
                "file_name=excluded.file_name, replaces=excluded.replaces",
                (row.doc_id, row.file_name, row.source_path, row.sha256, row.pages, "pending", row.replaces,
                 time.time()),
            )

    def done_pages(self, doc_id: str) -> dict[int, str]:
        """Finished page numbers of a document -> the heading carried out of each."""
        return dict(self._all("SELECT page, heading_out FROM pages WHERE doc_id=?", (doc_id,)))

    def commit_pages(self, pages: Sequence[PageRow], chunks: Sequence[Chunk]) -> None:
        """Record pages as done together with their chunks (replacing any earlier partial rows)."""
        with self.tx() as db:
            for p in pages:
                db.execute("DELETE FROM chunks WHERE doc_id=? AND page=?", (p.doc_id, p.page))
                db.execute("INSERT OR REPLACE INTO pages VALUES(?,?,?,?,?,?)",
                           (p.doc_id, p.page, p.reader, p.text, p.image_sha, p.heading_out))
            db.executemany(
                'INSERT OR REPLACE INTO chunks(id, doc_id, page, idx, reader, text, start, "end", heading) '
                "VALUES(?,?,?,?,?,?,?,?,?)",
                [(c.id, c.doc_id, c.page, int(c.id.rsplit(":", 1)[1]), c.reader, c.text, c.start, c.end, c.heading)
                 for c in chunks],
            )

    def complete_doc(self, doc_id: str, replaced: Sequence[str]) -> None:
        """Make a document visible and, in the same transaction, hide the ones it replaces."""
        with self.tx() as db:
            db.execute("UPDATE documents SET state='complete' WHERE doc_id=?", (doc_id,))
            for old in replaced:
                db.execute("UPDATE documents SET state='removing' WHERE doc_id=?", (old,))
            self.bump_version(db)

    def mark_removing(self, doc_id: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE documents SET state='removing' WHERE doc_id=?", (doc_id,))
            self.bump_version(db)

    def drop_doc(self, doc_id: str) -> list[str]:
        """Delete a document's rows; returns the image hashes no other page uses any more."""
        with self.tx() as db:
            shas = {r[0] for r in db.execute("SELECT image_sha FROM pages WHERE doc_id=? AND image_sha IS NOT NULL",
                                             (doc_id,))}
            db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM pages WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            still = {r[0] for r in db.execute("SELECT DISTINCT image_sha FROM pages WHERE image_sha IS NOT NULL")}
        return sorted(shas - still)

    def image_shas(self) -> set[str]:
        return {r[0] for r in self._all("SELECT DISTINCT image_sha FROM pages WHERE image_sha IS NOT NULL")}

    # ------------------------------------------------------------------ pages and chunks
    def page(self, doc_id: str, page: int) -> PageRow | None:
        rows = self._all("SELECT doc_id, page, reader, text, image_sha, heading_out FROM pages "
                         "WHERE doc_id=? AND page=?", (doc_id, page))
        return PageRow(*rows[0]) if rows else None

    def pages_by_key(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], PageRow]:
        """Several pages in one query: ``(doc_id, page)`` -> row, unknown keys left out."""
        out: dict[tuple[str, int], PageRow] = {}
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), 100):
            part = keys[i:i + 100]
            # an OR of key equalities is answered from the primary key; SQLite plans the shorter
            # ``(doc_id, page) IN (VALUES ...)`` as a scan of every page's text
            where = " OR ".join("(doc_id=? AND page=?)" for _ in part)
            rows = self._all("SELECT doc_id, page, reader, text, image_sha, heading_out FROM pages "
                             f"WHERE {where}", [v for k in part for v in k])
            out.update({(r[0], r[1]): PageRow(*r) for r in rows})
        return out

    def chunk_ids(self, doc_id: str) -> set[str]:
        return {r[0] for r in self._all("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))}

    def count_chunks(self, doc_id: str) -> int:
        return int(self._all("SELECT COUNT(*) FROM chunks WHERE doc_id=?", (doc_id,))[0][0])

    def count_pages(self, doc_id: str) -> int:
        return int(self._all("SELECT COUNT(*) FROM pages WHERE doc_id=?", (doc_id,))[0][0])

    _CHUNK_SQL = ('SELECT c.id, c.doc_id, d.file_name, d.sha256, c.page, c.reader, c.text, c.start, c."end", '
                  "c.heading, p.image_sha FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                  "JOIN pages p ON p.doc_id = c.doc_id AND p.page = c.page WHERE d.state='complete'")

    def complete_chunks(self, batch: int = 2000, doc_id: str | None = None) -> Iterator[tuple]:
        """Chunk rows of complete documents (or of one, if it is complete), in (doc, page, index)
        order, fetched in batches."""
        if doc_id is not None:
            yield from self._all(self._CHUNK_SQL + " AND c.doc_id=? ORDER BY c.page, c.idx", (doc_id,))
            return
        last = ("", 0, -1)
        while True:
            rows = self._all(
                self._CHUNK_SQL + " AND (c.doc_id, c.page, c.idx) > (?, ?, ?) ORDER BY c.doc_id, c.page, c.idx LIMIT ?",
                (*last, batch),
            )
            if not rows:
                return
            yield from rows
            r = rows[-1]
            last = (r[1], r[4], int(r[0].rsplit(":", 1)[1]))

    def complete_chunk_ids(self) -> list[str]:
        """Ids of every chunk of the complete documents (what a search may return), in id order."""
        return [r[0] for r in self._all("SELECT c.id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                                        "WHERE d.state='complete' ORDER BY c.id")]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i:i + 500])
            marks = ",".join("?" * len(part))
            out.update({r[0]: r for r in self._all(self._CHUNK_SQL + f" AND c.id IN ({marks})", part)})
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
