"""The examples in examples/ run: offline on tiny checkpoints (real loop, tools, browser and index), and
the GUI prototype with a scripted model that must really fill in and submit the form."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.agents.scripted import ScriptedChat, answer, call

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def field_centres(url: str) -> dict[str, dict[str, int]]:
    """Centres of the form's fields at the example's viewport, measured in a real page."""
    from vlkit.tools.render import live_page

    with live_page(url, width=1024, height=700) as page:
        boxes = {s: page.run(lambda p, s=s: p.locator(s).bounding_box()) for s in ("#name", "#email", "#submit")}
    return {s: {"x": int(b["x"] + b["width"] / 2), "y": int(b["y"] + b["height"] / 2)} for s, b in boxes.items()}


@pytest.mark.browser
def test_gui_example_completes_the_form_with_a_scripted_model(assets_url) -> None:
    gui = example("gui_agent")
    at = field_centres(f"{assets_url}/signup.html")
    model = ScriptedChat(script=[
        call("browser_open", url=f"{assets_url}/signup.html"),
        call("browser_action", kind="left_click", **at["#name"]),
        call("browser_action", kind="type", text="Ada Lovelace"),
        call("browser_action", kind="left_click", **at["#email"]),
        call("browser_action", kind="type", text="ada@example.org"),
        call("browser_action", kind="left_click", **at["#submit"]),
        answer("Signed up."),
    ])
    risks: list[list[str]] = []
    summary, submitted = gui.run(
        model, assets_url, confirm=lambda a, r: risks.append(r) or True, detect_injection=False, planner=False
    )
    assert submitted == {"name": "Ada Lovelace", "email": "ada@example.org"}
    assert risks == [["submitting a form"]]
    assert summary.answer == "Signed up." and summary.steps == 7


@pytest.mark.browser
def test_gui_example_offline_demo_runs_on_a_tiny_checkpoint(capsys) -> None:
    summary, _ = example("gui_agent").main(["--tiny", "qwen2_5_vl", "--yes", "--max-steps", "2", "--max-tokens", "64"])
    assert summary.steps <= 2
    assert {c["name"] for c in summary.tool_calls} <= {"browser_open", "browser_screenshot", "browser_action", "browser_step"}
    assert "ANSWER:" in capsys.readouterr().out


def test_kb_example_offline_demo_runs_on_a_tiny_checkpoint(capsys) -> None:
    summary = example("kb_agent").main(["--tiny", "qwen2_vl", "--max-steps", "2", "--max-tokens", "32"])
    assert summary.steps <= 2 and {c["name"] for c in summary.tool_calls} <= {"knowledge_base"}
    assert "ANSWER:" in capsys.readouterr().out


@pytest.mark.browser
def test_invoice_example_offline_demo_runs_on_a_tiny_checkpoint(capsys) -> None:
    summary = example("agent_invoices").main(["--tiny", "qwen3_vl", "--max-steps", "2", "--max-tokens", "32"])
    assert summary.steps <= 2
    for tool_call in summary.tool_calls:  # the model could only name the files it was given
        assert tool_call["name"] in {"read_invoice", "screenshot_to_html"}
        assert set(tool_call["args"].values()) & {"receipt.png", "signup_screen.png"}
    assert "ANSWER:" in capsys.readouterr().out
