"""Executors: the only part of vlkit's GUI tools that touches a screen, and only through an ActionPolicy.

* :class:`PageExecutor` drives a Playwright page (a :class:`~vlkit.tools.render.LivePage` or a sync
  ``playwright.sync_api.Page``). Actions are in screenshot pixels; the page works in CSS pixels, so points
  are divided by the page's ``devicePixelRatio`` (a 412×915 phone viewport at DPR 2 screenshots at
  824×1830). With ``full_page=True`` the screenshot was a full-page capture: the executor scrolls the point
  into view first.
* :class:`DesktopExecutor` drives the real mouse and keyboard with pyautogui (the ``desktop`` extra,
  imported when the executor is created), scaling screenshot pixels to the screen's.

``execute(action)`` gathers the :class:`~vlkit.tools.gui._policy.ScreenContext` (what is under the point,
what has focus, the URL, the screen text), asks the policy, and performs the action only when allowed.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from typing import Any, Callable

from PIL import Image
from pydantic import BaseModel, ConfigDict

from vlkit.extras import require
from vlkit.tools.gui._actions import (
    Action,
    AnswerAction,
    DragAction,
    KeyAction,
    OpenAction,
    PointAction,
    ScrollAction,
    SystemButtonAction,
    TerminateAction,
    TypeAction,
    WaitAction,
)
from vlkit.tools.gui._policy import ActionPolicy, PolicyDecision, ScreenContext, screen_text

__all__ = ["DesktopExecutor", "ExecutionResult", "Executor", "PageExecutor", "playwright_key"]

logger = logging.getLogger(__name__)

MAX_WAIT_S = 30.0

_KEY_NAMES = {
    "ctrl": "Control", "control": "Control", "alt": "Alt", "option": "Alt", "shift": "Shift",
    "cmd": "Meta", "command": "Meta", "super": "Meta", "meta": "Meta", "win": "Meta",
    "enter": "Enter", "return": "Enter", "esc": "Escape", "escape": "Escape", "tab": "Tab",
    "backspace": "Backspace", "delete": "Delete", "del": "Delete", "space": "Space", "home": "Home", "end": "End",
    "pageup": "PageUp", "pagedown": "PageDown", "page_up": "PageUp", "page_down": "PageDown",
    "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight", "insert": "Insert",
}  # fmt: skip


def playwright_key(name: str) -> str:
    """Qwen/xdotool-style key names (``ctrl``, ``Return``, ``Page_Down``, ``a``) → Playwright's."""
    low = name.strip().lower()
    if low in _KEY_NAMES:
        return _KEY_NAMES[low]
    if low.startswith("arrow") and low[5:] in {"up", "down", "left", "right"}:
        return "Arrow" + low[5:].capitalize()
    if len(low) in (2, 3) and low[0] == "f" and low[1:].isdigit():
        return low.upper()
    return name if len(name) == 1 else name[:1].upper() + name[1:]


class ExecutionResult(BaseModel):
    """What happened to one action."""

    executed: bool
    action: Any
    """The :data:`Action` asked for."""
    decision: PolicyDecision
    detail: str = ""
    """What was done, or why not."""

    model_config = ConfigDict(arbitrary_types_allowed=True)


class Executor(ABC):
    """Performs actions behind an :class:`ActionPolicy`. Subclasses implement :meth:`perform`."""

    def __init__(self, policy: ActionPolicy | None = None) -> None:
        self.policy = policy or ActionPolicy()

    def execute(self, action: Action, *, screenshot: Image.Image | None = None) -> ExecutionResult:
        """Ask the policy, then perform ``action`` if allowed. ``screenshot`` (the one the action was
        planned on) is OCR'd for injected instructions; without it the executor takes its own when it can.
        """
        context = self.context(action, screenshot)
        decision = self.policy.authorize(action, context)
        if not decision.allowed:
            logger.info("not executed: %s (%s)", action.describe(), decision.refused)
            return ExecutionResult(executed=False, action=action, decision=decision, detail=decision.refused or "")
        detail = self.perform(action)
        return ExecutionResult(executed=True, action=action, decision=decision, detail=detail)

    @abstractmethod
    def perform(self, action: Action) -> str:
        """Do ``action`` on the screen now (no policy check); returns a one-line account."""

    def context(self, action: Action, screenshot: Image.Image | None) -> ScreenContext:
        """What the policy needs to know; the base class knows only the screen text."""
        return ScreenContext(screen_text=self._text(screenshot))

    def _text(self, screenshot: Image.Image | None) -> str | None:
        if not self.policy.detect_injection or screenshot is None:
            return None
        return screen_text(screenshot)

    def take_screenshot(self) -> Image.Image | None:
        """The current screen, for the injection check (None when this executor cannot take one)."""
        return None


