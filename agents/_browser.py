"""A small browser tool set for GUI prototypes: open an allowlisted page, look at it, act on it.

One :class:`BrowserSession` is one headless-Chromium page (:func:`vlkit.tools.render.live_page`, JavaScript
on, requests to origins off the allowlist blocked). Its tools return the screenshot after every step as
an image block, so the agent sees what its action did. Actions go through the GUI tool's
:class:`~vlkit.tools.gui.PageExecutor` and :class:`~vlkit.tools.gui.ActionPolicy` — a risky one (a form
submission, typing into a password field, leaving the allowlist) runs only if ``confirm`` says yes.

* ``browser_open(url)`` — navigate (only to an allowed origin);
* ``browser_screenshot()`` — the page as it is now;
* ``browser_action(kind, x, y, …)`` — one action in screenshot pixels (the schema bounds the
  coordinates to the viewport, so a grammar-decoded call is always on-screen);
* ``browser_step(instruction)`` (with ``model``) — :class:`~vlkit.tools.gui.GUIActionPlanner`
  plans the next action for the instruction in the model's own coordinate format, then it is executed.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
from contextlib import ExitStack
from typing import Any, Callable, Literal

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, create_model

from vlkit.errors import ToolCallError

__all__ = ["BrowserSession", "browser_tools"]

logger = logging.getLogger(__name__)

WEB_KINDS = ("left_click", "double_click", "right_click", "mouse_move", "type", "key", "scroll", "left_click_drag", "wait")


class BrowserSession:
    """One headless-Chromium page behind an allowlist and an :class:`~vlkit.tools.gui.ActionPolicy`.

    Args:
        allowed_origins: ``scheme://host[:port]`` the page may open and load from.
        width, height: the viewport in CSS pixels (screenshots have this size).
        confirm: ``confirm(action, risks) -> bool`` for risky actions; None refuses them.
        policy: a ready ``ActionPolicy`` instead (its ``allowed_origins`` win).
    """

    def __init__(
        self,
        allowed_origins: list[str],
        *,
        width: int = 1280,
        height: int = 800,
        confirm: Callable[[Any, list[str]], bool] | None = None,
        policy: Any = None,
        detect_injection: bool = True,
    ) -> None:
        from vlkit.tools.gui import ActionPolicy

        self.policy = policy or ActionPolicy(
            allowed_origins=list(allowed_origins), confirm=confirm, detect_injection=detect_injection
        )
        self.width, self.height = width, height
        self.history: list[str] = []
        """One line per executed action, for the planner's step history."""
        self._stack = ExitStack()
        self._page: Any = None
        self._executor: Any = None
        self._last_shot: Any = None
        self._lock = threading.Lock()

    @property
    def allowed_origins(self) -> list[str]:
        return list(self.policy.allowed_origins or [])

    @property
    def page(self) -> Any:
        """The :class:`~vlkit.tools.render.LivePage` (Chromium starts on first use); ``page.run(fn)`` drives it."""
        return self._live()

    def _live(self) -> Any:
        with self._lock:
            if self._page is None:
                from vlkit.tools.gui import PageExecutor
                from vlkit.tools.render import live_page

                self._page = self._stack.enter_context(
                    live_page(width=self.width, height=self.height, allow=self.policy.origin_allowed)
                )
                self._executor = PageExecutor(self._page, self.policy)
            return self._page

    # ------------------------------------------------------------------ operations (also usable directly)

    def open(self, url: str) -> list[dict[str, Any]]:
        """Navigate to ``url``; a URL off the allowlist is a :class:`ToolCallError` naming the allowed origins."""
        if not url.startswith(("http://", "https://", "file://")) or not self.policy.origin_allowed(url):
            raise ToolCallError(
                f"{url!r} is not allowed; open a page on one of: {', '.join(self.allowed_origins) or '(none)'}"
            )
        page = self._live()
        page.goto(url)
        title = page.run(lambda p: p.title())
        return [_text(f"Opened {page.url} (title {title!r})."), *self.screenshot()]

    def screenshot(self) -> list[dict[str, Any]]:
        """The viewport as an image block, with its size in pixels."""
        image = self._live().screenshot()
        self._last_shot = image
        note = f"Screenshot, {image.width}x{image.height} pixels (x from the left, y from the top):"
        return [_text(note), _image(image)]

    def act(self, action: Any) -> list[dict[str, Any]]:
        """Execute an :data:`~vlkit.tools.gui.Action` through the policy; returns the outcome and a screenshot."""
        if self._executor is None:
            raise ToolCallError("no page is open yet; call browser_open first")
        point = action.point
        if point is not None and not (0 <= point[0] < self.width and 0 <= point[1] < self.height):
            raise ToolCallError(
                f"({point[0]}, {point[1]}) is off-screen; x must be in 0..{self.width - 1}, y in 0..{self.height - 1}"
            )
        result = self._executor.execute(action, screenshot=self._last_shot)
        if result.executed:
            self.history.append(action.describe())
            outcome = f"Done: {action.describe()} ({result.detail})."
        else:
            outcome = f"Not executed: {action.describe()}: {result.detail}."
        return [_text(outcome), *self.screenshot()]

    def close(self) -> None:
        """Close the page (idempotent)."""
        with self._lock:
            self._stack.close()
            self._page = self._executor = None


