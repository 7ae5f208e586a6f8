"""Grammar-constrained decoding with a real (tiny, random) transformers model: the output is always valid."""

from __future__ import annotations

import enum
import json
from typing import Optional

import pytest
from pydantic import BaseModel, Field

pytest.importorskip("xgrammar")
torch = pytest.importorskip("torch")

from tests.models.tiny_text_model import tiny_model, tiny_tokenizer  # noqa: E402
from vlkit.models.constrained import json_schema_processor, stop_token_ids, tool_call_processor  # noqa: E402
from vlkit.models.hermes import parse_tool_calls  # noqa: E402


class Color(str, enum.Enum):
    red = "red"
    green = "green"
    blue = "blue"


class Point(BaseModel):
    x: float
    y: int = Field(ge=-5, le=5)


class Item(BaseModel):
    label: str
    color: Color
    points: list[Point]
    note: Optional[str] = None


class Scene(BaseModel):
    title: str
    items: list[Item]
    count: int
    score: Optional[float] = None
    tags: list[str] = []


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["city", "unit"],
            },
        },
    },
    {"type": "function", "function": {"name": "screenshot", "parameters": {"type": "object", "properties": {}}}},
    {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    },
]
PROMPT = "<|im_start|>user\nDescribe the scene.<|im_end|>\n<|im_start|>assistant\n"


def _generate(seed: int, processor, max_new_tokens: int) -> str:
    tokenizer = tiny_tokenizer()
    model = tiny_model(seed % 4)
    torch.manual_seed(seed)
    ids = tokenizer(PROMPT, return_tensors="pt").input_ids
    out = model.generate(
        ids,
        max_new_tokens=max_new_tokens,
        do_sample=seed % 2 == 1,
        temperature=1.0,
        logits_processor=[processor],
        eos_token_id=stop_token_ids(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("max_new_tokens", [70, 200])
def test_json_schema_output_always_validates(seed: int, max_new_tokens: int) -> None:
    tokenizer, model = tiny_tokenizer(), tiny_model(seed % 4)
    processor = json_schema_processor(
        tokenizer, Scene.model_json_schema(), model.config.vocab_size, max_new_tokens=max_new_tokens
    )
    text = _generate(seed, processor, max_new_tokens)
    scene = Scene.model_validate_json(text)
    assert isinstance(scene.items, list)
    assert not any(ord(c) < 0x20 for c in json.dumps(json.loads(text), ensure_ascii=False))


def test_model_vocab_larger_than_tokenizer_is_masked() -> None:
    tokenizer, model = tiny_tokenizer(), tiny_model(0)
    assert model.config.vocab_size > len(tokenizer)
    processor = json_schema_processor(tokenizer, {"type": "integer"}, model.config.vocab_size)
    scores = torch.zeros(1, model.config.vocab_size)
    scores[0, len(tokenizer) :] = 100.0  # padding ids the tokenizer cannot decode
    masked = processor(torch.tensor([[1, 2]]), scores)
    assert torch.isinf(masked[0, len(tokenizer) :]).all()
    allowed = [i for i in range(len(tokenizer)) if torch.isfinite(masked[0, i])]
    assert allowed and all(tokenizer.decode([i]).lstrip("-")[:1].isdigit() or tokenizer.decode([i]) == "-" for i in allowed)


def test_compiled_grammars_are_cached() -> None:
    tokenizer, model = tiny_tokenizer(), tiny_model(0)
    a = json_schema_processor(tokenizer, Scene.model_json_schema(), model.config.vocab_size)
    b = json_schema_processor(tokenizer, Scene.model_json_schema(), model.config.vocab_size)
    assert a.compiled_grammar is b.compiled_grammar


@pytest.mark.parametrize("seed", range(6))
def test_required_tool_choice_always_yields_valid_calls(seed: int) -> None:
    tokenizer, model = tiny_tokenizer(), tiny_model(seed % 4)
    processor = tool_call_processor(
        tokenizer, TOOLS, "required", model.config.vocab_size, max_new_tokens=120, parallel=True
    )
    text = _generate(seed, processor, 120)
    parsed = parse_tool_calls(text, [t["function"]["name"] for t in TOOLS])
    assert parsed.tool_calls and not parsed.invalid_tool_calls, text
    assert parsed.content == ""
    for call in parsed.tool_calls:
        if call["name"] == "get_weather":
            assert set(call["args"]) == {"city", "unit"} and call["args"]["unit"] in {"c", "f"}
        elif call["name"] == "add":
            assert isinstance(call["args"]["a"], int) and isinstance(call["args"]["b"], (int, float))
        else:
            assert call["args"] == {}


@pytest.mark.parametrize("name", ["get_weather", "screenshot", "add"])
@pytest.mark.parametrize("seed", range(3))
def test_named_tool_choice_yields_exactly_that_call(name: str, seed: int) -> None:
    tokenizer, model = tiny_tokenizer(), tiny_model(seed % 4)
    processor = tool_call_processor(tokenizer, TOOLS, name, model.config.vocab_size, max_new_tokens=80)
    parsed = parse_tool_calls(_generate(seed, processor, 80), [name])
    assert [c["name"] for c in parsed.tool_calls] == [name] and not parsed.invalid_tool_calls


def test_unenforceable_tool_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="get_weather, screenshot, add"):
        tool_call_processor(tiny_tokenizer(), TOOLS, "nonexistent", tiny_model(0).config.vocab_size)


@pytest.mark.parametrize("seed", range(3))
def test_required_without_parallel_calls_yields_one_call(seed: int) -> None:
    tokenizer, model = tiny_tokenizer(), tiny_model(seed % 4)
    processor = tool_call_processor(tokenizer, TOOLS, "any", model.config.vocab_size, max_new_tokens=80)
    parsed = parse_tool_calls(_generate(seed, processor, 80), [t["function"]["name"] for t in TOOLS])
    assert len(parsed.tool_calls) == 1 and not parsed.invalid_tool_calls