# --------------------------------------------------------------------------- Playwright

_CONTEXT_JS = """([x, y]) => {
  const el = document.elementFromPoint(x, y);
  const link = el && el.closest('a[href]');
  const control = el && el.closest('button, input[type=submit], input[type=image]');
  const submits = !!(control && control.form && (control.tagName !== 'BUTTON' || (control.type || 'submit') === 'submit'));
  const f = document.activeElement;
  const focused = f && f !== document.body ? (f.tagName === 'INPUT' ? (f.type || 'text') : f.tagName.toLowerCase()) : null;
  return {tag: el ? el.tagName.toLowerCase() : null, href: link ? link.href : null, submits,
          focused, focusedInForm: !!(f && f.form)};
}"""


class PageExecutor(Executor):
    """Executes actions on a Playwright page; screenshot pixels → CSS pixels by the device-pixel ratio.

    Example:
        ```python
        with live_page("http://127.0.0.1:8000/") as page:
            shot = page.screenshot()
            action = planner.plan(shot, "Sign in")
            PageExecutor(page, ActionPolicy(allowed_origins=["http://127.0.0.1:8000"])).execute(action, screenshot=shot)
        ```
    """

    def __init__(self, page: Any, policy: ActionPolicy | None = None, *, full_page: bool = False) -> None:
        super().__init__(policy)
        self._run: Callable[[Callable[[Any], Any]], Any] = page.run if hasattr(page, "run") else (lambda fn: fn(page))
        self.full_page = full_page
        """Screenshots are full-page captures (points are document coordinates)."""
        self._pointer = (0.0, 0.0)

    @property
    def device_pixel_ratio(self) -> float:
        return float(self._run(lambda p: p.evaluate("window.devicePixelRatio")) or 1.0)

    def take_screenshot(self) -> Image.Image:
        import io

        png = self._run(lambda p: p.screenshot(type="png", full_page=self.full_page))
        return Image.open(io.BytesIO(png)).convert("RGB")

    def _css(self, page: Any, x: float, y: float) -> tuple[float, float]:
        """Screenshot pixels → viewport CSS pixels (scrolling a full-page point into view first)."""
        ratio = float(page.evaluate("window.devicePixelRatio") or 1.0)
        cx, cy = (x + 0.5) / ratio, (y + 0.5) / ratio
        if self.full_page:
            height = float(page.evaluate("window.innerHeight"))
            page.evaluate("(y) => window.scrollTo(0, y)", max(0.0, cy - height / 2))
            cy -= float(page.evaluate("window.scrollY"))
            cx -= float(page.evaluate("window.scrollX"))
        return cx, cy

    def context(self, action: Action, screenshot: Image.Image | None) -> ScreenContext:
        point = action.point

        def probe(page: Any) -> dict[str, Any]:
            info: dict[str, Any] = {"url": page.url}
            at = self._css(page, *point) if point is not None else (-1.0, -1.0)
            info.update(page.evaluate(_CONTEXT_JS, list(at)))
            return info

        info = self._run(probe)
        if screenshot is None and self.policy.detect_injection:
            screenshot = self.take_screenshot()
        return ScreenContext(
            url=info.get("url"),
            target_tag=info.get("tag"),
            target_href=info.get("href"),
            target_submits=bool(info.get("submits")),
            focused_type=info.get("focused"),
            focused_in_form=bool(info.get("focusedInForm")),
            screen_text=self._text(screenshot),
        )

    def perform(self, action: Action) -> str:
        return self._run(lambda page: self._perform(page, action))

    def _perform(self, page: Any, action: Action) -> str:
        mouse, keyboard = page.mouse, page.keyboard
        if isinstance(action, PointAction):
            x, y = self._css(page, action.x, action.y)
            self._pointer = (x, y)
            if action.kind == "mouse_move":
                mouse.move(x, y)
            elif action.kind == "long_press":
                mouse.move(x, y)
                mouse.down()
                page.wait_for_timeout(min(action.seconds or 1.0, MAX_WAIT_S) * 1000)
                mouse.up()
            else:
                button = {"right_click": "right", "middle_click": "middle"}.get(action.kind, "left")
                count = {"double_click": 2, "triple_click": 3}.get(action.kind, 1)
                mouse.click(x, y, button=button, click_count=count)
            return f"{action.kind} at CSS ({x:.1f}, {y:.1f})"
        if isinstance(action, DragAction):
            start = self._css(page, *action.start) if action.start else self._pointer
            end = self._css(page, action.x2, action.y2)
            mouse.move(*start)
            mouse.down()
            mouse.move(*end, steps=12)
            mouse.up()
            self._pointer = end
            return f"{action.kind} CSS ({start[0]:.1f}, {start[1]:.1f}) → ({end[0]:.1f}, {end[1]:.1f})"
        if isinstance(action, TypeAction):
            keyboard.type(action.text)
            return f"typed {len(action.text)} characters"
        if isinstance(action, KeyAction):
            chord = "+".join(playwright_key(k) for k in action.keys)
            keyboard.press(chord)
            return f"pressed {chord}"
        if isinstance(action, ScrollAction):
            if action.point is not None:
                self._pointer = self._css(page, *action.point)
                mouse.move(*self._pointer)
            # Qwen: positive scrolls up (or left); the wheel's positive delta scrolls down (right)
            dx, dy = (-action.amount, 0) if action.kind == "hscroll" else (0, -action.amount)
            mouse.wheel(dx, dy)
            return f"wheel ({dx}, {dy}) CSS px"
        if isinstance(action, WaitAction):
            page.wait_for_timeout(min(action.seconds, MAX_WAIT_S) * 1000)
            return f"waited {min(action.seconds, MAX_WAIT_S):g} s"
        if isinstance(action, SystemButtonAction):
            if action.button == "Back":
                page.go_back()
                return "went back"
            if action.button == "Enter":
                keyboard.press("Enter")
                return "pressed Enter"
            return f"system button {action.button} has no web-page equivalent; nothing done"
        if isinstance(action, OpenAction):
            return f"opening an app ({action.text!r}) has no web-page equivalent; nothing done"
        if isinstance(action, (AnswerAction, TerminateAction)):
            return f"{action.describe()} (no screen effect)"
        raise TypeError(f"unsupported action {action!r}")


