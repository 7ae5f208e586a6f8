"""bench_generate's OpenVINO side, offline: the options, the rows it writes, and how it reports a runtime that is
not installed (the OpenVINO environment itself is a separate venv; its timings are in benchmarks/README.md)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _module(name: str, as_name: str):
    spec = importlib.util.spec_from_file_location(as_name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module
    spec.loader.exec_module(module)
    return module


def _load(name: str):
    """A benchmark script as a module. It imports its sibling ``_common`` by that bare name, which
    examples/ uses too: benchmarks' one stands in for the import and the other is put back."""
    other = sys.modules.get("_common")
    try:
        sys.modules["_common"] = _module("_common", "_common")
        return _module(name, f"bench_{name.lstrip('_')}")
    finally:
        if other is None:
            sys.modules.pop("_common", None)
        else:
            sys.modules["_common"] = other


@pytest.fixture(scope="module")
def bench():
    return _load("bench_generate")


@pytest.fixture(scope="module")
def ov_script():
    return _load("_openvino")


def test_openvino_options(bench, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VLKIT_OPENVINO_PYTHON", sys.executable)
    args = bench.parse_args(["--openvino-weights", "int4"])
    assert args.openvino_python == sys.executable and args.openvino_weights == ["int4"]
    assert bench.parse_args([]).openvino_weights == ["int8", "int4"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--openvino-weights", "int8,int3"])
    assert "--openvino-weights: unknown int3" in capsys.readouterr().err
    # a wrong interpreter is refused before an hour of other rows runs, naming the option
    for wrong in (tmp_path / "ovenv" / "bin" / "python", tmp_path):
        with pytest.raises(SystemExit):
            bench.parse_args(["--openvino-python", str(wrong)])
        assert f"--openvino-python {wrong}: no such executable" in capsys.readouterr().err


def test_openvino_row_reads_its_ir_bytes(bench, tmp_path):
    (tmp_path / "openvino_language_model.bin").write_bytes(b"\0" * 3000)
    result = {"config": "openvino", "device": "cpu", "dtype": "int8", "weights": "int8", "folder": str(tmp_path),
              "vision_s": 12.0, "ttft_s": 17.0, "decode_tok_s": 10.0, "peak_rss_gib": 4.6, "load_s": 4.0,
              "agreement": {"top1_teacher_forced": 0.78}}  # fmt: skip
    (row,) = bench.rows_of([result], bandwidth_gbs=1e-4, lm_parameters=1)
    assert row["config"] == "openvino-int8" and row["backend"] == "OpenVINO GenAI"
    # 10 tok/s x 3000 bytes = 30 kB/s of the 100 kB/s measured
    assert row["roofline_pct"] == pytest.approx(30.0)
    assert row["agreement"] == {"top1_teacher_forced": 0.78}


def test_a_missing_runtime_is_an_error_row_not_a_crash(bench, tmp_path):
    """The project's own interpreter has no openvino: the worker fails, and the row says so."""
    out = bench._openvino_run(sys.executable, "worker", json.dumps({"folder": str(tmp_path)}))
    assert out == {"error": "_openvino.py worker exited with status 1 (its stderr is above)"}
    (row,) = bench.rows_of([{"config": "openvino", **out}], bandwidth_gbs=30.0, lm_parameters=1)
    assert row == {"config": "openvino", "error": out["error"]}


def test_an_interpreter_that_cannot_start_is_an_error_row(bench, tmp_path):
    out = bench._openvino_run(str(tmp_path / "gone" / "python"), "worker", "{}")
    assert out["error"].startswith(f"--openvino-python {tmp_path / 'gone' / 'python'}: ")


def test_free_running_agreement_counts_to_the_first_difference(ov_script, tmp_path):
    reference = tmp_path / "ref.npz"
    np.savez(reference, tokens=np.array([5, 6, 7, 8]), logits=np.zeros((4, 3)))
    assert ov_script._free_running([5, 6, 9, 8], reference) == {
        "reference": "vlkit-bf16", "first_token_same": True, "tokens_same_until": 2, "compared": 4}  # fmt: skip
    assert ov_script._free_running([1, 6], reference)["tokens_same_until"] == 0
    assert ov_script._free_running([5, 6, 7, 8, 9], reference)["tokens_same_until"] == 4
