"""``vlkit export``: a Hugging Face Qwen-VL folder → a folder llama.cpp runs (GGUF), loadable by ChatQwenVL.

The folder written holds the language model (``model-<QUANT>.gguf``), the vision encoder and projector
(``mmproj-<QUANT>.gguf``), the source's tokenizer, chat template and ``config.json`` (vlkit builds the
prompt and counts tokens with them, exactly as for the source), and the manifest
(:mod:`vlkit.models.exported`). Conversion is llama.cpp's own ``convert_hf_to_gguf.py`` — the one shipped
with the installed llama-cpp-python, taken from its source distribution on first use (or from
``VLKIT_LLAMA_CPP_DIR``, a llama.cpp checkout) — and quantisation is llama.cpp's ``llama_model_quantize``.

Example:
    ```python
    from vlkit.models.export import export_model

    export_model("Qwen/Qwen2-VL-2B-Instruct", "qwen2vl-q4", quant="Q4_K_M")
    ChatQwenVL(model="qwen2vl-q4")  # runs on llama.cpp
    ```
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Callable

from vlkit.errors import ExportError, InvalidArgumentError, UnsupportedModelError, Words
from vlkit.extras import require
from vlkit.models.exported import ExportManifest
from vlkit.vision.families import family_of_folder

__all__ = ["GGUF_QUANTS", "MMPROJ_QUANTS", "export_model", "llama_cpp_source"]

log = logging.getLogger(__name__)

GGUF_QUANTS = {"F16": 1, "Q8_0": 7, "Q6_K": 18, "Q5_K_M": 17, "Q4_K_M": 15, "Q4_0": 2}
"""Language-model weight types (llama.cpp's ``LLAMA_FTYPE_MOSTLY_*``); Q4_K_M is the usual CPU choice."""
MMPROJ_QUANTS = {"BF16": "bf16", "F16": "f16", "Q8_0": "q8_0", "F32": "f32"}
"""Vision-encoder weight types (what the converter writes directly). ``"auto"`` picks BF16 on a CPU with
native bf16 (AVX512-BF16 or AMX: llama.cpp's vision encoder runs 1.5× faster than at F16 there), else F16."""
EXPORTABLE = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")
COPIED = (
    "config.json", "generation_config.json", "preprocessor_config.json", "video_preprocessor_config.json",
    "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
    "added_tokens.json", "chat_template.json", "chat_template.jinja",
)  # fmt: skip

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage names what runs now; total 0 when unknown."""


def llama_cpp_source() -> Path:
    """A folder with llama.cpp's ``convert_hf_to_gguf.py``, ``conversion/`` and ``gguf-py/`` matching the
    installed llama-cpp-python: ``VLKIT_LLAMA_CPP_DIR``, else a cache extracted from the package's source
    distribution (downloaded with pip once)."""
    given = os.environ.get("VLKIT_LLAMA_CPP_DIR")
    if given:
        folder = Path(given).expanduser()
        if not (folder / "convert_hf_to_gguf.py").is_file():
            raise InvalidArgumentError(f"VLKIT_LLAMA_CPP_DIR={given} holds no convert_hf_to_gguf.py (a llama.cpp checkout does)")
        return folder
    llama_cpp = require("llama_cpp", "llamacpp", "exporting to GGUF")
    version = llama_cpp.__version__
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vlkit" / f"llama.cpp-{version}"
    if (cache / "convert_hf_to_gguf.py").is_file():
        return cache
    log.info("fetching llama.cpp's converter from the llama-cpp-python %s source distribution", version)
    with tempfile.TemporaryDirectory(prefix="vlkit-sdist-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-binary", ":all:",
               "--no-deps", "-q", "-d", tmp]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        archives = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if done.returncode != 0 or not archives:
            raise ExportError(
                f"could not download llama-cpp-python {version}'s source distribution for its GGUF converter "
                f"({done.stderr.strip().splitlines()[-1:] or 'no archive'}); set VLKIT_LLAMA_CPP_DIR to a llama.cpp "
                "checkout of the same version instead"
            )
        _extract_converter(archives[0], cache)
    return cache


def _extract_converter(archive: Path, dest: Path) -> None:
    wanted = re.compile(r"^[^/]+/vendor/llama\.cpp/(convert_hf_to_gguf\.py|conversion/.*|gguf-py/.*)$")
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            match = wanted.match(member.name)
            if match and (member.isfile() or member.isdir()):
                member.name = match.group(1)
                tar.extract(member, staging, filter="data")
    if not (staging / "convert_hf_to_gguf.py").is_file():
        raise ExportError(f"{archive.name} holds no vendor/llama.cpp/convert_hf_to_gguf.py")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def export_model(
    source: str | Path,
    dest: str | Path,
    *,
    to: str = "gguf",
    quant: str = "Q4_K_M",
    mmproj_quant: str = "auto",
    overwrite: bool = False,
    progress: Progress | None = None,
    local_files_only: bool = False,
) -> ExportManifest:
    """Export the checkpoint ``source`` (a folder or a Hugging Face id) into the folder ``dest``.

    Raises :class:`~vlkit.errors.UnsupportedModelError` for a family llama.cpp cannot run,
    :class:`~vlkit.errors.InvalidArgumentError` for an unknown quant or a non-empty ``dest`` (unless
    ``overwrite``), :class:`~vlkit.errors.MissingExtraError` without llama-cpp-python, and
    :class:`ExportError` when the converter fails.
    """
    from vlkit.models.backends.loading import resolve_checkpoint

    if to != "gguf":
        raise InvalidArgumentError(
            f"unknown export format '{to}'; vlkit exports to gguf (llama.cpp). OpenVINO: run optimum-intel's "
            "`optimum-cli export openvino` in a separate environment (it needs transformers < 5.6)"
        )
    quant, mmproj_quant = quant.upper(), _vision_quant(mmproj_quant.upper())
    if quant not in GGUF_QUANTS:
        raise InvalidArgumentError(f"unknown quant '{quant}'; choose one of {', '.join(GGUF_QUANTS)}")
    if mmproj_quant not in MMPROJ_QUANTS:
        raise InvalidArgumentError(f"unknown vision quant '{mmproj_quant}'; choose auto or one of {', '.join(MMPROJ_QUANTS)}")
    folder = resolve_checkpoint(str(source), local_files_only=local_files_only)
    family = family_of_folder(folder)
    if family.model_type not in EXPORTABLE:
        raise UnsupportedModelError(f"{folder} is a {family.model_type} model; vlkit exports {', '.join(EXPORTABLE)}")
    dest = Path(dest).expanduser()
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise InvalidArgumentError(f"{dest} exists and is not empty; ", Words(
            python="pass overwrite=True to replace it", cli="pass --overwrite to replace it",
            http="choose another folder", ui="choose another folder"))  # fmt: skip
    llama_cpp = require("llama_cpp", "llamacpp", "exporting to GGUF")
    report = progress or (lambda stage, done, total: None)
    converter = llama_cpp_source()
    dest.mkdir(parents=True, exist_ok=True)
    text_total, vision_total = _tensor_counts(folder)

    model_file = f"model-{quant}.gguf"
    mmproj_file = f"mmproj-{mmproj_quant}.gguf"
    with tempfile.TemporaryDirectory(prefix="vlkit-export-", dir=dest) as tmp:
        f16 = Path(tmp) / "model-F16.gguf"
        _convert(converter, folder, f16, "f16", mmproj=False, stage="language model → GGUF", total=text_total,
                 report=report)  # fmt: skip
        _convert(converter, folder, dest / mmproj_file, MMPROJ_QUANTS[mmproj_quant], mmproj=True,
                 stage="vision encoder → GGUF", total=vision_total, report=report)  # fmt: skip
        if quant == "F16":
            shutil.move(str(f16), dest / model_file)
        else:
            report(f"quantising to {quant}", 0, 0)
            _quantize(llama_cpp, f16, dest / model_file, quant)
            report(f"quantising to {quant}", 1, 1)
    for name in COPIED:
        if (folder / name).is_file():
            shutil.copy2(folder / name, dest / name)
    manifest = ExportManifest(
        format="gguf",
        family=family.model_type,
        quant=quant,
        model_file=model_file,
        mmproj_file=mmproj_file,
        mmproj_quant=mmproj_quant,
        source=str(source),
        runtime={"llama_cpp_python": llama_cpp.__version__, "vlkit": _vlkit_version()},
    )
    manifest.write(dest)
    return manifest


def _vision_quant(asked: str) -> str:
    if asked != "AUTO":
        return asked
    from vlkit.models.backends.loading import cpu_supports_bf16

    return "BF16" if cpu_supports_bf16() else "F16"


def _tensor_counts(folder: Path) -> tuple[int, int]:
    """``(language model, vision)`` tensors in the checkpoint's safetensors, for the progress bars (the
    converter may split or merge a few, so a bar is close, not exact)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = list(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}))
    else:
        names = []
        for shard in folder.glob("*.safetensors"):
            with open(shard, "rb") as fh:
                size = int.from_bytes(fh.read(8), "little")
                names += [key for key in json.loads(fh.read(size)) if key != "__metadata__"]
    vision = sum(1 for name in names if "visual." in name)
    return len(names) - vision, vision