# --------------------------------------------------------------------------- desktop (pyautogui)


class DesktopExecutor(Executor):
    """Real mouse and keyboard through pyautogui (``pip install 'vlkit[desktop]'``).

    ``screenshot_size`` is the size of the screenshots actions are planned on; points are scaled to the
    screen's size as pyautogui reports it (HiDPI screens screenshot at a multiple of it).
    """

    def __init__(self, policy: ActionPolicy | None = None, *, screenshot_size: tuple[int, int] | None = None) -> None:
        super().__init__(policy)
        self._gui = require("pyautogui", "desktop", "the desktop GUI executor")
        screen = tuple(self._gui.size())
        size = screenshot_size or screen
        self._scale = (screen[0] / size[0], screen[1] / size[1])

    def take_screenshot(self) -> Image.Image:
        return self._gui.screenshot().convert("RGB")

    def context(self, action: Action, screenshot: Image.Image | None) -> ScreenContext:
        if screenshot is None and self.policy.detect_injection:
            screenshot = self.take_screenshot()
        return ScreenContext(screen_text=self._text(screenshot))

    def _xy(self, x: float, y: float) -> tuple[int, int]:
        return round((x + 0.5) * self._scale[0] - 0.5), round((y + 0.5) * self._scale[1] - 0.5)

    def perform(self, action: Action) -> str:
        gui = self._gui
        if isinstance(action, PointAction):
            x, y = self._xy(action.x, action.y)
            calls = {
                "left_click": gui.click, "click": gui.click, "right_click": gui.rightClick,
                "middle_click": gui.middleClick, "double_click": gui.doubleClick, "triple_click": gui.tripleClick,
                "mouse_move": gui.moveTo,
            }  # fmt: skip
            if action.kind == "long_press":
                gui.mouseDown(x, y)
                time.sleep(min(action.seconds or 1.0, MAX_WAIT_S))
                gui.mouseUp(x, y)
            else:
                calls[action.kind](x, y)
            return f"{action.kind} at screen ({x}, {y})"
        if isinstance(action, DragAction):
            if action.start:
                gui.moveTo(*self._xy(*action.start))
            gui.dragTo(*self._xy(action.x2, action.y2), duration=0.3, button="left")
            return f"{action.kind} to {self._xy(action.x2, action.y2)}"
        if isinstance(action, TypeAction):
            gui.write(action.text, interval=0.01)
            return f"typed {len(action.text)} characters"
        if isinstance(action, KeyAction):
            gui.hotkey(*[k.lower() for k in action.keys])
            return "pressed " + "+".join(action.keys)
        if isinstance(action, ScrollAction):
            at = self._xy(*action.point) if action.point else None
            scroll = gui.hscroll if action.kind == "hscroll" else gui.scroll
            scroll(action.amount, *(at or ()))
            return f"{action.kind} {action.amount}"
        if isinstance(action, WaitAction):
            time.sleep(min(action.seconds, MAX_WAIT_S))
            return f"waited {min(action.seconds, MAX_WAIT_S):g} s"
        return f"{action.describe()} (no desktop effect)"
