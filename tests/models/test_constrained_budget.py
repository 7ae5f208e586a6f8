"""A forced tool call or structured answer either fits ``max_tokens`` — complete and valid — or is refused
before anything is generated, with the smallest ``max_tokens`` that fits.

Random weights write arbitrary tokens and sample at temperature 1, so only the grammar and its budget
guard stand between them and a call cut off mid-argument: every answer below is checked to parse and
validate, at the minimum budget and a little above it.
"""

from __future__ import annotations

from typing import Literal, Optional

import pytest
from pydantic import BaseModel, Field

pytest.importorskip("xgrammar")
torch = pytest.importorskip("torch")

from tests.models.conftest import tiny  # noqa: E402
from tests.models.test_constrained import TOOLS, Scene, _generate  # noqa: E402
from tests.models.tiny_text_model import tiny_model, tiny_tokenizer  # noqa: E402
from vlkit.errors import MaxTokensTooSmallError  # noqa: E402
from vlkit.models import ChatQwenVL  # noqa: E402
from vlkit.models.constrained import json_schema_processor, tool_call_processor  # noqa: E402
from vlkit.models.hermes import parse_tool_calls  # noqa: E402

NAMES = [t["function"]["name"] for t in TOOLS]
WEATHER = TOOLS[0]


def _processor(case: str, max_new_tokens: int):
    tokenizer, vocab = tiny_tokenizer(), tiny_model(0).config.vocab_size
    if case == "scene":
        return json_schema_processor(tokenizer, Scene.model_json_schema(), vocab, max_new_tokens=max_new_tokens)
    parallel = case == "parallel"
    choice = "required" if case in {"required", "parallel"} else case
    return tool_call_processor(tokenizer, TOOLS, choice, vocab, max_new_tokens=max_new_tokens, parallel=parallel)


def _minimum(case: str) -> int:
    with pytest.raises(MaxTokensTooSmallError) as refused:
        _processor(case, 1)
    return refused.value.needed


def _valid(case: str, text: str) -> bool:
    if case == "scene":
        Scene.model_validate_json(text)
        return True
    parsed = parse_tool_calls(text, NAMES)
    if not parsed.tool_calls or parsed.invalid_tool_calls or parsed.content:
        return False
    for call in parsed.tool_calls:
        if call["name"] == "get_weather" and not (set(call["args"]) == {"city", "unit"} and call["args"]["unit"] in {"c", "f"}):
            return False
        if call["name"] == "add" and not isinstance(call["args"].get("a"), int):
            return False
    return case in {"required", "parallel"} or [c["name"] for c in parsed.tool_calls] == [case]


@pytest.mark.parametrize("case", ["scene", "get_weather", "add", "required", "parallel"])
def test_below_the_minimum_is_refused_with_the_number(case: str) -> None:
    needed = _minimum(case)
    assert needed > 5
    with pytest.raises(MaxTokensTooSmallError) as refused:
        _processor(case, needed - 1)
    error = refused.value
    assert (error.needed, error.max_tokens) == (needed, needed - 1)
    assert f"raise max_tokens to {needed} or more" in str(error)
    assert f"raise --max-tokens to {needed} or more" in error.on("cli")
    assert isinstance(error, ValueError)  # a bad argument, not a bad answer: never fed back to the model
    assert _processor(case, needed).min_new_tokens == needed


@pytest.mark.parametrize("extra", [0, *(pytest.param(n, marks=pytest.mark.slow) for n in (1, 3, 6))])
@pytest.mark.parametrize("case", ["scene", "get_weather", "add", "required", "parallel"])
def test_at_the_minimum_and_a_little_above_every_answer_is_complete_and_valid(case: str, extra: int) -> None:
    budget = _minimum(case) + extra
    for seed in range(3):
        text = _generate(seed, _processor(case, budget), budget)
        assert _valid(case, text), (seed, budget, text)


