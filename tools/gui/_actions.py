"""``Action``: the next GUI step, a typed union in pixels of the *original* screenshot.

Kinds are the ones of Qwen's ``computer_use`` (desktop) and ``mobile_use`` (mobile) functions; every point
is already converted from the model's units to screenshot pixels, so a caller never has to know the
family's coordinate convention. Each action keeps the model's ``thought`` (text before the call) and the
``raw`` answer, for logs and for feeding back to the model.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "Action",
    "ActionKind",
    "AnswerAction",
    "DESKTOP_KINDS",
    "DragAction",
    "KeyAction",
    "MOBILE_KINDS",
    "OpenAction",
    "PointAction",
    "ScrollAction",
    "SystemButtonAction",
    "TerminateAction",
    "TypeAction",
    "WaitAction",
    "parse_action",
]

PointKind = Literal[
    "left_click", "right_click", "middle_click", "double_click", "triple_click", "mouse_move", "click", "long_press"
]
DESKTOP_KINDS: tuple[str, ...] = (
    "key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click",
    "double_click", "triple_click", "scroll", "hscroll", "wait", "terminate", "answer",
)  # fmt: skip
"""``computer_use`` actions, in the order of Qwen's function definition."""
MOBILE_KINDS: tuple[str, ...] = (
    "key", "click", "long_press", "swipe", "type", "system_button", "open", "wait", "terminate",
)  # fmt: skip
"""``mobile_use`` actions, in the order of Qwen's function definition."""
ActionKind = Literal[
    "key", "type", "mouse_move", "left_click", "left_click_drag", "right_click", "middle_click", "double_click",
    "triple_click", "scroll", "hscroll", "wait", "terminate", "answer", "click", "long_press", "swipe",
    "system_button", "open",
]  # fmt: skip


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    thought: str = ""
    """The model's reasoning before the call (empty when decoding was constrained to the call)."""
    raw: str = ""
    """The model's answer as it came back (tool-call JSON or text)."""

    @property
    def point(self) -> tuple[int, int] | None:
        """The screen point this action acts on (the end point for a drag), or None."""
        return None

    def describe(self) -> str:
        """One line for the step history shown to the model on the next turn."""
        return self.kind  # type: ignore[attr-defined]


class PointAction(_Base):
    """A click, double/triple/right/middle click, mouse move, tap or long press at ``(x, y)``."""

    kind: PointKind
    x: int = Field(ge=0)
    """Screenshot pixels from the left edge."""
    y: int = Field(ge=0)
    """Screenshot pixels from the top edge."""
    seconds: float | None = Field(default=None, ge=0)
    """How long to press (``long_press``)."""

    @property
    def point(self) -> tuple[int, int]:
        return self.x, self.y

    def describe(self) -> str:
        return f"{self.kind} at ({self.x}, {self.y})"


class DragAction(_Base):
    """``left_click_drag`` (from the current pointer, or ``x, y``, to ``x2, y2``) or a ``swipe``."""

    kind: Literal["left_click_drag", "swipe"]
    x: int | None = Field(default=None, ge=0)
    """Start; None for ``left_click_drag``, which drags from wherever the pointer is."""
    y: int | None = Field(default=None, ge=0)
    x2: int = Field(ge=0)
    """End, screenshot pixels."""
    y2: int = Field(ge=0)

    @property
    def point(self) -> tuple[int, int]:
        return self.x2, self.y2

    @property
    def start(self) -> tuple[int, int] | None:
        return None if self.x is None or self.y is None else (self.x, self.y)

    def describe(self) -> str:
        start = f"from ({self.x}, {self.y}) " if self.start else ""
        return f"{self.kind} {start}to ({self.x2}, {self.y2})"


class TypeAction(_Base):
    """Type ``text`` into whatever has the keyboard focus."""

    kind: Literal["type"]
    text: str

    def describe(self) -> str:
        return f"type {self.text!r}"


class KeyAction(_Base):
    """Press ``keys`` together (a chord such as ``["ctrl", "a"]``), released in reverse order."""

    kind: Literal["key"]
    keys: list[str] = Field(min_length=1)

    @property
    def is_chord(self) -> bool:
        return len(self.keys) > 1

    def describe(self) -> str:
        return "key " + "+".join(self.keys)


class ScrollAction(_Base):
    """``scroll`` (vertical) or ``hscroll``; ``amount`` as Qwen writes it: positive scrolls up / left."""

    kind: Literal["scroll", "hscroll"]
    amount: int
    """Wheel pixels; positive = up (``scroll``) or left (``hscroll``), as in Qwen's function definition."""
    x: int | None = Field(default=None, ge=0)
    """Where the pointer is while scrolling (None: where it is now)."""
    y: int | None = Field(default=None, ge=0)

    @property
    def point(self) -> tuple[int, int] | None:
        return None if self.x is None or self.y is None else (self.x, self.y)

    def describe(self) -> str:
        return f"{self.kind} {self.amount}"


class WaitAction(_Base):
    """Wait ``seconds`` for the screen to change."""

    kind: Literal["wait"]
    seconds: float = Field(ge=0)

    def describe(self) -> str:
        return f"wait {self.seconds:g}s"


class SystemButtonAction(_Base):
    """A phone's system button."""

    kind: Literal["system_button"]
    button: Literal["Back", "Home", "Menu", "Enter"]

    def describe(self) -> str:
        return f"system_button {self.button}"


class OpenAction(_Base):
    """Open the app named ``text`` (mobile)."""

    kind: Literal["open"]
    text: str

    def describe(self) -> str:
        return f"open {self.text!r}"


class AnswerAction(_Base):
    """Answer the user's question with ``text`` (desktop)."""

    kind: Literal["answer"]
    text: str

    def describe(self) -> str:
        return f"answer {self.text!r}"


class TerminateAction(_Base):
    """The task is over: ``success`` or ``failure``."""

    kind: Literal["terminate"]
    status: Literal["success", "failure"]

    def describe(self) -> str:
        return f"terminate {self.status}"


Action = Annotated[
    Union[
        PointAction, DragAction, TypeAction, KeyAction, ScrollAction, WaitAction,
        SystemButtonAction, OpenAction, AnswerAction, TerminateAction,
    ],
    Field(discriminator="kind"),
]  # fmt: skip
"""The next step: one of the action classes, told apart by ``kind``."""

_ADAPTER: TypeAdapter = TypeAdapter(Action)


def parse_action(data: dict) -> "Action":
    """Validate a dict (e.g. ``action.model_dump()``) back into the right :data:`Action` class."""
    return _ADAPTER.validate_python(data)
