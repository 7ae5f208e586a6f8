"""``vlkit gui plan`` and ``vlkit gui eval``: the next GUI action on a screenshot, and point-in-box accuracy."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from vlkit.cli._console import console, err_console, printable
from vlkit.cli._exits import epilog
from vlkit.cli._inputs import check_images, load_image, text_argument
from vlkit.cli.llm import ModelOptions, with_model_options
from vlkit.cli._outputs import output_file, prepare_folder

__all__ = ["app"]

app = typer.Typer(
    help="Plan GUI actions (click, type, scroll …) on screenshots with a Qwen VLM, in the screenshot's pixels.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


class Device(str, Enum):
    desktop = "desktop"
    mobile = "mobile"


MaxPixelsOpt = Annotated[
    Optional[int], typer.Option(min=1, help="Visual budget in pixels (default: the model's; more = finer coordinates).")
]
MaxTokensOpt = Annotated[int, typer.Option(min=8, help="Most new tokens per answer.")]


def _model(options: ModelOptions, max_tokens: int) -> Any:
    return options.build(max_tokens=max_tokens, noise="the action is noise")


# no model --device on these commands: --device names the screen (desktop, mobile); the model runs on the best
# device available
@app.command("plan", epilog=epilog())
@with_model_options(device=False)
def plan(
    screenshot: Annotated[Path, typer.Argument(help="The screenshot (PNG or JPEG).")],
    goal: Annotated[str, typer.Argument(help="What to do, e.g. \"Sign in\" or \"Open the settings\".",
                                        callback=text_argument("goal", "Sign in"))],
    device: Annotated[Device, typer.Option(help="desktop: computer_use actions; mobile: mobile_use actions.")] = Device.desktop,
    history: Annotated[
        Optional[list[str]], typer.Option("--step", help="A step already done (repeat, in order).", show_default=False)
    ] = None,
    draw: Annotated[
        Optional[Path],
        typer.Option(help="Write the screenshot with the action marked to this picture (.png, .jpg or .webp).",
                     callback=output_file("--draw", image=True)),
    ] = None,
    zoom: Annotated[Optional[float], typer.Option(min=1.01, help="Zoom-and-verify: re-ground in a 1/ZOOM crop.")] = None,
    model_options: ModelOptions = ModelOptions(),
    max_pixels: MaxPixelsOpt = None,
    max_tokens: MaxTokensOpt = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the action as JSON.")] = False,
) -> None:
    """Plan the next action on SCREENSHOT towards GOAL; coordinates are SCREENSHOT's pixels. Nothing is executed.

    Examples:

      vlkit gui plan screen.png "Sign in" --draw plan.png

      vlkit gui plan phone.png "Open the camera" --device mobile --model Qwen/Qwen2.5-VL-3B-Instruct

      vlkit gui plan screen.png "Sign in" --tiny qwen3_vl --draw out.png   # offline, random weights
    """
    from rich.text import Text

    from vlkit.tools.gui import GUIActionPlanner, draw_action

    image = load_image(screenshot, "SCREENSHOT", model_options.max_image_pixels)  # checked before a model loads
    llm = _model(model_options, max_tokens)
    planner = GUIActionPlanner(
        model=llm, device=device.value, family=model_options.family_name, max_pixels=max_pixels, zoom=zoom
    )
    with err_console.status("planning"):
        action = planner.plan(image, goal, history or ())
    if as_json:
        console.print_json(action.model_dump_json())
    else:
        console.print(Text(printable(action.describe()), style="bold"))
        if action.thought:
            console.print(Text(printable(action.thought)), style="dim")
        geometry = planner.geometry(image.size)
        err_console.print(
            Text(f"screen {image.width}x{image.height}, model view {geometry.model_size[0]}x{geometry.model_size[1]} "
                 f"({planner.spec().model_type}, {geometry.convention})", style="dim")
        )  # fmt: skip
    if draw is not None:  # checked when the options were parsed (outputs.output_file)
        draw_action(image, action).save(draw)
        err_console.print(Text(f"wrote {printable(draw)}", style="dim"))


@app.command("eval", epilog=epilog())
@with_model_options(device=False)
def eval_(
    folder: Annotated[Path, typer.Argument(help="A set with items.jsonl (see --make, which creates FOLDER).")],
    make: Annotated[
        bool, typer.Option("--make", help="First render vlkit's own set into FOLDER with headless Chromium.")
    ] = False,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N items.")] = None,
    model_options: ModelOptions = ModelOptions(),
    max_pixels: MaxPixelsOpt = None,
    max_tokens: MaxTokensOpt = 128,
    report: Annotated[
        Optional[Path],
        typer.Option(help="Write per-item results as JSON lines here.", callback=output_file("--report")),
    ] = None,
) -> None:
    """Point-in-box accuracy over FOLDER's (screenshot, instruction, target box) items, ScreenSpot's rule.

    Examples:

      vlkit gui eval /tmp/gui-eval --make --tiny qwen3_vl --limit 10

      vlkit gui eval /tmp/gui-eval --model Qwen/Qwen2.5-VL-3B-Instruct
    """
    from rich.progress import Progress
    from rich.table import Table

    from vlkit.errors import UserError
    from vlkit.tools.gui import GUIActionPlanner, evaluate
    from vlkit.tools.gui.evalset import generate_evalset, load_items

    if make:
        prepare_folder(folder, "FOLDER")
        with err_console.status("rendering the eval set with headless Chromium"):
            generate_evalset(folder)
    elif not (folder / "items.jsonl").is_file():
        raise UserError(f"no eval set at {folder} (no items.jsonl); make one with: vlkit gui eval {folder} --make")
    items = load_items(folder)[: limit or None]
    check_images([folder / item.image for item in items], "FOLDER", model_options.max_image_pixels)  # before a model loads
    total = len(items)
    llm = _model(model_options, max_tokens)

    def planner_for(device: str) -> GUIActionPlanner:
        return GUIActionPlanner(model=llm, device=device, family=model_options.family_name, max_pixels=max_pixels)

    lines: list[str] = []
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("planning", total=total)

        def on_item(result: Any) -> None:
            progress.advance(task)
            lines.append(json.dumps({"image": result.item.image, "instruction": result.item.instruction,
                                     "box": result.item.box, "point": result.point, "hit": result.hit,
                                     "kind": result.kind, "error": result.error}, ensure_ascii=False))  # fmt: skip

        result = evaluate(planner_for, folder, limit=limit, on_item=on_item)
    table = Table(title=f"point-in-box accuracy {result.accuracy:.1%} ({sum(r.hit for r in result.results)}/{total})")
    table.add_column("viewport")
    table.add_column("hits", justify="right")
    for name, (hits, count) in result.by(lambda item: item.viewport).items():
        table.add_row(_plain(name), f"{hits}/{count}")
    console.print(table)
    if report is not None:
        report.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _plain(value: str) -> Any:
    """User data as plain text, never markup."""
    from rich.text import Text

    return Text(printable(value))
