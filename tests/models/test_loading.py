"""Issue 26.5: weights load straight into their dtype, and torch gets the machine's threads on the CPU.

The tiny checkpoints are saved in fp32, so loading one as bf16 takes the converting path (each tensor read
without a memory map and converted alone) while loading it as fp32 takes transformers' own; both must
give the same network. The memory this saves is measured by ``benchmarks/bench_load.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.models.conftest import tiny  # noqa: E402
from vlkit.models.backends import loading  # noqa: E402


def _load(folder: str | Path, dtype: str):
    return loading.load_model(str(folder), device="cpu", dtype=dtype, local_files_only=True)


def _same_network(converted, reference, dtype) -> None:
    """``converted`` holds exactly ``reference``'s weights cast to ``dtype``, with the same configs."""
    params = dict(converted.model.named_parameters())
    assert params.keys() == dict(reference.model.named_parameters()).keys()
    for name, param in reference.model.named_parameters():
        assert params[name].dtype == dtype, name
        assert torch.equal(params[name], param.detach().to(dtype)), name
    assert converted.model.generation_config.to_dict() == reference.model.generation_config.to_dict()
    assert _without_dtype(converted.model.config.to_dict()) == _without_dtype(reference.model.config.to_dict())


def _without_dtype(config: dict) -> dict:
    return {k: _without_dtype(v) if isinstance(v, dict) else v for k, v in config.items() if k not in ("dtype", "torch_dtype")}


def test_an_fp32_checkpoint_loads_as_bf16_without_a_second_copy(family):
    from transformers import AutoConfig

    folder = Path(tiny(family))
    assert loading._stored_dtypes(folder / "model.safetensors") >= {"F32"}
    config = AutoConfig.from_pretrained(folder)
    assert loading._converted_weights(folder, config, torch.bfloat16) is not None  # the converting path
    assert loading._converted_weights(folder, config, torch.float32) is None  # transformers' own (no conversion)
    _same_network(_load(folder, "bf16"), _load(folder, "fp32"), torch.bfloat16)


def test_tied_embeddings_stay_tied_on_the_converting_path(tmp_path):
    """Qwen2-VL-2B ties lm_head to the embeddings and ships no lm_head tensor."""
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "tied"
    shutil.copytree(tiny("qwen2_vl"), folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["tie_word_embeddings"] = config["text_config"]["tie_word_embeddings"] = True
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    weights = load_file(folder / "model.safetensors")
    del weights["lm_head.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})

    converted, reference = _load(folder, "bf16"), _load(folder, "fp32")
    _same_network(converted, reference, torch.bfloat16)
    net = converted.model
    assert net.lm_head.weight.data_ptr() == net.get_input_embeddings().weight.data_ptr()


# ------------------------------------------------------------------ threads


@pytest.fixture
def torch_threads(monkeypatch):
    """torch's thread count and vlkit's record of it, restored after the test (they are process-wide)."""
    for name in ("VLKIT_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    monkeypatch.setattr(loading, "_THREADS_SET", None)
    yield
    torch.set_num_threads(before)


def test_vlkit_threads_sets_torchs_threads_on_the_cpu(torch_threads, monkeypatch, caplog):
    monkeypatch.setenv("VLKIT_THREADS", "1")
    with caplog.at_level("INFO", logger="vlkit.models.backends.loading"):
        _load(tiny("qwen2_vl"), "fp32")
    assert torch.get_num_threads() == 1
    assert "CPU threads: 1" in caplog.text


def test_threads_the_user_gave_torch_are_kept(torch_threads, caplog):
    from vlkit.models.machine import unset_thread_counts

    mine = max(unset_thread_counts()) + 1  # a count torch never picks by itself here
    torch.set_num_threads(mine)
    with caplog.at_level("INFO", logger="vlkit.models.backends.loading"):
        _load(tiny("qwen2_vl"), "fp32")
    assert torch.get_num_threads() == mine
    assert f"CPU threads: {mine}, as set by torch.set_num_threads" in caplog.text


def test_torchs_own_default_becomes_the_physical_cores(torch_threads):
    from vlkit.models.machine import default_threads

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # what torch or OpenMP pick by themselves
    _load(tiny("qwen2_vl"), "fp32")
    assert torch.get_num_threads() == default_threads()
    assert loading._THREADS_SET == default_threads()


def test_omp_num_threads_is_left_to_torch(torch_threads, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _load(tiny("qwen2_vl"), "fp32")
    assert torch.get_num_threads() == 1
