"""What this machine offers a local model, and the defaults vlkit picks from it — each with its reason.

:func:`machine_facts` reads the CPU (model, logical and physical cores, the instruction sets that decide
the dtype: AVX512-BF16, AMX, VNNI), the memory and its measured bandwidth (what bounds decoding on a CPU:
every new token reads all the weights once), and which runtimes are installed. :func:`choose_defaults`
turns that into a backend, a dtype and a thread count, and says why. ``vlkit doctor`` prints both.

Example:
    ```python
    from vlkit.models.machine import choose_defaults, machine_facts

    facts = machine_facts(measure_bandwidth=False)
    print(choose_defaults(facts, "exports/qwen2-vl-q4"))   # backend llamacpp, dtype Q4_K_M, threads 8 — because …
    ```

Threads: :func:`default_threads` is the number of physical cores this process may use (``VLKIT_THREADS``
overrides it; a set ``OMP_NUM_THREADS`` is honoured). Hyper-threads share a core's vector units, so a
second thread per core adds contention, not arithmetic; and inside a container the CPU quota and affinity
mask count, not the host's cores.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlkit.errors import InvalidArgumentError, ModelNotFoundError

__all__ = [
    "CpuInfo", "Defaults", "KEY_FLAGS", "MachineFacts", "RUNTIMES", "choose_defaults",
    "default_threads", "machine_facts", "memory_bandwidth", "parse_cpuinfo", "physical_cores", "unset_thread_counts",
]

KEY_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "f16c", "fma")
"""The CPU flags (as ``/proc/cpuinfo`` spells them) that decide which kernels and dtypes run fast."""

RUNTIMES = {
    "torch": "torch", "transformers": "transformers", "llama_cpp": "llama-cpp-python",
    "openvino_genai": "openvino-genai", "optimum.intel": "optimum-intel",
}  # fmt: skip
"""Importable module -> its distribution on PyPI (whose metadata gives the version without importing it)."""

_SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class CpuInfo:
    """What ``/proc/cpuinfo`` says."""

    model: str
    logical: int
    """Processor entries (hardware threads)."""
    physical: int | None
    """Distinct (``physical id``, ``core id``) pairs; None when the file does not say (some VMs, ARM)."""
    flags: frozenset[str]


@dataclass(frozen=True)
class MachineFacts:
    """This machine as vlkit sees it (all plain values: :meth:`as_dict` is JSON)."""

    cpu_model: str
    logical_cores: int
    physical_cores: int
    usable_cores: int
    """Physical cores this process may run on: its affinity mask, capped by a container's CPU quota."""
    flags: dict[str, bool]
    """Each of :data:`KEY_FLAGS`: present or not."""
    memory_total_gib: float | None
    memory_available_gib: float | None
    threads: int
    """What vlkit runs local models with (:func:`default_threads`)."""
    threads_reason: str
    bandwidth_read_gbs: float | None = None
    """Measured memory read bandwidth, GB/s (None: not measured)."""
    bandwidth_copy_gbs: float | None = None
    """Measured copy bandwidth, GB/s, counted as STREAM does (bytes read + bytes written)."""
    bandwidth_method: str = "not measured"
    runtimes: dict[str, str | None] = field(default_factory=dict)
    """Each of :data:`RUNTIMES`: its installed version, None when missing."""
    torch_cpu_bf16: bool | None = None
    """torch's own view of native bf16 on this CPU (None: torch is not installed)."""
    cuda_device: str | None = None
    cuda_bf16: bool | None = None

    @property
    def cpu_bf16(self) -> bool:
        """Native bf16 arithmetic: AVX512-BF16 or AMX-BF16 (else bf16 is emulated, slower than fp32)."""
        if self.torch_cpu_bf16 is not None:
            return self.torch_cpu_bf16
        return self.flags.get("avx512_bf16", False) or self.flags.get("amx_bf16", False)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cpu_bf16": self.cpu_bf16}


@dataclass(frozen=True)
class Defaults:
    """What vlkit picks for a model on this machine, and why (``str()`` is the one-line answer)."""

    backend: str
    device: str
    dtype: str
    threads: int
    reasons: dict[str, str]
    """``backend``, ``dtype``, ``threads``: the reason for each choice."""
    ready: bool = True
    """False when the backend's runtime is not installed (``reasons["backend"]`` says what to install)."""

    def __str__(self) -> str:
        why = "; ".join(f"{key}: {self.reasons[key]}" for key in ("backend", "dtype", "threads"))
        return f"backend {self.backend}, dtype {self.dtype}, threads {self.threads} on {self.device} — because {why}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": str(self)}


