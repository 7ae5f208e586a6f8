"""Browser tools in real headless Chromium: a scripted agent fills and submits a form on a local page."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from tests.agents.scripted import ScriptedChat, answer, call, images_in
from vlkit.agents import BrowserSession, browser_tools, create_vlm_agent, run_summary

pytestmark = pytest.mark.browser


def centre(session: BrowserSession, selector: str) -> dict[str, int]:
    box = session.page.run(lambda p: p.locator(selector).bounding_box())
    return {"x": int(box["x"] + box["width"] / 2), "y": int(box["y"] + box["height"] / 2)}


def test_scripted_agent_fills_and_submits_a_form(assets_url) -> None:
    asked: list[list[str]] = []

    def confirm(action: Any, risks: list[str]) -> bool:
        asked.append(risks)
        return True

    session = BrowserSession([assets_url], width=1024, height=700, confirm=confirm, detect_injection=False)
    url = f"{assets_url}/signup.html"
    model = ScriptedChat(script=[
        call("browser_open", url="http://example.com/"),  # off the allowlist: fed back
        call("browser_open", url=url),
        lambda _: call("browser_action", kind="left_click", **centre(session, "#name")),
        call("browser_action", kind="type", text="Ada Lovelace"),
        call("browser_action", kind="left_click", x=5000, y=10),  # off-screen: fed back
        lambda _: call("browser_action", kind="left_click", **centre(session, "#email")),
        call("browser_action", kind="type", text="ada@example.org"),
        lambda _: call("browser_action", kind="left_click", **centre(session, "#submit")),
        answer("Signed up as Ada Lovelace."),
    ])
    try:
        state = create_vlm_agent(model, browser_tools(session), max_steps=12).invoke(
            {"messages": [{"role": "user", "content": f"Sign up as Ada Lovelace, ada@example.org, on {url}"}]}
        )
        result = session.page.run(lambda p: p.evaluate("window.submitted"))
        shown = session.page.run(lambda p: p.inner_text("#result"))
    finally:
        session.close()

    assert result == {"name": "Ada Lovelace", "email": "ada@example.org"}
    assert shown == "Thanks, Ada Lovelace! We wrote to ada@example.org."
    assert len(asked) == 1 and "submitting a form" in asked[0]  # the policy asked before submitting
    errors = [m for m in state["messages"] if isinstance(m, ToolMessage) and m.status == "error"]
    assert len(errors) == 2
    assert assets_url in errors[0].text  # the allowed origin is named
    assert "less than or equal to 1023" in errors[1].text
    # every step after opening shows the model the page as it is now
    assert all(len(images_in(model.calls[i])) >= 1 for i in range(2, len(model.calls)))
    assert run_summary(state).answer == "Signed up as Ada Lovelace." and run_summary(state).stop_reason is None


def test_risky_action_without_confirmation_is_not_executed(assets_url) -> None:
    session = BrowserSession([assets_url], width=1024, height=700, detect_injection=False)
    try:
        session.open(f"{assets_url}/signup.html")
        from vlkit.tools.gui._actions import PointAction

        outcome = session.act(PointAction(kind="left_click", **centre(session, "#submit")))
        submitted = session.page.run(lambda p: p.evaluate("window.submitted"))
    finally:
        session.close()
    assert outcome[0]["text"].startswith("Not executed") and "submitting a form" in outcome[0]["text"]
    assert submitted is None and outcome[-1]["type"] == "image"