# --------------------------------------------------------------------------- through ChatQwenVL, each family


class Box(BaseModel):
    label: str
    kind: Literal["text", "figure", "table"]
    corners: list[int] = Field(max_length=4)
    score: Optional[float] = None


def _forward_calls(llm: ChatQwenVL) -> list[int]:
    calls = [0]

    def count(*_: object) -> None:
        calls[0] += 1

    llm.backend_impl.checkpoint.model.register_forward_pre_hook(count)
    return calls


@pytest.mark.slow
def test_a_forced_call_fits_or_is_refused_before_generating(family: str) -> None:
    llm = ChatQwenVL(model=tiny(family), max_tokens=4, temperature=1.0)
    calls = _forward_calls(llm)
    bound = llm.bind_tools([WEATHER], tool_choice="get_weather")
    with pytest.raises(MaxTokensTooSmallError) as refused:
        bound.invoke("Weather in Oslo?")
    assert calls[0] == 0  # refused before the model ran at all
    needed = refused.value.needed
    assert f"to {needed} or more" in str(refused.value)
    for budget, seed in [(needed, 0), (needed, 1), (needed + 1, 2), (needed + 4, 3)]:
        message = bound.invoke("Weather in Oslo?", max_tokens=budget, seed=seed)
        assert [c["name"] for c in message.tool_calls] == ["get_weather"] and not message.invalid_tool_calls, message
        assert message.tool_calls[0]["args"]["unit"] in {"c", "f"} and isinstance(message.tool_calls[0]["args"]["city"], str)
        assert message.usage_metadata["output_tokens"] <= budget
    assert calls[0] > 0


@pytest.mark.slow
def test_a_structured_answer_fits_or_is_refused_before_generating(family: str) -> None:
    llm = ChatQwenVL(model=tiny(family), max_tokens=3, temperature=1.0)
    calls = _forward_calls(llm)
    structured = llm.with_structured_output(Box)
    for include_raw in (False, True):  # a budget error is the caller's to fix: raised, not a parsing_error
        with pytest.raises(MaxTokensTooSmallError) as refused:
            llm.with_structured_output(Box, include_raw=include_raw).invoke("box?")
    assert calls[0] == 0
    needed = refused.value.needed
    for budget, seed in [(needed, 0), (needed, 1), (needed + 2, 2)]:
        box = structured.invoke("box?", max_tokens=budget, seed=seed)
        assert isinstance(box, Box) and box.kind in {"text", "figure", "table"} and len(box.corners) <= 4


def test_a_plan_finishes_a_character_split_across_tokens_and_non_ascii_enums() -> None:
    """A byte-level model can stop inside a CJK character; the plan finishes it before closing. And an
    enum of Chinese words fits at its minimum like any other answer."""
    import json

    import xgrammar

    schema = {"type": "object", "properties": {"answer": {"enum": ["是", "否"]}, "note": {"type": "string"}},
              "required": ["answer", "note"]}  # fmt: skip
    tokenizer, vocab = tiny_tokenizer(), tiny_model(0).config.vocab_size
    with pytest.raises(MaxTokensTooSmallError) as refused:
        json_schema_processor(tokenizer, schema, vocab, max_new_tokens=1)
    needed = refused.value.needed
    processor = json_schema_processor(tokenizer, schema, vocab, max_new_tokens=needed)
    matcher = xgrammar.GrammarMatcher(processor.compiled_grammar)
    assert matcher.accept_string('{"answer": "否", "note": "中'.encode()[:-2])  # stopped after 中's first byte
    plan = processor.closer.plan(matcher)
    assert plan is not None and all(matcher.accept_token(token) for token in plan) and matcher.is_terminated()
    for seed in range(3):
        answer = json.loads(_generate(seed, json_schema_processor(tokenizer, schema, vocab, max_new_tokens=needed), needed))
        assert answer["answer"] in {"是", "否"} and isinstance(answer["note"], str)
