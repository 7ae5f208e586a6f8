"""Qwen's ``computer_use`` / ``mobile_use`` function definitions, the bounded schema decoded under, and the
answer → :data:`~vlkit.tools.gui.Action` conversion.

The definitions are package data (``prompts/computer_use.json``, ``prompts/mobile_use.json``), the text
of Qwen's cookbooks. The model reads the cookbook's ``properties`` (descriptions unchanged); the
parameters also carry an ``anyOf`` with one entry per action — which fields that action needs, with the
coordinate bounds of the family (``0…1000`` relative, or ``0…W-1`` × ``0…H-1`` of the resized image). A
local ChatQwenVL compiles that schema into an xgrammar grammar, so every answer is one on-screen action;
answers from a server are checked against the same table by :func:`action_from_arguments`, which raises
:class:`~vlkit.errors.InvalidActionError` naming what is wrong.

Qwen2-VL has no computer-use function: it is asked for a JSON action whose target is a grounding box
``"(x1,y1),(x2,y2)"`` (0–1000), the syntax of its ``<|box_start|>…<|box_end|>`` answers, and its native
free-text grounding answers are accepted as well.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from pydantic import ValidationError

from vlkit.errors import InvalidActionError, InvalidArgumentError
from vlkit.tools.gui._actions import DESKTOP_KINDS, MOBILE_KINDS, Action, parse_action
from vlkit.tools.gui._coordinates import ScreenGeometry

__all__ = [
    "FUNCTION_NAMES",
    "action_from_arguments",
    "function_definition",
    "grounding_schema",
    "kinds_for",
    "parse_answer_text",
    "prompt_text",
]

FUNCTION_NAMES = {"desktop": "computer_use", "mobile": "mobile_use"}
MAX_WAIT_S = 60
MAX_SCROLL = 10_000
_POINT_KINDS = {"mouse_move", "left_click", "right_click", "middle_click", "double_click", "triple_click", "click"}
_NUMBER = r"(1000|[1-9][0-9]{0,2}|0)"
BOX_RE = re.compile(r"\(\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\)\s*,\s*\(\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\)")
POINT_RE = re.compile(r"\(\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\)")
TOOL_CALL_RE = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


@cache
def _definition(device: str) -> dict[str, Any]:
    text = resources.files("vlkit.tools.gui").joinpath(f"prompts/{FUNCTION_NAMES[device]}.json").read_text("utf-8")
    data = json.loads(text)
    data.pop("_source", None)
    return data


@cache
def prompt_text(name: str) -> Template:
    """A prompt template of ``prompts/`` (``$goal``, ``$history``, …)."""
    return Template(resources.files("vlkit.tools.gui").joinpath(f"prompts/{name}").read_text("utf-8").strip("\n"))


def kinds_for(device: str) -> tuple[str, ...]:
    """The action kinds of ``device``'s function, in the definition's order."""
    return DESKTOP_KINDS if device == "desktop" else MOBILE_KINDS


# --------------------------------------------------------------------------- what each action needs


def _fields(device: str) -> dict[str, tuple[list[str], list[str]]]:
    """action → (required fields, optional fields), read off the definitions' "Required only by" notes."""
    if device == "desktop":
        table = {kind: (["coordinate"], []) for kind in _POINT_KINDS - {"click"}}
        table.update(
            key=(["keys"], []), type=(["text"], []), answer=(["text"], []), left_click_drag=(["coordinate"], []),
            scroll=(["pixels"], ["coordinate"]), hscroll=(["pixels"], ["coordinate"]),
            wait=(["time"], []), terminate=(["status"], []),
        )  # fmt: skip
        return table
    return {
        "key": (["text"], []), "click": (["coordinate"], []), "long_press": (["coordinate", "time"], []),
        "swipe": (["coordinate", "coordinate2"], []), "type": (["text"], []), "system_button": (["button"], []),
        "open": (["text"], []), "wait": (["time"], []), "terminate": (["status"], []),
    }  # fmt: skip


def _field_key(name: str, grounding: bool) -> str:
    """The answer's key for a field: Qwen2-VL gives targets as grounding boxes, ``box`` / ``box2``."""
    if grounding and name.startswith("coordinate"):
        return "box" if name == "coordinate" else "box2"
    return name


def _field_schema(name: str, geometry: ScreenGeometry | None, grounding: bool) -> dict[str, Any]:
    if name in {"coordinate", "coordinate2"} and grounding:
        return {"type": "string", "pattern": rf"^\({_NUMBER},{_NUMBER}\),\({_NUMBER},{_NUMBER}\)$"}
    if name in {"coordinate", "coordinate2"}:
        assert geometry is not None
        max_x, max_y = geometry.model_extent
        return {
            "type": "array",
            "prefixItems": [
                {"type": "integer", "minimum": 0, "maximum": max_x},
                {"type": "integer", "minimum": 0, "maximum": max_y},
            ],
            "items": False,
            "minItems": 2,
            "maxItems": 2,
        }
    return {
        "keys": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 5},
        "text": {"type": "string"},
        "pixels": {"type": "integer", "minimum": -MAX_SCROLL, "maximum": MAX_SCROLL},
        "time": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_S},
        "status": {"type": "string", "enum": ["success", "failure"]},
        "button": {"type": "string", "enum": ["Back", "Home", "Menu", "Enter"]},
    }[name]


