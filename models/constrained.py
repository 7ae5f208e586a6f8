"""Grammar-constrained decoding for the local backend, as a transformers ``LogitsProcessor`` (xgrammar).

* :func:`json_schema_processor` — the answer is one JSON value that validates against a JSON schema.
* :func:`tool_call_processor` — the answer is one or more Hermes ``<tool_call>`` blocks, each naming an
  allowed tool with arguments that validate against that tool's parameters schema.

Both end with a stop token once the grammar is complete. JSON strings never contain raw control
characters (xgrammar's string rule excludes U+0000–U+001F), so ``json.loads`` accepts every answer.

Budget: a grammar alone cannot keep a model from writing a 10,000-character string. Given
``max_new_tokens``, the processor measures at every step, near the end of the budget, how many tokens
its *closing policy* needs to finish the value (close strings, arrays and objects, fill forced keys),
and keeps only the best few tokens after which that still fits; when the policy needs all the budget
left, it follows the policy. So an answer that fits at all is complete and valid at
``max_new_tokens``, not cut off.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

from vlkit.errors import InvalidArgumentError
from vlkit.extras import require
from vlkit.models.tool_calls import tool_name, tool_parameters

__all__ = [
    "GrammarLogitsProcessor",
    "json_schema_processor",
    "processors_for",
    "stop_token_ids",
    "tool_call_processor",
]

torch = require("torch", "local", "local generation")
LogitsProcessor = require("transformers", "local", "local generation").LogitsProcessor

TOOL_CALL_BEGIN = '<tool_call>\n{"name": "'
ARGUMENTS_PREFIX = '", "arguments": '
TOOL_CALL_END = "}\n</tool_call>"
CALL_SEPARATOR = "\n"

# Closing policy: characters tried, in this order, when no string is forced. Closers first, so
# strings, arrays and objects end as soon as the grammar allows; then the cheapest value starts.
_CLOSING_CHARS = '"}],0' + "tfn[{:.-" + "ab" + " \n"
_WATCH_WINDOW = 48
"""Start measuring the closing cost when this many tokens (or fewer) are left."""
_RECHECK_EVERY = 8
"""Outside the window, re-measure the closing cost this often (a deep structure widens the window)."""
_CANDIDATES = 8
_PROBE_SLACK = 24
"""Probe candidates only when the budget left exceeds the closing cost by this many tokens or fewer
(or twice the largest one-token jump of the closing cost seen in this generation, if more)."""
"""Inside the window, sampling keeps the best tokens (at most this many) that leave the answer finishable."""
_MAX_CLOSING = 512


def _xgrammar():
    return require("xgrammar", "structured", "grammar-constrained decoding")


def stop_token_ids(tokenizer: Any) -> list[int]:
    """The ids that end a Qwen answer, ``<|im_end|>`` first (the one the processor forces)."""
    vocab = tokenizer.get_vocab()
    candidates = [vocab.get("<|im_end|>"), tokenizer.eos_token_id, vocab.get("<|endoftext|>")]
    ids: list[int] = []
    for token_id in candidates:
        if token_id is not None and int(token_id) not in ids:
            ids.append(int(token_id))
    return ids


class _Compiler:
    """One xgrammar compiler per (tokenizer, vocab size), with its compiled grammars cached by key."""

    def __init__(self, tokenizer: Any, vocab_size: int) -> None:
        xgr = _xgrammar()
        self.stop_ids = stop_token_ids(tokenizer)
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=self.stop_ids)
        self.compiler = xgr.GrammarCompiler(info, max_threads=2)
        self.vocab_size = vocab_size
        self.grammars: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.char_ids = _single_char_tokens(tokenizer)
        self.structural_ids = _structural_tokens(tokenizer)
        self.tokenizer = weakref.ref(tokenizer)

    def compiled(self, key: str, build: Any) -> Any:
        with self.lock:
            if key not in self.grammars:
                self.grammars[key] = build(self.compiler)
            return self.grammars[key]


_COMPILERS: "weakref.WeakKeyDictionary[Any, dict[int, _Compiler]]" = weakref.WeakKeyDictionary()
_COMPILERS_LOCK = threading.Lock()


def _compiler(tokenizer: Any, vocab_size: int) -> _Compiler:
    with _COMPILERS_LOCK:
        per_size = _COMPILERS.setdefault(tokenizer, {})
        if vocab_size not in per_size:
            per_size[vocab_size] = _Compiler(tokenizer, vocab_size)
        return per_size[vocab_size]


def _single_char_tokens(tokenizer: Any) -> dict[str, int]:
    """Token ids that spell exactly one character, for the closing policy."""
    found: dict[str, int] = {}
    for char in set(_CLOSING_CHARS) | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"):
        ids = tokenizer.encode(char, add_special_tokens=False)
        if len(ids) == 1:
            found[char] = int(ids[0])
    return found


def _structural_tokens(tokenizer: Any) -> frozenset[int]:
    """Ids of tokens that can open structure: JSON punctuation, or a newline / ``<`` that starts another
    tool call (byte-level BPE keeps ASCII as is and spells the newline ``Ċ``)."""
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    marks = '{[,:"<\nĊ'
    return frozenset(i for i, t in enumerate(tokens) if t is not None and any(c in t for c in marks))


def _schema_key(kind: str, value: Any) -> str:
    return kind + ":" + json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def json_schema_processor(
    tokenizer: Any, schema: dict[str, Any], vocab_size: int, *, max_new_tokens: int | None = None
) -> "GrammarLogitsProcessor":
    """A processor that makes the answer one JSON value valid for ``schema``.

    ``vocab_size`` is the model's (``config.vocab_size``), which may exceed the tokenizer's.
    """
    compiler = _compiler(tokenizer, vocab_size)

    def build(grammar_compiler: Any) -> Any:
        # Fixed separators: with free whitespace a weak model can spend its budget on spaces.
        return grammar_compiler.compile_json_schema(json.dumps(schema), any_whitespace=False, strict_mode=True)

    grammar = compiler.compiled(_schema_key("json", schema), build)
    return GrammarLogitsProcessor(grammar, compiler, max_new_tokens=max_new_tokens)


def tool_call_processor(
    tokenizer: Any,
    tools: list[dict[str, Any]],
    tool_choice: str,
    vocab_size: int,
    *,
    max_new_tokens: int | None = None,
    parallel: bool = False,
) -> "GrammarLogitsProcessor":
    """A processor that makes the answer Hermes tool calls to the allowed tools.

    ``tool_choice``: ``"required"`` / ``"any"`` — a call to any of ``tools`` (one or more when
    ``parallel``); a tool's name — exactly one call to that tool. (``"auto"`` and ``"none"`` are not
    constrained; do not call this.)
    """
    names = [tool_name(tool) for tool in tools]
    if tool_choice in {"required", "any"}:
        allowed, single = list(tools), not parallel
    elif tool_choice in names:
        allowed, single = [tools[names.index(tool_choice)]], True
    else:
        raise InvalidArgumentError(
            f"tool_choice '{tool_choice}' is not enforceable; use 'required', 'any' or one of: {', '.join(names)}"
        )
    compiler = _compiler(tokenizer, vocab_size)

    def build(grammar_compiler: Any) -> Any:
        from xgrammar.structural_tag import JSONSchemaFormat, StructuralTag, TagFormat, TagsWithSeparatorFormat

        tags = [
            TagFormat(
                begin=TOOL_CALL_BEGIN + tool_name(tool) + ARGUMENTS_PREFIX,
                content=JSONSchemaFormat(json_schema=tool_parameters(tool), max_whitespace_cnt=1),
                end=TOOL_CALL_END,
            )
            for tool in allowed
        ]
        calls = TagsWithSeparatorFormat(tags=tags, separator=CALL_SEPARATOR, at_least_one=True, stop_after_first=single)
        return grammar_compiler.compile_structural_tag(StructuralTag(format=calls))

    key = _schema_key("tools:" + ("one" if single else "many"), [tool_parameters(t) | {"$name": tool_name(t)} for t in allowed])
    grammar = compiler.compiled(key, build)
    return GrammarLogitsProcessor(grammar, compiler, max_new_tokens=max_new_tokens)


def processors_for(loaded: Any, request: Any) -> list["GrammarLogitsProcessor"]:
    """The processors the transformers backend passes to ``generate`` for ``request`` (may be empty).

    ``response_schema`` wins over tools; tools are constrained only for ``"required"``/``"any"`` or a name.
    """
    vocab_size = model_vocab_size(loaded.model)
    if request.response_schema is not None:
        schema = request.response_schema
        return [json_schema_processor(loaded.tokenizer, schema, vocab_size, max_new_tokens=request.max_tokens)]
    if request.forces_tool_call:
        parallel = bool(getattr(request, "parallel_tool_calls", None))
        return [
            tool_call_processor(
                loaded.tokenizer,
                request.tools,
                request.tool_choice,
                vocab_size,
                max_new_tokens=request.max_tokens,
                parallel=parallel,
            )
        ]
    return []


def model_vocab_size(model: Any) -> int:
    """Rows of the output layer: the logits width, which is the vocabulary the grammar must cover."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    config = getattr(model.config, "text_config", model.config)
    return int(config.vocab_size)


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks every token the grammar forbids; forces a stop token once the grammar is complete.

    One instance serves one ``generate`` call (it keeps the matcher state of that generation).
    """

    def __init__(self, compiled_grammar: Any, compiler: _Compiler, *, max_new_tokens: int | None = None) -> None:
        xgr = _xgrammar()
        self._xgr = xgr
        self.compiled_grammar = compiled_grammar
        self.stop_ids = compiler.stop_ids
        self.char_ids = compiler.char_ids
        self.structural_ids = compiler.structural_ids
        self.tokenizer = compiler.tokenizer
        self.vocab_size = compiler.vocab_size
        self.max_new_tokens = max_new_tokens
        self.matchers: list[Any] = []
        self.bitmask: torch.Tensor | None = None
        self.prompt_length = 0
        self.closing_steps = 0
        """How many tokens the closing policy chose (0 when the model finished on its own)."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        batch = input_ids.shape[0]
        if not self.matchers:
            self.matchers = [self._xgr.GrammarMatcher(self.compiled_grammar) for _ in range(batch)]
            self.bitmask = self._xgr.allocate_token_bitmask(batch, self.vocab_size)
            self.prompt_length = input_ids.shape[1]
            self._plan_lengths = [0] * batch
            self._growth = 0
        else:
            for row, matcher in enumerate(self.matchers):
                if not matcher.is_terminated():
                    matcher.accept_token(int(input_ids[row, -1]))
        generated = input_ids.shape[1] - self.prompt_length
        assert self.bitmask is not None
        for row, matcher in enumerate(self.matchers):
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self.bitmask, row)
        self._xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device), vocab_size=self.vocab_size)
        for row, matcher in enumerate(self.matchers):
            if matcher.is_terminated():
                _keep_only(scores, row, [self.stop_ids[0]])
            elif self.max_new_tokens is not None:
                self._keep_finishable(matcher, row, scores, self.max_new_tokens - generated, generated)
        return scores

    def _keep_finishable(self, matcher: Any, row: int, scores: torch.Tensor, remaining: int, step: int) -> None:
        """Near the end of the budget, allow only tokens after which the closing policy still fits."""
        watching = remaining <= _WATCH_WINDOW or remaining <= 2 * self._plan_lengths[row] + _WATCH_WINDOW // 2
        if not watching and step % _RECHECK_EVERY:
            return
        tokenizer = self.tokenizer()
        plan = _closing_plan(matcher, self.char_ids, self.stop_ids, tokenizer)
        if plan is None:
            return  # the policy cannot finish this grammar; the caller reports truncation if it happens
        previous, self._plan_lengths[row] = self._plan_lengths[row], len(plan)
        if previous:
            # One token can open a whole object: remember the largest jump of the closing cost seen so far.
            self._growth = max(self._growth, len(plan) - previous + 1)
        if not watching:
            return
        if len(plan) + 1 >= remaining:
            _keep_only(scores, row, [plan[0]])
            self.closing_steps += 1
            return
        # Sampling keeps the best few tokens after which the closing policy still fits. Only tokens that can
        # open structure (quotes, brackets, commas, colons) can make the closing cost jump; others are
        # checked against the current cost, which they raise by at most one.
        roomy = remaining - len(plan) > max(_PROBE_SLACK, 2 * self._growth)
        candidates = torch.topk(scores[row], k=min(_CANDIDATES, scores.shape[-1])).indices.tolist()
        feasible = []
        for token in candidates:
            if not torch.isfinite(scores[row, token]):
                break
            if roomy and token not in self.structural_ids:
                feasible.append(token)
                continue
            probe = matcher.fork()
            if not probe.accept_token(token):
                continue
            after = [] if probe.is_terminated() else _closing_plan(probe, self.char_ids, self.stop_ids, tokenizer)
            if after is not None and len(after) + 1 < remaining:
                feasible.append(token)
                if len(feasible) >= _CANDIDATES // 2:
                    break
        _keep_only(scores, row, feasible or [plan[0]])
        if not feasible:
            self.closing_steps += 1


