"""``vlkit html``: screenshot → HTML with render-and-compare refinement, and ``vlkit html eval``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from vlkit.cli._console import console, err_console, plural, printable
from vlkit.cli._exits import epilog
from vlkit.cli._inputs import check_images, load_image
from vlkit.cli.llm import ModelOptions, with_model_options
from vlkit.cli._outputs import output_file, prepare_file, prepare_folder

__all__ = ["app"]

TERM_LABELS = {
    "total": "total",
    "block_match": "block match",
    "text": "text",
    "position": "position",
    "colour": "text colour",
    "layout": "layout (SSIM)",
    "appearance": "colours (histogram)",
}


class _ScreenshotFirst(TyperGroup):
    """``vlkit html SHOT.png …`` is short for ``vlkit html convert SHOT.png …``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["convert", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ScreenshotFirst,
    help=(
        "Turn a screenshot into a self-contained HTML file (render, score, fix, keep the best round).\n\n"
        "[bold]vlkit html SHOT.png[/] is short for [bold]vlkit html convert SHOT.png[/] "
        "(a screenshot literally named 'eval' is passed as ./eval)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)

RoundsOpt = Annotated[int, typer.Option("--rounds", "-r", min=1, max=8, help="Most model calls: a draft plus revisions.")]
MaxTokensOpt = Annotated[int, typer.Option(min=1, help="Most new tokens per answer (a page needs 1500-4000).")]


def _build_model(options: ModelOptions, max_tokens: int) -> Any:
    return options.build(max_tokens=max_tokens, noise="the HTML it writes is noise")


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _terms_line(terms: dict[str, float]) -> str:
    return "  ".join(f"{TERM_LABELS[k]} {v:.3f}" for k, v in terms.items() if k != "total")


@app.command("convert", epilog=epilog())
@with_model_options()
def convert(
    screenshot: Annotated[Path, typer.Argument(metavar="SHOT.png", help="Screenshot of the page (PNG/JPEG).")],
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="HTML file to write (default: SHOT with .html); folders are created.",
                     callback=output_file("--output")),
    ] = None,
    rounds: RoundsOpt = 3,
    compare: Annotated[
        Optional[Path],
        typer.Option(help="Side-by-side picture (screenshot | render | diff heat-map; .png, .jpg or .webp); "
                          "default: PAGE.compare.png.", callback=output_file("--compare", image=True)),
    ] = None,
    instructions: Annotated[Optional[str], typer.Option(help="Extra wishes for the page, e.g. 'use a dark theme'.")] = None,
    target: Annotated[float, typer.Option(min=0.0, max=1.0, help="Stop once the visual score reaches this.")] = 0.95,
    model_options: ModelOptions = ModelOptions(),
    max_tokens: MaxTokensOpt = 4096,
) -> None:
    """Write an HTML file that looks like SHOT, plus its render and a side-by-side comparison.

    Each round the page is rendered in headless Chromium (JavaScript and network off) at the screenshot's size, scored against it, and the differences are told to the model in words; the best-scoring round is kept, and refining stops when a round does not improve. Writes PAGE.html, PAGE.render.png and PAGE.compare.png (screenshot | render | differences).

    Examples:

      vlkit html shot.png -o page.html --rounds 3

      vlkit html shot.png --backend openai --base-url http://127.0.0.1:8000/v1

      vlkit html shot.png --tiny qwen2_vl --max-tokens 64   # offline, random weights
    """
    from rich.markup import escape

    from vlkit.tools.html import ScreenshotToHTML

    shot = load_image(screenshot, "SHOT.png", model_options.max_image_pixels)  # checked before a model loads
    output = output or prepare_file(screenshot.with_suffix(".html"), "--output")
    render_path = prepare_file(output.with_name(output.stem + ".render.png"), "--output", image=True)
    compare = compare or prepare_file(output.with_name(output.stem + ".compare.png"), "--compare", image=True)
    llm = _build_model(model_options, max_tokens)
    tool = ScreenshotToHTML(model=llm, target=target)

    with _progress() as progress:
        task = progress.add_task(f"round 1/{rounds}: writing the page", total=rounds)

        def on_round(r: Any) -> None:
            if r.score is not None:
                line = f"round {r.index + 1}: score [bold]{r.score.total:.3f}[/]  [dim]{_terms_line(r.score.terms())}[/]"
            else:
                line = f"round {r.index + 1}: [yellow]{escape(printable(r.error))}[/] (told the model)"
            progress.console.print(line, highlight=False)
            progress.update(task, advance=1, description=f"round {r.index + 2}/{rounds}: revising the page")

        result = tool.convert(shot, instructions=instructions, rounds=rounds, on_round=on_round, fallback_to_text=True)
        progress.update(task, completed=rounds)

    output.write_text(result.html, encoding="utf-8")  # the output paths were checked and their folders made
    result.render.save(render_path)
    result.side_by_side().save(compare)
    if result.from_text:
        err_console.print(
            f"[yellow]no round gave an HTML document in {plural(len(result.rounds), 'round')}; "
            "wrote the last answer as a text page[/]"
        )
    if model_options.tiny is not None:
        err_console.print("[yellow]random weights: the page written is noise, only the pipeline is real[/]")
    which = "text page" if result.from_text else f"best: round {result.best_round + 1} of {len(result.rounds)}"
    console.print(f"{which}, score [bold]{result.score.total:.3f}[/]", highlight=False)
    for path, what in ((output, "HTML"), (render_path, "render"), (compare, "side-by-side")):
        console.print(f"{what:>12}: {escape(printable(path))}", highlight=False)