def _text(text: str) -> dict[str, Any]:
    # one line per block: LangChain's ``message.text`` joins blocks without a separator
    return {"type": "text", "text": text + "\n"}


def _image(image: Any) -> dict[str, Any]:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"type": "image", "base64": base64.b64encode(buffer.getvalue()).decode("ascii"), "mime_type": "image/png"}


# --------------------------------------------------------------------------- tools


class OpenArgs(BaseModel):
    """Arguments of ``browser_open``."""

    url: str = Field(description="The page to open (http:// or https://, on an allowed origin).")


class NoArgs(BaseModel):
    """``browser_screenshot`` takes no arguments."""


class StepArgs(BaseModel):
    """Arguments of ``browser_step``."""

    instruction: str = Field(description="The next thing to do on the page, e.g. 'type Ada into the Name field'.")


def _action_args(width: int, height: int) -> type[BaseModel]:
    """The ``browser_action`` schema with coordinates bounded to the viewport (the grammar enforces it)."""
    x = (int | None, Field(default=None, ge=0, le=width - 1, description=f"Pixels from the left, 0..{width - 1}."))
    y = (int | None, Field(default=None, ge=0, le=height - 1, description=f"Pixels from the top, 0..{height - 1}."))
    return create_model(
        "BrowserActionArgs",
        __doc__="One action on the page, in screenshot pixels.",
        kind=(Literal[WEB_KINDS], Field(description="What to do.")),  # type: ignore[valid-type]
        x=x,
        y=y,
        x2=(x[0], Field(default=None, ge=0, le=width - 1, description="Drag end x.")),
        y2=(y[0], Field(default=None, ge=0, le=height - 1, description="Drag end y.")),
        text=(str | None, Field(default=None, description="Text to type (kind=type).")),
        keys=(list[str] | None, Field(default=None, description="Keys pressed together (kind=key), e.g. ['Enter'].")),
        amount=(int | None, Field(default=None, description="Scroll pixels; positive scrolls up (kind=scroll).")),
        seconds=(float | None, Field(default=None, ge=0, le=30, description="Seconds to wait (kind=wait).")),
    )


def _to_action(args: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from vlkit.tools.gui import parse_action

    kind = args["kind"]
    needs = {
        "type": ["text"], "key": ["keys"], "scroll": ["amount"], "wait": ["seconds"],
        "left_click_drag": ["x2", "y2"],
    }.get(kind, ["x", "y"])  # fmt: skip
    missing = [n for n in needs if args.get(n) is None]
    if missing:
        raise ToolCallError(f"kind={kind!r} needs {', '.join(missing)}")
    data = {k: v for k, v in args.items() if v is not None}
    try:
        return parse_action(data)
    except ValidationError as exc:
        raise ToolCallError(f"not a valid {kind} action: {exc.errors()[0]['msg']}") from None


def browser_tools(session: BrowserSession, *, model: Any = None, planner_options: dict[str, Any] | None = None) -> list[BaseTool]:
    """The browser tools over ``session``; with a chat ``model`` also ``browser_step``, where a
    :class:`~vlkit.tools.gui.GUIActionPlanner` over ``model`` plans the step and the session executes it."""
    origins = ", ".join(session.allowed_origins) or "(none)"
    tools: list[BaseTool] = [
        StructuredTool.from_function(
            func=lambda url: session.open(url),
            name="browser_open",
            description=f"Open a web page in the browser and return its screenshot. Allowed origins: {origins}.",
            args_schema=OpenArgs,
        ),
        StructuredTool.from_function(
            func=lambda: session.screenshot(),
            name="browser_screenshot",
            description="Return a screenshot of the page as it is now.",
            args_schema=NoArgs,
        ),
        StructuredTool.from_function(
            func=lambda **args: session.act(_to_action(args)),
            name="browser_action",
            description=(
                f"Do one action on the page at screenshot pixels ({session.width}x{session.height}): click, "
                "type into the focused field, press keys, scroll, drag or wait. Returns the new screenshot."
            ),
            args_schema=_action_args(session.width, session.height),
        ),
    ]
    if model is not None:
        from vlkit.tools.gui import GUIActionPlanner

        planner = GUIActionPlanner(model=model, allowed_kinds=WEB_KINDS, **(planner_options or {}))

        def step(instruction: str) -> list[dict[str, Any]]:
            session.screenshot()
            action = planner.plan(session._last_shot, instruction, session.history)
            return [_text(f"Planned: {action.describe()}."), *session.act(action)]

        tools.append(
            StructuredTool.from_function(
                func=step,
                name="browser_step",
                description="Do the next step of an instruction on the page (the GUI planner picks the exact "
                "click or keys). Returns the new screenshot.",
                args_schema=StepArgs,
            )
        )
    return tools
