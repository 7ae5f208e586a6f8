"""Finding, loading and caching local checkpoints (transformers backend).

A checkpoint is loaded once per (folder, device, dtype, attention) and shared by every ChatQwenVL that
asks for it; each loaded model carries a lock so generation from several threads is serialised.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlkit.errors import ModelNotFoundError, OfflineModelError, UnsupportedModelError
from vlkit.extras import require
from vlkit.models.machine import default_threads, unset_thread_counts
from vlkit.vision.families import FamilySpec, family_of_folder

__all__ = ["LoadedModel", "load_model", "resolve_checkpoint", "pick_device", "pick_dtype"]

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, str, str, str], "LoadedModel"] = {}
_CACHE_LOCK = threading.Lock()
_THREADS_SET: int | None = None
"""What vlkit last passed to ``torch.set_num_threads`` (so a second load does not mistake it for the user's)."""


@dataclass
class LoadedModel:
    """A model with its tokenizer and image processor, ready to generate."""

    folder: Path
    family: FamilySpec
    model: Any
    tokenizer: Any
    image_processor: Any
    chat_template: str | None
    device: str
    dtype: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    video_processor: Any = None
    """The checkpoint's official video processor, loaded on the first video where torchvision imports
    (False: tried, none; vlkit's own path is used — see ``backends/_video.py``)."""


def _torch():
    require("transformers", "local", "the local transformers backend")
    return require("torch", "local", "the local transformers backend")


def resolve_checkpoint(model: str, *, local_files_only: bool = False) -> Path:
    """A local folder for ``model`` (a folder path or a Hugging Face id), or a typed error saying what to do."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} is not a checkpoint folder (no config.json)")
        return path
    if model.startswith((".", "/", "~")) or model.count("/") != 1 or os.sep != "/" and os.sep in model:
        raise ModelNotFoundError(
            f"model folder '{model}' does not exist; pass an existing checkpoint folder or a Hugging Face id "
            "such as Qwen/Qwen2-VL-2B-Instruct"
        )
    snapshot_download = require("huggingface_hub", "local", "downloading models").snapshot_download
    hub_errors = require("huggingface_hub.errors", "local", "downloading models")
    LocalEntryNotFoundError, RepositoryNotFoundError = hub_errors.LocalEntryNotFoundError, hub_errors.RepositoryNotFoundError
    try:
        return Path(snapshot_download(model, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    offline = local_files_only or os.environ.get("HF_HUB_OFFLINE", "0") not in {"", "0", "false", "False"}
    hint = (
        f"download it where the hub is reachable (hf download {model} --local-dir DIR), copy DIR here "
        "and pass it with --model DIR (or model=DIR / VLKIT_MODEL=DIR); to try vlkit offline without "
        "weights, use a tiny random checkpoint: vlkit chat --tiny qwen2_vl \"describe\""
    )
    if offline:
        raise OfflineModelError(f"model '{model}' is not in the local cache and offline mode is on; {hint}")
    log.info("downloading %s from the Hugging Face hub", model)
    try:
        return Path(snapshot_download(model))
    except RepositoryNotFoundError:
        raise ModelNotFoundError(f"model '{model}' does not exist on the Hugging Face hub (or is private)") from None
    except Exception as exc:  # network failures come in many types (httpx, requests, OSError)
        raise OfflineModelError(
            f"model '{model}' is not in the local cache and the hub cannot be reached ({exc.__class__.__name__}); {hint}"
        ) from None


def pick_device(device: str | None) -> str:
    """``cuda`` when present, else ``mps``, else ``cpu`` — unless ``device`` names one."""
    torch = _torch()
    if device and device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (AVX512-BF16 or AMX); else bf16 would be emulated and slow."""
    torch = _torch()
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    if probe is not None and probe():
        return True
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe is not None and probe())