@app.command("eval", epilog=epilog())
@with_model_options()
def evaluate(
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Folder of NAME.png screenshots with their NAME.html references.")
    ],
    generate: Annotated[
        bool, typer.Option(help="First write vlkit's own generated set (6 pages) into FOLDER (created if missing).")
    ] = False,
    baseline: Annotated[
        bool, typer.Option(help="Score each reference HTML's own render (no model): checks the set and the score.")
    ] = False,
    rounds: RoundsOpt = 2,
    model_options: ModelOptions = ModelOptions(),
    max_tokens: MaxTokensOpt = 4096,
    json_out: Annotated[
        Optional[Path],
        typer.Option("--json", help="Also write every page's terms as JSON here.", callback=output_file("--json")),
    ] = None,
) -> None:
    """Run the tool on every screenshot of FOLDER and print the mean of each score term.

    Examples:

      vlkit html eval evalset/ --generate --baseline     # write the built-in set, score its references

      vlkit html eval evalset/ --model Qwen/Qwen2.5-VL-3B-Instruct --rounds 2
    """
    from rich.markup import escape
    from rich.table import Table

    from vlkit.tools.html import TERMS, ScreenshotToHTML, visual_score
    from vlkit.tools.html.evalset import evaluation_pairs, write_evalset
    from vlkit.tools.html.page_text import render_with_text

    if generate:
        prepare_folder(folder, "FOLDER")
        with err_console.status("rendering the built-in evaluation pages"):
            write_evalset(folder)
    pairs = evaluation_pairs(folder)
    check_images([png for png, _ in pairs], "FOLDER", model_options.max_image_pixels)  # before a model loads
    tool = None
    if not baseline:
        llm = _build_model(model_options, max_tokens)
        tool = ScreenshotToHTML(model=llm)

    rows: dict[str, dict[str, float]] = {}
    with _progress() as progress:
        task = progress.add_task("scoring", total=len(pairs))
        for png, html_path in pairs:
            progress.update(task, description=f"{escape(printable(png.name))}")
            shot = load_image(png, "FOLDER", model_options.max_image_pixels)
            if tool is None:
                # the render's text comes from its DOM: only the screenshot is OCR'd
                score = visual_score(shot, render_with_text(html_path.read_text(encoding="utf-8"), *shot.size))
            else:
                score = tool.convert(shot, rounds=rounds, fallback_to_text=True).score
            rows[png.stem] = score.terms()
            progress.console.print(f"{escape(printable(png.stem))}: {score.total:.3f}", highlight=False)
            progress.advance(task)

    table = Table(title=f"{'reference renders' if baseline else 'model pages'} over {plural(len(rows), 'page')}")
    table.add_column("term")
    table.add_column("mean", justify="right")
    for term in ("total", *TERMS):
        table.add_row(TERM_LABELS[term], f"{sum(r[term] for r in rows.values()) / len(rows):.3f}")
    console.print(table)
    if model_options.tiny is not None:
        err_console.print("[yellow]random weights: these scores measure noise, only the pipeline is real[/]")
    if json_out is not None:
        json_out.write_text(json.dumps(rows, indent=2), encoding="utf-8")
