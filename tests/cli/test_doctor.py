"""Issue 26.5: ``vlkit doctor`` reports the machine and what vlkit will use on it, as text and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.models.conftest import tiny


@pytest.fixture(autouse=True)
def _no_thread_env(monkeypatch):
    for name in ("VLKIT_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)


def test_json_holds_the_facts_and_the_choice(vlkit_main):
    from vlkit.models.machine import default_threads

    res = vlkit_main("doctor", "--json", "--no-bandwidth")
    assert res.code == 0, res.output
    data = json.loads(res.out)
    machine, defaults = data["machine"], data["defaults"]
    assert 1 <= machine["usable_cores"] <= machine["physical_cores"] <= machine["logical_cores"] == os.cpu_count()
    assert machine["bandwidth_read_gbs"] is None and machine["threads"] == default_threads()
    assert {"avx512_bf16", "amx_tile", "avx512_vnni"} <= machine["flags"].keys()
    assert (defaults["backend"], defaults["threads"], data["model"]) == ("transformers", default_threads(), None)
    assert defaults["dtype"] == ("bf16" if machine["cpu_bf16"] else "fp32")
    assert defaults["summary"].startswith(f"backend transformers, dtype {defaults['dtype']}, threads {defaults['threads']}")


def test_the_report_says_what_vlkit_will_use_and_why(vlkit_main):
    from vlkit.models.machine import machine_facts

    facts = machine_facts(measure_bandwidth=False)
    res = vlkit_main("doctor")
    assert res.code == 0, res.output
    out = " ".join(res.out.split())
    assert f"CPU {facts.cpu_model}" in out
    assert f"bf16 {'yes' if facts.flags['avx512_bf16'] or facts.flags['amx_bf16'] else 'no'}" in out
    assert f"AMX {'yes' if facts.flags['amx_tile'] else 'no'}" in out
    assert f"cores {facts.physical_cores} physical, {facts.logical_cores} logical" in out
    assert "GB/s read" in out and "GB/s copy" in out  # measured: --no-bandwidth not given
    assert "llama-cpp-python" in out and "openvino-genai" in out
    dtype = "bf16" if facts.cpu_bf16 else "fp32"
    assert f"vlkit will use for a Hugging Face checkpoint: backend transformers, dtype {dtype}, threads {facts.threads}" in out
    assert "— because backend:" in out and "dtype:" in out and "threads:" in out


def test_model_says_what_vlkit_picks_for_that_folder(vlkit_main, tmp_path):
    from vlkit.models.exported import ExportManifest

    res = vlkit_main("doctor", "--no-bandwidth", "--model", tiny("qwen2_vl"))
    assert res.code == 0, res.output
    assert "Hugging Face checkpoint (qwen2_vl)" in " ".join(res.out.split())

    export = tmp_path / "q4"
    export.mkdir()
    (export / "model.gguf").write_bytes(b"")
    ExportManifest(format="gguf", family="qwen2_vl", quant="Q4_K_M", model_file="model.gguf").write(export)
    res = vlkit_main("doctor", "--json", "--no-bandwidth", "--model", export)
    assert res.code == 0, res.output
    defaults = json.loads(res.out)["defaults"]
    assert (defaults["backend"], defaults["dtype"]) == ("llamacpp", "Q4_K_M")


@pytest.mark.parametrize("args, env, says", [
    (["--model", "/no/such/folder"], {}, "does not exist"),
    ([], {"VLKIT_THREADS": "lots"}, "VLKIT_THREADS='lots' is not a number of threads"),
], ids=["missing model", "bad VLKIT_THREADS"])  # fmt: skip
def test_a_usage_error_is_one_error_line(vlkit_main, monkeypatch, args, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    res = vlkit_main("doctor", "--no-bandwidth", *args)
    assert res.code == 2 and res.err.startswith("error:") and says in " ".join(res.err.split()), res.output
    assert "Traceback" not in res.err


def test_help_says_what_it_checks(vlkit_main):
    res = vlkit_main("doctor", "--help")
    text = " ".join(res.out.split())
    assert res.code == 0
    for words in ("--json", "--no-bandwidth", "--model", "AVX512-BF16 or AMX", "VLKIT_THREADS", "Exit status: 0 ok;"):
        assert words in text, words


def test_the_vlkit_command_itself(tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.run([sys.executable, "-m", "vlkit.cli", "doctor", "--json", "--no-bandwidth"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["machine"]["logical_cores"] == os.cpu_count()