_TENSOR_LINE = re.compile(r"INFO:hf-to-gguf:\S+,\s+torch\.\w+ --> ")


def _convert(converter: Path, folder: Path, out: Path, outtype: str, *, mmproj: bool, stage: str, total: int,
             report: Progress) -> None:  # fmt: skip
    """Run llama.cpp's converter in a child process (it is a script), counting the tensors it writes."""
    cmd = [sys.executable, "-m", "vlkit.models._gguf_convert", str(converter), str(folder), "--outfile", str(out),
           "--outtype", outtype]  # fmt: skip
    if mmproj:
        cmd.append("--mmproj")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    done, tail = 0, []
    report(stage, 0, total)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            if _TENSOR_LINE.match(line):
                done += 1
                report(stage, min(done, total) if total else done, total)
        code = proc.wait()
    if code != 0 or not out.is_file():
        raise ExportError(f"llama.cpp's converter failed ({stage}, exit {code}):\n" + "\n".join(tail))
    report(stage, total or done, total or done)


def _quantize(llama_cpp, source: Path, out: Path, quant: str) -> None:
    from vlkit.models.backends.llamacpp import route_logs

    route_logs(llama_cpp)  # llama.cpp's per-tensor lines go to vlkit's logger (warnings only), not stdout
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = GGUF_QUANTS[quant]
    params.nthread = os.cpu_count() or 1
    code = llama_cpp.llama_model_quantize(str(source).encode(), str(out).encode(), params)
    if code != 0 or not out.is_file():
        raise ExportError(f"llama.cpp could not quantise {source.name} to {quant} (status {code})")


def _vlkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vlkit")
    except PackageNotFoundError:
        return "unknown"