def _variants(device: str, geometry: ScreenGeometry | None, kinds: tuple[str, ...], grounding: bool) -> list[dict]:
    variants = []
    for kind in kinds:
        required, optional = _fields(device)[kind]
        names = {n: _field_key(n, grounding) for n in required + optional}
        props = {"action": {"const": kind}}
        props.update({names[n]: _field_schema(n, geometry, grounding) for n in required + optional})
        variants.append(
            {
                "type": "object",
                "properties": props,
                "required": ["action", *(names[n] for n in required)],
                "additionalProperties": False,
            }
        )
    return variants


def function_definition(
    device: str, geometry: ScreenGeometry, kinds: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The OpenAI-format tool for ``device``: Qwen's definition told the model's resolution, plus the bounds.

    ``kinds`` limits the actions (an :class:`ActionPolicy`'s allowed kinds); default: all of the device's.
    """
    base = copy.deepcopy(_definition(device))
    width, height = geometry.declared_resolution
    kinds = tuple(k for k in kinds_for(device) if kinds is None or k in kinds)
    if not kinds:
        raise InvalidArgumentError(f"no {device} action is allowed; allowed kinds must include some of {', '.join(kinds_for(device))}")
    params = base["parameters"]
    params["properties"]["action"]["enum"] = list(kinds)
    params["anyOf"] = _variants(device, geometry, kinds, grounding=False)
    return {
        "type": "function",
        "function": {
            "name": base["name"],
            "description": Template(base["description"]).substitute(width=width, height=height),
            "parameters": params,
        },
    }


def grounding_schema(device: str, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Qwen2-VL's answer schema: one JSON action, targets as grounding boxes (0–1000)."""
    kinds = tuple(k for k in kinds_for(device) if kinds is None or k in kinds)
    variants = _variants(device, None, kinds, grounding=True)
    properties: dict[str, Any] = {"action": {"type": "string", "enum": list(kinds)}}
    for variant in variants:
        properties.update({k: v for k, v in variant["properties"].items() if k != "action"})
    # an object schema with the variants as anyOf: LangChain's schema conversion keeps it, xgrammar honours both
    return {"title": "gui_action", "type": "object", "properties": properties, "required": ["action"], "anyOf": variants}


# --------------------------------------------------------------------------- answers → Action


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidActionError(f"{what} must be a number, got {value!r}")
    return float(value)


def _model_point(value: Any, geometry: ScreenGeometry, what: str, grounding: bool) -> tuple[float, float]:
    """A coordinate / box as written by the model → one point in model units (box: its centre)."""
    if grounding:
        if isinstance(value, str):
            match = BOX_RE.search(value) or POINT_RE.search(value)
            if match is None:
                raise InvalidActionError(f"{what} {value!r} is not a box '(x1,y1),(x2,y2)' with 0-1000 coordinates")
            value = [float(v) for v in match.groups()]
        if not isinstance(value, (list, tuple)) or len(value) not in (2, 4):
            raise InvalidActionError(f"{what} must be a box '(x1,y1),(x2,y2)' (0-1000), got {value!r}")
        nums = [_number(v, what) for v in value]
        points = [(nums[0], nums[1])] if len(nums) == 2 else [(nums[0], nums[1]), (nums[2], nums[3])]
    else:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise InvalidActionError(f"{what} must be [x, y], got {value!r}")
        points = [(_number(value[0], what), _number(value[1], what))]
    for x, y in points:
        if not geometry.in_model_bounds(x, y):
            (max_x, max_y), (width, height) = geometry.model_extent, geometry.declared_resolution
            raise InvalidActionError(
                f"{what} ({x:g}, {y:g}) is off-screen: x must be 0..{max_x} and y 0..{max_y} "
                f"(the screen the model was told is {width}x{height})"
            )
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def action_from_arguments(
    arguments: dict[str, Any],
    geometry: ScreenGeometry,
    device: str,
    *,
    grounding: bool = False,
    thought: str = "",
    raw: str = "",
    kinds: tuple[str, ...] | None = None,
) -> Action:
    """Validate the model's call arguments and convert them to an :data:`Action` in screenshot pixels.

    Raises :class:`~vlkit.errors.InvalidActionError` naming the problem (unknown action, missing field,
    off-screen coordinate) so an agent loop can hand it back to the model.
    """
    if not isinstance(arguments, dict):
        raise InvalidActionError(f"the call's arguments must be a JSON object, got {arguments!r}")
    allowed = tuple(k for k in kinds_for(device) if kinds is None or k in kinds)
    kind = arguments.get("action")
    if grounding:  # the free-text form says "click" on a desktop too
        kind = {"desktop": {"click": "left_click", "tap": "left_click"}, "mobile": {"left_click": "click", "tap": "click"}}[
            device
        ].get(kind, kind)
    if kind not in allowed:
        raise InvalidActionError(f"unknown action {kind!r} for {device}; valid actions: {', '.join(allowed)}")
    required, optional = _fields(device)[kind]
    key = {n: _field_key(n, grounding) for n in required + optional}
    missing = [key[n] for n in required if arguments.get(key[n]) is None]
    if missing:
        raise InvalidActionError(f"action '{kind}' needs {', '.join(missing)}; got {json.dumps(arguments)[:200]}")

    def point(name: str) -> tuple[int, int] | None:
        value = arguments.get(key[name])
        if value is None:
            return None
        return geometry.to_screen(*_model_point(value, geometry, key[name], grounding))

    data: dict[str, Any] = {"kind": kind, "thought": thought, "raw": raw}
    if kind in _POINT_KINDS or kind == "long_press":
        data["x"], data["y"] = point("coordinate")  # type: ignore[misc]
        if kind == "long_press":
            data["seconds"] = _number(arguments["time"], "time")
    elif kind == "left_click_drag":
        data["x2"], data["y2"] = point("coordinate")  # type: ignore[misc]
    elif kind == "swipe":
        data["x"], data["y"] = point("coordinate")  # type: ignore[misc]
        data["x2"], data["y2"] = point("coordinate2")  # type: ignore[misc]
    elif kind in {"scroll", "hscroll"}:
        data["amount"] = int(_number(arguments["pixels"], "pixels"))
        at = point("coordinate") if "coordinate" in key else None
        if at is not None:
            data["x"], data["y"] = at
    elif kind == "key":
        keys = arguments.get("keys", arguments.get("text"))
        data["keys"] = [keys] if isinstance(keys, str) else keys
    elif kind in {"type", "answer", "open"}:
        data["text"] = arguments["text"]
    elif kind == "wait":
        data["seconds"] = _number(arguments["time"], "time")
    elif kind == "terminate":
        data["status"] = arguments["status"]
    elif kind == "system_button":
        data["button"] = arguments["button"]
    try:
        return parse_action(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'action'}: {e['msg']}" for e in exc.errors())
        raise InvalidActionError(f"action '{kind}' is not valid: {problems}") from None


def parse_answer_text(text: str, function_name: str, *, grounding: bool = False) -> tuple[dict[str, Any], str]:
    """``(arguments, thought)`` from a text answer: a Hermes ``<tool_call>``, a bare JSON call or action,
    or (Qwen2-VL) a native grounding answer such as ``click <|box_start|>(x1,y1),(x2,y2)<|box_end|>``.
    """
    match = TOOL_CALL_RE.search(text)
    thought = text[: match.start()].strip() if match else ""
    body = match.group(1) if match else text
    data = _first_json_object(body)
    if data is not None:
        if "arguments" in data or "name" in data:
            if data.get("name") != function_name:
                raise InvalidActionError(f"unknown function {data.get('name')!r}; call {function_name}")
            arguments = data.get("arguments")
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except json.JSONDecodeError:
                    raise InvalidActionError(f"the arguments of {function_name} are not JSON: {arguments[:200]!r}") from None
            return arguments, thought
        if "action" in data:
            return data, thought
    if grounding:
        return _native_grounding(text), ""
    raise InvalidActionError(
        f"no {function_name} call in the answer; answer with <tool_call>{{\"name\": \"{function_name}\", "
        f"\"arguments\": {{\"action\": ...}}}}</tool_call> (got {text[:160]!r})"
    )


def _native_grounding(text: str) -> dict[str, Any]:
    """Qwen2-VL's native answer: an action word and a ``(x1,y1),(x2,y2)`` box (box tokens optional)."""
    cleaned = re.sub(r"<\|(?:box_start|box_end|object_ref_start|object_ref_end|quad_start|quad_end)\|>", " ", text)
    boxes = list(BOX_RE.finditer(cleaned)) or list(POINT_RE.finditer(cleaned))
    if not boxes:
        raise InvalidActionError(
            f"no action in the answer; give JSON {{\"action\": ..., \"box\": \"(x1,y1),(x2,y2)\"}} (got {text[:160]!r})"
        )
    before = cleaned[: boxes[0].start()].lower()
    words = re.findall(r"[a-z_]+", before)
    known = set(DESKTOP_KINDS) | set(MOBILE_KINDS)
    kind = next((w for w in words if w in known), None) or "click"
    out: dict[str, Any] = {"action": kind, "box": boxes[0].group(0)}
    if len(boxes) > 1:
        out["box2"] = boxes[1].group(0)
    return out


def _first_json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"\{", text)][:20]:
        try:
            value, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None