def pick_dtype(device: str, dtype: str | None) -> Any:
    """bf16 on CUDA (fp16 on cards without bf16), bf16 on CPUs with native bf16 else fp32, fp16 on MPS."""
    torch = _torch()
    if dtype and dtype != "auto":
        try:
            return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}.get(dtype) or getattr(
                torch, dtype
            )
        except AttributeError:
            raise UnsupportedModelError(f"unknown dtype '{dtype}'; use auto, bfloat16, float16 or float32") from None
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else torch.float32


def pick_attention(device: str, attn_implementation: str | None) -> str:
    if attn_implementation:
        return attn_implementation
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def load_model(
    model: str,
    *,
    device: str | None = None,
    dtype: str | None = None,
    attn_implementation: str | None = None,
    local_files_only: bool = False,
    threads: int | None = None,
) -> LoadedModel:
    """Load (once) and return the checkpoint ``model`` — a folder or a Hugging Face id.

    On the CPU, torch's threads are set to ``threads``, else to :func:`~vlkit.models.machine.default_threads`
    unless the user chose them (``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, or ``torch.set_num_threads``).
    """
    torch = _torch()
    folder = resolve_checkpoint(model, local_files_only=local_files_only)
    family = family_of_folder(folder)
    device = pick_device(device)
    if device.startswith("cpu"):
        _cpu_threads(torch, threads)
    torch_dtype = pick_dtype(device, dtype)
    attn = pick_attention(device, attn_implementation)
    key = (str(folder.resolve()), device, str(torch_dtype), attn)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        from transformers import AutoTokenizer

        log.info("loading %s (%s) on %s as %s with %s attention", folder, family.model_type, device, torch_dtype, attn)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        image_processor = _image_processor(folder)
        net = _from_pretrained(folder, torch_dtype, attn)
        net.to(device).eval()
        _greedy_defaults(net)
        template = _chat_template(folder, tokenizer)
        loaded = LoadedModel(folder, family, net, tokenizer, image_processor, template, device, torch_dtype)
        _CACHE[key] = loaded
        return loaded


def _cpu_threads(torch: Any, threads: int | None) -> None:
    """Give torch ``threads`` (default: :func:`default_threads`), unless the user already chose a count.

    torch's own default is every core of the affinity mask, ignoring a container's CPU quota (64 threads
    on a 64-core host for a 4-CPU container); vlkit's is the physical cores the process may use.
    """
    global _THREADS_SET
    current = torch.get_num_threads()
    if threads is None and "VLKIT_THREADS" not in os.environ and current != _THREADS_SET:
        chosen = next((f"{name}={os.environ[name]}" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if os.environ.get(name)), None)
        if chosen is None and current not in unset_thread_counts():
            chosen = "torch.set_num_threads"
        if chosen is not None:
            log.info("CPU threads: %d, as set by %s", current, chosen)
            return
    threads = threads or default_threads()
    if threads != current:
        torch.set_num_threads(threads)
    _THREADS_SET = threads
    log.info("CPU threads: %d (torch had %d; VLKIT_THREADS sets them)", threads, current)


def _from_pretrained(folder: Path, torch_dtype: Any, attn: str) -> Any:
    """The network with its weights materialised once, straight into ``torch_dtype``.

    transformers memory-maps safetensors and converts each tensor as it loads it; the mapped pages it has
    read stay resident until the whole load ends, so converting a bf16 checkpoint to fp32 peaked at 1.5×
    the fp32 weights and an fp32 one to bf16 at 3× the bf16 weights (``benchmarks/bench_load.py``). When
    the stored dtype differs from ``torch_dtype``, each tensor is read without a mapping and converted on
    its own instead: the peak is the converted weights plus the few tensors in flight. When it does not,
    the mapping is the cheapest load there is (no copy) and transformers loads as usual.
    """
    from transformers import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING, AutoConfig, AutoModelForImageTextToText, GenerationConfig

    config = AutoConfig.from_pretrained(folder)
    model_class = MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING[type(config)]
    state = None
    if not (getattr(model_class, "_keep_in_fp32_modules", None) or getattr(model_class, "_keep_in_fp32_modules_strict", None)):
        state = _converted_weights(folder, config, torch_dtype)
    if state is None:
        return AutoModelForImageTextToText.from_pretrained(folder, dtype=torch_dtype, attn_implementation=attn)
    generation = GenerationConfig.from_pretrained(folder) if (folder / "generation_config.json").is_file() else None
    net = model_class.from_pretrained(None, config=config, state_dict=state, dtype=torch_dtype,
                                      attn_implementation=attn, generation_config=generation)  # fmt: skip
    net.config.name_or_path = str(folder)  # from_pretrained(None, …) has no name to record
    return net


