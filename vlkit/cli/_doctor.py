"""``vlkit doctor``: what this machine offers a local model, and what vlkit will pick on it — and why."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from vlkit.cli._console import console, err_console, printable

if TYPE_CHECKING:
    from vlkit.models.machine import Defaults, MachineFacts

__all__ = ["doctor"]

# flag groups as the report names them: (label, the flags that give it)
_FEATURES = [
    ("bf16", ("avx512_bf16", "amx_bf16")),
    ("AMX", ("amx_tile",)),
    ("VNNI", ("avx512_vnni", "avx_vnni")),
    ("AVX-512", ("avx512f",)),
    ("AVX2", ("avx2",)),
]


def doctor(
    model: Annotated[
        Optional[str],
        typer.Option("--model", "-m", show_default=False,
                     help="A checkpoint folder, a folder made by vlkit export, or a Hugging Face id already in the "
                     "local cache: say what vlkit would pick for it (nothing is loaded or downloaded)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts and the choices as one JSON document.")] = False,
    bandwidth: Annotated[
        bool, typer.Option("--bandwidth/--no-bandwidth", help="Measure the memory bandwidth (about a second).")
    ] = True,
) -> None:
    """Check this machine for local models, and say what vlkit will use on it and why.

    Reports the CPU and whether it computes bf16 natively (AVX512-BF16 or AMX; else vlkit uses fp32 on
    the CPU), AMX and VNNI; physical and logical cores and the threads vlkit runs with (VLKIT_THREADS or
    OMP_NUM_THREADS override them); memory and its measured bandwidth (what bounds tokens per second on
    a CPU); the installed runtimes (torch, transformers, llama-cpp-python, openvino-genai, optimum-intel)
    with their versions; then the backend, dtype and threads vlkit picks — for --model when given. A
    folder that is neither a checkpoint nor an export, or a bad VLKIT_THREADS, is a usage error.

    Examples:

      vlkit doctor

      vlkit doctor --model exports/qwen2-vl-q4         # what vlkit would pick for this folder

      vlkit doctor --json --no-bandwidth               # machine-readable, instant
    """
    from vlkit.models.machine import choose_defaults, machine_facts

    if bandwidth and not as_json:
        with err_console.status("measuring memory bandwidth"):
            facts = machine_facts(measure_bandwidth=True)
    else:
        facts = machine_facts(measure_bandwidth=bandwidth)
    defaults = choose_defaults(facts, model)
    if as_json:
        console.print_json(json.dumps({"machine": facts.as_dict(), "model": model, "defaults": defaults.as_dict()}))
        return
    console.print(_facts_table(facts))
    _print_choice(defaults, model)


def _yes(value: bool | None) -> str:
    return "unknown" if value is None else "yes" if value else "no"


def _features(facts: MachineFacts) -> str:
    parts = []
    for label, flags in _FEATURES:
        present = [flag for flag in flags if facts.flags.get(flag)]
        parts.append(f"{label} {'yes (' + ', '.join(present) + ')' if present else 'no'}")
    return "; ".join(parts)


def _facts_table(facts: MachineFacts) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    rows: list[tuple[str, str]] = [
        ("CPU", facts.cpu_model),
        ("instruction sets", _features(facts)),
        ("cores", f"{facts.physical_cores} physical, {facts.logical_cores} logical; {facts.usable_cores} usable by this process"),
        ("threads", f"{facts.threads}: {facts.threads_reason}"),
    ]
    memory = "unknown"
    if facts.memory_total_gib is not None:
        memory = f"{facts.memory_total_gib:g} GiB" + (
            f", {facts.memory_available_gib:g} GiB available" if facts.memory_available_gib is not None else "")
    rows.append(("memory", memory))
    if facts.bandwidth_read_gbs is not None:
        rows.append(("memory bandwidth", f"{facts.bandwidth_read_gbs:g} GB/s read, {facts.bandwidth_copy_gbs:g} GB/s copy "
                                         f"({facts.bandwidth_method})"))
    else:
        rows.append(("memory bandwidth", "not measured (--no-bandwidth)"))
    from vlkit.models.machine import RUNTIMES

    for module, distribution in RUNTIMES.items():
        rows.append((distribution, facts.runtimes.get(module) or "not installed"))
    if facts.runtimes.get("torch"):
        rows.append(("torch on this CPU", f"native bf16 {_yes(facts.torch_cpu_bf16)}"))
        rows.append(("CUDA", facts.cuda_device + f" (bf16 {_yes(facts.cuda_bf16)})" if facts.cuda_device else "none"))
    for label, value in rows:
        table.add_row(label, Text(printable(value)))
    return table


def _print_choice(defaults: Defaults, model: str | None) -> None:
    target = f"for {printable(model)}" if model else "for a Hugging Face checkpoint"
    console.print(Text.assemble("\nvlkit will use ", target, ": ",
                                (f"backend {defaults.backend}, dtype {defaults.dtype}, threads {defaults.threads}",
                                 "bold green" if defaults.ready else "bold yellow"),
                                f" on {defaults.device} — because"))  # fmt: skip
    reasons = Table(show_header=False, box=None, padding=(0, 1, 0, 2))
    reasons.add_column(no_wrap=True)
    reasons.add_column()
    for key in ("backend", "dtype", "threads"):
        reasons.add_row(f"{key}:", Text(printable(defaults.reasons[key])))
    console.print(reasons)
