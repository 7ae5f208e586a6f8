"""Issue 26.5: the machine's facts (cores, CPU flags, memory, bandwidth, runtimes) and the defaults vlkit
picks from them — read from this machine, and from recorded ``/proc/cpuinfo`` texts of others."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.models.conftest import tiny
from vlkit.errors import InvalidArgumentError, ModelNotFoundError
from vlkit.models.machine import (
    KEY_FLAGS,
    MachineFacts,
    choose_defaults,
    default_threads,
    machine_facts,
    parse_cpuinfo,
    physical_cores,
    unset_thread_counts,
)

DATA = Path(__file__).parent / "data"
EPYC = DATA / "cpuinfo-epyc-2core.txt"
"""The machine these tests were written on: a 2-core AMD EPYC VM with AVX512-BF16 and no AMX."""
SAPPHIRE_RAPIDS = DATA / "cpuinfo-sapphire-rapids-2c4t.txt"
"""An Intel Xeon 8481C (Sapphire Rapids) VM with AMX: 2 cores, 2 hyper-threads each."""


@pytest.fixture(scope="module")
def facts() -> MachineFacts:
    return machine_facts(measure_bandwidth=False)


def _with_cpu(facts: MachineFacts, cpuinfo: Path) -> MachineFacts:
    """``facts`` as if read on the machine of ``cpuinfo`` (flags only; torch's own view unknown, no GPU)."""
    flags = parse_cpuinfo(cpuinfo.read_text(encoding="utf-8")).flags
    return dataclasses.replace(facts, flags={f: f in flags for f in KEY_FLAGS}, torch_cpu_bf16=None, cuda_device=None,
                               cuda_bf16=None)  # fmt: skip


@pytest.fixture
def no_thread_env(monkeypatch):
    for name in ("VLKIT_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# ------------------------------------------------------------------ /proc/cpuinfo


def test_cpuinfo_of_an_avx512_bf16_machine_without_amx():
    info = parse_cpuinfo(EPYC.read_text(encoding="utf-8"))
    assert (info.model, info.logical, info.physical) == ("AMD EPYC", 2, 2)
    assert {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "f16c", "fma"} <= info.flags
    assert not {"amx_tile", "amx_bf16", "amx_int8", "avx_vnni"} & info.flags


def test_cpuinfo_of_an_amx_machine_counts_hyperthreads_once():
    info = parse_cpuinfo(SAPPHIRE_RAPIDS.read_text(encoding="utf-8"))
    assert info.model.startswith("Intel(R) Xeon(R) Platinum 8481C")
    assert (info.logical, info.physical) == (4, 2)
    assert set(KEY_FLAGS) <= info.flags  # every flag that matters, AMX and both VNNIs included


def test_cpuinfo_without_core_ids_leaves_physical_cores_unknown():
    info = parse_cpuinfo("processor\t: 0\nflags\t\t: fma avx2\n\nprocessor\t: 1\nflags\t\t: fma avx2\n")
    assert (info.logical, info.physical, info.flags) == (2, None, frozenset({"fma", "avx2"}))


# ------------------------------------------------------------------ this machine


def test_this_machines_cores_flags_memory_and_runtimes(facts):
    assert 1 <= facts.usable_cores <= facts.physical_cores <= facts.logical_cores == os.cpu_count()
    assert physical_cores({min(os.sched_getaffinity(0))}) == 1
    assert list(facts.flags) == list(KEY_FLAGS)
    assert facts.flags == {f: f in parse_cpuinfo(Path("/proc/cpuinfo").read_text()).flags for f in KEY_FLAGS}
    assert 0 < facts.memory_available_gib <= facts.memory_total_gib
    torch = pytest.importorskip("torch")
    assert facts.runtimes["torch"] == torch.__version__
    from vlkit.models.backends.loading import cpu_supports_bf16

    assert facts.torch_cpu_bf16 == cpu_supports_bf16() == facts.cpu_bf16
    assert facts.bandwidth_read_gbs is None and facts.bandwidth_method == "not measured"
    assert facts.as_dict()["cpu_bf16"] == facts.cpu_bf16


def test_a_missing_runtime_has_no_version(facts):
    for module in ("openvino_genai", "optimum.intel", "llama_cpp"):
        try:
            present = importlib.util.find_spec(module) is not None
        except ImportError:
            present = False
        assert (facts.runtimes[module] is not None) == present, module


def test_memory_bandwidth_is_measured_and_plausible():
    facts = machine_facts()
    assert 0.5 < facts.bandwidth_read_gbs < 5000 and 0.5 < facts.bandwidth_copy_gbs < 5000
    assert f"{facts.usable_cores} thread" in facts.bandwidth_method


# ------------------------------------------------------------------ threads


def test_default_threads_are_the_usable_physical_cores(no_thread_env, facts):
    assert default_threads() == facts.usable_cores == facts.threads
    assert "physical core" in facts.threads_reason or "quota" in facts.threads_reason


def test_omp_num_threads_is_honoured_and_vlkit_threads_wins(no_thread_env):
    no_thread_env.setenv("OMP_NUM_THREADS", "8,2")  # nested OpenMP levels: the outer one
    assert default_threads() == 8
    no_thread_env.setenv("VLKIT_THREADS", "3")
    assert default_threads() == 3
    assert machine_facts(measure_bandwidth=False).threads_reason == "VLKIT_THREADS=3 is set"


@pytest.mark.parametrize("value", ["0", "many", "-2"])
def test_a_bad_thread_count_says_what_to_set(no_thread_env, value):
    no_thread_env.setenv("VLKIT_THREADS", value)
    with pytest.raises(InvalidArgumentError, match="VLKIT_THREADS=.*whole number"):
        default_threads()


def test_torchs_own_thread_count_is_recognised_as_unset(no_thread_env):
    """vlkit leaves a thread count it does not recognise as torch's default: this checks it recognises it."""
    pytest.importorskip("torch")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "VLKIT_THREADS")}
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"], env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert int(out) in unset_thread_counts()


