"""``vlkit export``: a Hugging Face Qwen-VL checkpoint → a folder llama.cpp runs (GGUF, quantised)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from vlkit.cli._console import console, err_console
from vlkit.cli.llm import Family

__all__ = ["export"]


def export(
    model: Annotated[Optional[str], typer.Argument(show_default=False, help="Hugging Face id or checkpoint folder of a Qwen2-VL, Qwen2.5-VL or Qwen3-VL model.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", show_default=False, help="Folder to write [default: ./NAME-QUANT].")] = None,
    to: Annotated[str, typer.Option(help="Runtime format: gguf (llama.cpp).")] = "gguf",
    quant: Annotated[str, typer.Option(help="Language-model weights: Q4_K_M (smallest, fastest decode), Q5_K_M, Q6_K, Q8_0 (closest to the original), F16, Q4_0.")] = "Q4_K_M",
    vision_quant: Annotated[str, typer.Option(help="Vision-encoder weights: auto (BF16 on a CPU with native bf16 — AVX512-BF16 or AMX —, else F16), BF16, F16, Q8_0 or F32.")] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --out folder.")] = False,
    tiny: Annotated[Optional[Family], typer.Option(show_default=False, help="Export a tiny RANDOM checkpoint of this family (offline check; answers are noise).")] = None,
) -> None:
    r"""Convert a checkpoint for llama.cpp, once: then `vlkit chat --model OUT`, `vlkit serve --model OUT` and ChatQwenVL(model=OUT) run it on llama.cpp — on a CPU several times the decode speed of the transformers backend, in a fraction of its memory.

    Writes OUT/model-QUANT.gguf (language model), OUT/mmproj-VQUANT.gguf (vision encoder), the tokenizer, chat template and config.json (vlkit builds prompts and resizes images with them exactly as for the original) and vlkit-export.json.

    Needs the llamacpp extra (pip install 'vlkit\[llamacpp]'); the first export fetches llama.cpp's converter matching the installed llama-cpp-python (or set VLKIT_LLAMA_CPP_DIR to a llama.cpp checkout).

    Examples:
      vlkit export Qwen/Qwen2-VL-2B-Instruct --out qwen2vl-q4
      vlkit export ./Qwen3-VL-2B-Instruct --quant Q8_0 --vision-quant Q8_0
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from vlkit.errors import InvalidArgumentError
    from vlkit.models.export import export_model

    if tiny is not None:
        from vlkit.testing import tiny_checkpoint

        model = str(tiny_checkpoint(tiny.value))
        err_console.print(f"[yellow]tiny random {tiny.value} checkpoint: the export is real, its answers are noise[/]")
    if not model:
        raise InvalidArgumentError("name the checkpoint to export: vlkit export MODEL (a folder or a Hugging Face id)")
    name = Path(model.rstrip("/")).name or "model"
    dest = out or Path(f"{tiny.value if tiny is not None else name}-{quant.upper()}")
    tasks: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as bar:  # fmt: skip

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        manifest = export_model(model, dest, to=to, quant=quant, mmproj_quant=vision_quant, overwrite=overwrite,
                                progress=progress)  # fmt: skip
    for file in (manifest.model_file, manifest.mmproj_file or ""):
        size = (dest / file).stat().st_size / 2**30
        console.print(f"{escape(str(dest / file))}  {size:.2f} GiB")
    console.print(f"[green]exported[/] {manifest.family} ({manifest.quant}, vision {manifest.mmproj_quant}) to "
                  f"{escape(str(dest))}\n  run it: vlkit chat --model {escape(str(dest))} \"…\"   or   "
                  f"vlkit serve --model {escape(str(dest))}")  # fmt: skip
