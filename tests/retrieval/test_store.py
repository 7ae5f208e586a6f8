"""Every Chroma call lives in store.py: the chunk collection and the free-text side collection."""

from __future__ import annotations

import numpy as np

from vlkit.retrieval.store import ChromaStore, make_client
from vlkit.retrieval.types import Chunk


def _chunk(doc_id: str, i: int) -> Chunk:
    return Chunk(id=f"{doc_id}:1:{i}", doc_id=doc_id, file_name="f.pdf", sha256="s", page=1, reader="text",
                 text=f"text {i}", start=0, end=6)


def _unit(*v: float) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_chunks_upsert_query_filter_delete(tmp_path):
    store = ChromaStore(make_client(tmp_path / "chroma"), "vlkit-test")
    store.upsert([_chunk("a", 0), _chunk("b", 0)], np.stack([_unit(1, 0, 0), _unit(0, 1, 0)]))
    store.upsert([_chunk("a", 0)], np.stack([_unit(1, 0, 0)]))  # deterministic ids: overwrite, no duplicate
    assert store.count() == 2 and store.ids("a") == {"a:1:0"} and sorted(store.all_ids()) == ["a:1:0", "b:1:0"]
    (best, score), _ = store.query(_unit(1, 0.1, 0), 2)
    assert best == "a:1:0" and 0.99 < score <= 1.0
    assert [i for i, _ in store.query(_unit(1, 0, 0), 2, ["b"])] == ["b:1:0"] and store.query(_unit(1, 0, 0), 2, []) == []
    store.delete_doc("a")
    assert store.ids("a") == set() and store.count() == 1


def test_free_texts_round_trip_metadata_in_a_side_collection(tmp_path):
    client = make_client(tmp_path / "chroma")
    store = ChromaStore(client, "vlkit-test")
    texts = store.free_texts()
    assert texts.query(_unit(1, 0), 3) == []
    texts.upsert(["x", "y"], ["penguins", "volcanoes"], [{"tags": ["a", 1], "n": None}, {}], np.stack([_unit(1, 0), _unit(0, 1)]))
    assert store.count() == 0  # not mixed into the chunk collection
    assert texts.get(["x", "nope"]) == [("x", "penguins", {"tags": ["a", 1], "n": None})]
    (top, text, meta, score), _ = texts.query(_unit(1, 0.2), 5)
    assert (top, text, meta) == ("x", "penguins", {"tags": ["a", 1], "n": None}) and score > 0.9
    texts.delete(["x"])
    assert texts.count() == 1 and store.free_texts().get(["y"])[0][1] == "volcanoes"  # persistent, same collection