# ------------------------------------------------------------------ CPU and cores


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def parse_cpuinfo(text: str) -> CpuInfo:
    """Read the model name, processors, physical cores and flags out of ``/proc/cpuinfo`` text."""
    model, flags, logical = "", frozenset(), 0
    cores: set[tuple[str, str]] = set()
    physical_id = core_id = None
    for line in [*text.splitlines(), ""]:
        key, _, value = (part.strip() for part in line.partition(":"))
        if not key:  # a blank line ends one processor's block
            if core_id is not None:
                cores.add((physical_id or "0", core_id))
            physical_id = core_id = None
        elif key == "processor":
            logical += 1
        elif key in ("model name", "Hardware", "cpu model") and not model:
            model = value
        elif key in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
        elif key == "physical id":
            physical_id = value
        elif key == "core id":
            core_id = value
    return CpuInfo(model, logical, len(cores) or None, flags)


def _cpu_list(text: str) -> set[int]:
    """``0-3,8,10-11`` (the kernel's CPU list format) as a set of CPU numbers."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if part:
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def _allowed_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return set(range(os.cpu_count() or 1))


def physical_cores(cpus: set[int] | None = None) -> int:
    """Physical cores among ``cpus`` (default: every online CPU), from the kernel's sibling lists;
    ``/proc/cpuinfo``'s core ids where sysfs has none; ``os.cpu_count()`` as a last resort."""
    cpus = cpus if cpus is not None else _cpu_list(_read(_SYS_CPU / "online") or "") or set(range(os.cpu_count() or 1))
    siblings = [_read(_SYS_CPU / f"cpu{cpu}" / "topology" / "thread_siblings_list") for cpu in sorted(cpus)]
    if siblings and None not in siblings:  # one list per core: the CPUs that share it
        return len({frozenset(_cpu_list(text)) for text in siblings if text is not None})
    info = parse_cpuinfo(_read("/proc/cpuinfo") or "")
    if info.physical and info.logical:  # no sysfs: scale to the CPUs asked about
        return max(1, round(info.physical * len(cpus) / info.logical))
    return max(1, len(cpus) if cpus else os.cpu_count() or 1)


def _cpu_quota() -> float | None:
    """CPUs a container may use in total (cgroup v2 ``cpu.max``, v1 ``cfs_quota_us``); None: no quota."""
    text = _read("/sys/fs/cgroup/cpu.max")  # "max 100000" (none) or "200000 100000" (2 CPUs)
    if text is None:
        text = f"{_read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')} {_read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')}"
    try:
        quota, period = (int(field) for field in text.split())
    except ValueError:  # "max …", a missing file ("None None"), anything unexpected: no quota
        return None
    return quota / period if quota > 0 and period > 0 else None


def _usable_cores() -> tuple[int, str]:
    """Physical cores this process may use, and how they were counted."""
    allowed = _allowed_cpus()
    cores = physical_cores(allowed)
    why = "one per physical core (hyper-threads share a core's vector units)"
    if len(allowed) < (os.cpu_count() or len(allowed)):
        why = f"one per physical core of the {len(allowed)} CPUs this process may use (hyper-threads share a core's vector units)"
    quota = _cpu_quota()
    if quota is not None and math.ceil(quota) < cores:
        cores, why = max(1, math.ceil(quota)), f"the container's CPU quota ({quota:g} CPUs)"
    return cores, why