def _keep_only(scores: torch.Tensor, row: int, tokens: list[int]) -> None:
    kept = scores[row, tokens].clone()
    kept[~torch.isfinite(kept)] = 0.0
    scores[row].fill_(float("-inf"))
    scores[row, tokens] = kept


def _closing_plan(
    matcher: Any, char_ids: dict[str, int], stop_ids: list[int], tokenizer: Any = None
) -> list[int] | None:
    """The tokens the closing policy would emit from ``matcher``'s state, ending with a stop token.

    ``None`` when the policy cannot finish within ``_MAX_CLOSING`` tokens (a pattern it cannot satisfy).
    """
    probe = matcher.fork()
    plan: list[int] = []
    while len(plan) < _MAX_CLOSING:
        if probe.is_completed():
            plan.append(stop_ids[0])
            return plan
        token = _closing_token(probe, char_ids, tokenizer)
        if token is None:
            return None
        plan.append(token)
    return None


_FIRST_TOKEN: "weakref.WeakKeyDictionary[Any, dict[str, int | None]]" = weakref.WeakKeyDictionary()


def _first_token(tokenizer: Any, text: str) -> int | None:
    """The first token id of ``text`` (cached: the closing policy asks for the same keys again and again)."""
    if tokenizer is None:
        return None
    cache = _FIRST_TOKEN.setdefault(tokenizer, {})
    if text not in cache:
        fast = getattr(tokenizer, "_tokenizer", None)  # the Rust tokenizer, without the Python wrapper's cost
        if fast is not None:
            ids = fast.encode(text, add_special_tokens=False).ids
        else:
            ids = tokenizer.encode(text, add_special_tokens=False)
        cache[text] = int(ids[0]) if ids else None
        if len(cache) > 4096:
            cache.clear()
    return cache[text]


def _closing_token(probe: Any, char_ids: dict[str, int], tokenizer: Any = None) -> int | None:
    """Advance ``probe`` by one policy token and return it (``None`` if no candidate is accepted)."""
    forced = probe.find_jump_forward_string()
    if forced:
        # The tokenizer's first token of the forced text is usually several characters long.
        for token in (_first_token(tokenizer, forced), char_ids.get(forced[0])):
            if token is not None and probe.accept_token(token):
                return token
    for char in _CLOSING_CHARS:
        token = char_ids.get(char)
        if token is not None and probe.accept_token(token):
            return token
    for char, token in char_ids.items():
        if probe.accept_token(token):
            return token
    return None