# ------------------------------------------------------------------ choices


def test_a_hugging_face_folder_runs_on_transformers_in_the_loaders_dtype(facts):
    torch = pytest.importorskip("torch")
    from vlkit.models.backends.loading import pick_dtype

    choice = choose_defaults(facts, tiny("qwen2_vl"))
    assert (choice.backend, choice.device, choice.threads, choice.ready) == ("transformers", "cpu", facts.threads, True)
    assert {"bf16": torch.bfloat16, "fp32": torch.float32}[choice.dtype] == pick_dtype("cpu", None)
    assert "Hugging Face checkpoint (qwen2_vl)" in choice.reasons["backend"]
    assert str(choice).startswith(f"backend transformers, dtype {choice.dtype}, threads {facts.threads} on cpu — because")


def test_dtype_follows_the_cpus_bf16(facts):
    amx = choose_defaults(_with_cpu(facts, SAPPHIRE_RAPIDS))
    assert amx.dtype == "bf16" and "AMX" in amx.reasons["dtype"]
    avx512 = choose_defaults(_with_cpu(facts, EPYC))
    assert avx512.dtype == "bf16" and "AVX512-BF16" in avx512.reasons["dtype"]
    plain = _with_cpu(facts, EPYC)
    plain = dataclasses.replace(plain, flags={**plain.flags, "avx512_bf16": False})
    older = choose_defaults(plain)
    assert older.dtype == "fp32" and "emulated" in older.reasons["dtype"]


def test_on_a_gpu_the_dtype_is_the_cards(facts):
    h100 = choose_defaults(dataclasses.replace(facts, cuda_device="NVIDIA H100", cuda_bf16=True))
    assert (h100.device, h100.dtype) == ("cuda", "bf16")
    t4 = choose_defaults(dataclasses.replace(facts, cuda_device="Tesla T4", cuda_bf16=False))
    assert (t4.device, t4.dtype) == ("cuda", "fp16") and "no bf16" in t4.reasons["dtype"]


def _export(folder: Path, fmt: str, quant: str, model_file: str) -> Path:
    from vlkit.models.exported import ExportManifest

    folder.mkdir()
    (folder / model_file).write_bytes(b"")
    ExportManifest(format=fmt, family="qwen2_vl", quant=quant, model_file=model_file).write(folder)
    return folder


def test_a_gguf_export_runs_on_llama_cpp(facts, tmp_path):
    folder = _export(tmp_path / "q4", "gguf", "Q4_K_M", "model-Q4_K_M.gguf")
    installed = dataclasses.replace(facts, runtimes={**facts.runtimes, "llama_cpp": "0.3.36"})
    choice = choose_defaults(installed, folder)
    assert (choice.backend, choice.device, choice.dtype, choice.ready) == ("llamacpp", "cpu", "Q4_K_M", True)
    assert "q4/vlkit-export.json says gguf, and llama-cpp-python 0.3.36 is installed" in choice.reasons["backend"]
    missing = choose_defaults(dataclasses.replace(facts, runtimes={**facts.runtimes, "llama_cpp": None}), folder)
    assert missing.backend == "llamacpp" and not missing.ready
    assert "llama-cpp-python is not installed: pip install 'vlkit[llamacpp]'" in missing.reasons["backend"]


def test_an_export_vlkit_cannot_run_is_said_so(facts, tmp_path):
    folder = _export(tmp_path / "ov", "openvino", "INT4", "openvino_language_model.xml")
    choice = choose_defaults(facts, folder)
    assert (choice.backend, choice.dtype, choice.ready) == ("openvino", "INT4", False)
    assert "vlkit runs gguf exports" in choice.reasons["backend"]


def test_a_folder_that_is_no_model_is_refused_with_what_to_pass(facts, tmp_path):
    with pytest.raises(ModelNotFoundError, match="neither a Hugging Face checkpoint .* nor a vlkit export"):
        choose_defaults(facts, tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelNotFoundError, match="is a file"):
        choose_defaults(facts, tmp_path / "notes.txt")