_SAFETENSORS_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def _weight_files(folder: Path) -> list[Path]:
    """The checkpoint's safetensors files (one, or the shards its index lists); [] for other formats."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()
        return [folder / name for name in sorted(set(names))]
    single = folder / "model.safetensors"
    return [single] if single.is_file() else []


def _stored_dtypes(file: Path) -> set[str]:
    """The dtypes in a safetensors file (``F32``, ``BF16``, …), from its header alone."""
    with file.open("rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    return {entry["dtype"] for key, entry in header.items() if key != "__metadata__"}


def _converted_weights(folder: Path, config: Any, torch_dtype: Any) -> dict[str, Any] | None:
    """Every tensor of the checkpoint, its floating ones converted to ``torch_dtype`` one at a time; None when
    no conversion is needed, or for checkpoints transformers must convert itself (quantized, not safetensors)."""
    files = _weight_files(folder)
    target = _SAFETENSORS_NAMES.get(str(torch_dtype).removeprefix("torch."))
    if not files or target is None or getattr(config, "quantization_config", None) is not None:
        return None
    stored = set().union(*(_stored_dtypes(file) for file in files))
    floating = {name for name in stored if name.startswith(("F", "BF"))}
    if floating <= {target} or not floating <= set(_SAFETENSORS_NAMES.values()):  # nothing to do, or fp8 & co.
        return None
    from concurrent.futures import ThreadPoolExecutor

    from safetensors import safe_open

    state: dict[str, Any] = {}
    for file in files:
        try:  # pread: the bytes are read into the tensor, no file page stays mapped
            handle = safe_open(file, framework="pt", device="cpu", backend="pread")
        except TypeError:  # safetensors before 0.8 has no backend choice
            return None

        def read(key: str) -> tuple[str, Any]:
            tensor = handle.get_tensor(key)
            return key, tensor.to(torch_dtype) if tensor.is_floating_point() else tensor

        with handle, ThreadPoolExecutor(min(8, default_threads())) as pool:  # torch converts without the GIL
            state.update(pool.map(read, handle.keys()))
    return state


def _greedy_defaults(net: Any) -> None:
    """Make the checkpoint's generation config greedy and sampling-free by default.

    Qwen ships ``do_sample=True, top_k=1, top_p=0.001, temperature=0.01`` (greedy in effect); transformers
    merges those into every call's config, which then warns on each greedy call. vlkit sets sampling per call
    (``temperature`` > 0), so the checkpoint keeps only its other defaults (eos/pad ids, repetition penalty).
    """
    config = getattr(net, "generation_config", None)
    if config is None:
        return
    config.do_sample = False
    config.temperature = None
    config.top_p = None
    config.top_k = None


def _image_processor(folder: Path) -> Any:
    """The checkpoint's image processor; the PIL one when torchvision is missing (no video processor needed)."""
    if importlib.util.find_spec("torchvision") is not None:
        from transformers import AutoImageProcessor

        return AutoImageProcessor.from_pretrained(folder)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil.from_pretrained(folder)


def _chat_template(folder: Path, tokenizer: Any) -> str | None:
    """The tokenizer's template, else the processor's (``chat_template.jinja`` / ``chat_template.json``)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.chat_template
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    js = folder / "chat_template.json"
    if js.is_file():
        import json

        return json.loads(js.read_text(encoding="utf-8")).get("chat_template")
    return None