def _threads_and_reason() -> tuple[int, str]:
    for name in ("VLKIT_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        try:  # OMP_NUM_THREADS may be a nested list, "8,2": the outer level is ours
            threads = int(value.split(",")[0])
        except ValueError:
            threads = 0
        if threads < 1:
            raise InvalidArgumentError(f"{name}={value!r} is not a number of threads; set it to a whole number ≥ 1, or unset it")
        return threads, f"{name}={value} is set"
    cores, why = _usable_cores()
    return cores, f"{why}; VLKIT_THREADS overrides"


def unset_thread_counts() -> set[int]:
    """The thread counts torch and OpenMP pick by themselves here (the physical cores, or the logical CPUs,
    of the affinity mask): a different count was set by someone (``torch.set_num_threads``)."""
    allowed = _allowed_cpus()
    return {physical_cores(allowed), len(allowed)}


def default_threads() -> int:
    """Threads for local models: ``VLKIT_THREADS`` when set, else ``OMP_NUM_THREADS`` when set, else the
    physical cores this process may use (its affinity mask, capped by a container's CPU quota)."""
    return _threads_and_reason()[0]


# ------------------------------------------------------------------ memory


def _meminfo_gib() -> tuple[float | None, float | None]:
    values = {}
    for line in (_read("/proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        if rest.split():
            values[key] = int(rest.split()[0]) / 2**20  # kB -> GiB
    total = values.get("MemTotal")
    if total is None and hasattr(os, "sysconf"):  # macOS and other systems without /proc
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        except (ValueError, OSError):
            total = None
    available = values.get("MemAvailable")
    return (round(total, 1) if total else None), (round(available, 1) if available else None)


def _l3_bytes() -> int:
    sizes = []
    for index in _SYS_CPU.glob("cpu0/cache/index*"):
        if (_read(index / "level") or "").strip() == "3":
            text = (_read(index / "size") or "0K").strip().upper()
            scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
            sizes.append(int(text.rstrip("KMG") or 0) * scale)
    return max(sizes, default=0)


def memory_bandwidth(threads: int, *, mib: int | None = None, repeats: int = 5) -> tuple[float, float, str]:
    """Memory bandwidth in GB/s: ``(read, copy, how)``, the best of ``repeats`` passes over a buffer far
    larger than the L3 cache (default: 256 MiB, or 4× the L3 where that is larger), split over ``threads``.

    numpy releases the GIL while it sums or copies a large array, so Python threads run in parallel; one
    thread alone rarely saturates a server's memory. About a second on a laptop.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    size = (mib or max(256, 4 * _l3_bytes() // 2**20)) * 2**20
    available = _meminfo_gib()[1]
    if mib is None and available:  # two buffers of `size`: at most a quarter of the free memory
        size = max(32 * 2**20, min(size, int(available * 2**30) // 8))
    count = size // 8
    source = np.ones(count, dtype=np.float64)  # touched here, so page faults are not timed
    target = np.zeros(count, dtype=np.float64)
    parts = [slice(i * count // threads, (i + 1) * count // threads) for i in range(threads)]

    def best(work) -> float:
        fastest = math.inf
        with ThreadPoolExecutor(threads) as pool:
            for _ in range(repeats):
                started = time.perf_counter()
                list(pool.map(work, parts))
                fastest = min(fastest, time.perf_counter() - started)
        return fastest

    read = best(lambda part: source[part].sum())
    copy = best(lambda part: np.copyto(target[part], source[part]))
    plural = "s" if threads != 1 else ""
    how = f"numpy, {threads} thread{plural} over {size // 2**20} MiB, best of {repeats}; copy counts bytes read + written"
    return round(size / read / 1e9, 1), round(2 * size / copy / 1e9, 1), how


# ------------------------------------------------------------------ runtimes


def _installed_runtimes() -> dict[str, str | None]:
    """Version of each of :data:`RUNTIMES`, read from package metadata (none of them is imported)."""
    found: dict[str, str | None] = {}
    for module, distribution in RUNTIMES.items():
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):  # the parent package ("optimum") is missing or broken
            spec = None
        try:
            found[module] = importlib.metadata.version(distribution) if spec is not None else None
        except importlib.metadata.PackageNotFoundError:
            found[module] = "installed (version unknown)"
    return found


def _torch_facts() -> dict[str, Any]:
    """torch's view: native CPU bf16, the CUDA device. Imports torch, which these questions need."""
    from vlkit.models.backends.loading import cpu_supports_bf16

    import torch

    facts: dict[str, Any] = {"torch_cpu_bf16": cpu_supports_bf16()}
    if torch.cuda.is_available():
        facts["cuda_device"] = torch.cuda.get_device_name(0)
        facts["cuda_bf16"] = bool(torch.cuda.is_bf16_supported())
    return facts


def machine_facts(measure_bandwidth: bool = True) -> MachineFacts:
    """Read this machine's facts; ``measure_bandwidth`` adds about a second for the memory measurement."""
    info = parse_cpuinfo(_read("/proc/cpuinfo") or "")
    logical = os.cpu_count() or info.logical or 1
    threads, reason = _threads_and_reason()
    usable, _ = _usable_cores()
    total, available = _meminfo_gib()
    runtimes = _installed_runtimes()
    extra: dict[str, Any] = {}
    if measure_bandwidth:
        read, copy, how = memory_bandwidth(usable)
        extra = {"bandwidth_read_gbs": read, "bandwidth_copy_gbs": copy, "bandwidth_method": how}
    if runtimes.get("torch") and runtimes.get("transformers"):
        extra.update(_torch_facts())
    return MachineFacts(
        cpu_model=info.model or platform.processor() or platform.machine() or "unknown",
        logical_cores=logical,
        physical_cores=physical_cores(),
        usable_cores=usable,
        flags={flag: flag in info.flags for flag in KEY_FLAGS},
        memory_total_gib=total,
        memory_available_gib=available,
        threads=threads,
        threads_reason=reason,
        runtimes=runtimes,
        **extra,
    )


# ------------------------------------------------------------------ choices


def _local_dtype(facts: MachineFacts) -> tuple[str, str, str]:
    """(device, dtype, why) for the transformers backend — the same rule as ``loading.pick_dtype``."""
    if facts.cuda_device:
        if facts.cuda_bf16:
            return "cuda", "bf16", f"{facts.cuda_device} computes in bf16"
        return "cuda", "fp16", f"{facts.cuda_device} has no bf16; fp16 is its fast half precision"
    if facts.cpu_bf16:
        which = "AMX" if facts.flags.get("amx_bf16") else "AVX512-BF16"
        return "cpu", "bf16", f"the CPU has native bf16 ({which}): half the memory traffic of fp32 per token"
    return "cpu", "fp32", "the CPU has no native bf16 (neither AVX512-BF16 nor AMX), where bf16 is emulated and slower than fp32"


def _folder(model: str | Path) -> Path:
    """``model`` as a folder: a path, or a Hugging Face id already in the local cache (nothing is downloaded)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelNotFoundError(f"{path} is a file; give the model's folder")
    from vlkit.models.backends.loading import resolve_checkpoint

    return resolve_checkpoint(str(model), local_files_only=True)


def choose_defaults(facts: MachineFacts, model_folder: str | Path | None = None) -> Defaults:
    """The backend, device, dtype and threads vlkit uses for ``model_folder`` on the machine ``facts``
    describe, each with its reason. ``model_folder``: a folder, or a Hugging Face id already in the local
    cache; None means a Hugging Face checkpoint such as the default model.

    A folder made by ``vlkit export --to gguf`` runs on llama.cpp, a Hugging Face checkpoint (``config.json``)
    on transformers.
    """
    threads_why = facts.threads_reason
    backend_why = "a Hugging Face checkpoint (the default model); a folder made by vlkit export runs on llama.cpp"
    if model_folder is not None:
        from vlkit.models.exported import MANIFEST, read_manifest

        folder = _folder(model_folder)
        manifest = read_manifest(folder)
        if manifest is not None and manifest.format != "gguf":
            reasons = {"backend": f"{folder.name}/{MANIFEST} says {manifest.format}; vlkit runs gguf exports "
                       "(vlkit export --to gguf)", "dtype": "the weights as exported", "threads": threads_why}  # fmt: skip
            return Defaults(manifest.format, "cpu", manifest.quant, facts.threads, reasons, ready=False)
        if manifest is not None:
            module, backend, install = "llama_cpp", "llamacpp", "pip install 'vlkit[llamacpp]'"
            version = facts.runtimes.get(module)
            runtime = RUNTIMES[module]
            installed = f"and {runtime} {version} is installed" if version else f"but {runtime} is not installed: {install}"
            backend_why = f"{folder.name}/{MANIFEST} says {manifest.format}, {installed}"
            reasons = {"backend": backend_why, "dtype": "the weights as exported", "threads": threads_why}
            return Defaults(backend, "cpu", manifest.quant, facts.threads, reasons, ready=version is not None)
        if not (folder / "config.json").is_file():
            raise ModelNotFoundError(
                f"{folder} is neither a Hugging Face checkpoint (no config.json) nor a vlkit export (no {MANIFEST}); "
                "pass a checkpoint folder or a folder made by vlkit export"
            )
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type", "unknown")
        backend_why = f"{folder.name} is a Hugging Face checkpoint ({model_type})"
    ready = bool(facts.runtimes.get("torch") and facts.runtimes.get("transformers"))
    if not ready:
        backend_why += ", but torch and transformers are not both installed: pip install 'vlkit[local]'"
    device, dtype, dtype_why = _local_dtype(facts)
    if device != "cpu":
        threads_why += f" (they only prepare inputs: the model runs on {device})"
    reasons = {"backend": backend_why, "dtype": dtype_why, "threads": threads_why}
    return Defaults("transformers", device, dtype, facts.threads, reasons, ready=ready)
