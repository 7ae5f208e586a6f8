"""Grammar-constrained decoding for the local backend, as a transformers ``LogitsProcessor`` (xgrammar).

* :func:`json_schema_processor` — the answer is one JSON value that validates against a JSON schema.
* :func:`tool_call_processor` — the answer is one or more Hermes ``<tool_call>`` blocks, each naming an
  allowed tool with arguments that validate against that tool's parameters schema.

Both end with a stop token once the grammar is complete. JSON strings never contain raw control
characters (xgrammar's string rule excludes U+0000–U+001F), so ``json.loads`` accepts every answer.

Budget: a grammar alone cannot keep a model from writing a 10,000-character string. Given
``max_new_tokens``, the processor first computes the fewest tokens a valid answer can take (a *closing
plan* from the grammar's start, :mod:`vlkit.models._closing`; the stop token counts) and refuses a budget
below it with :class:`~vlkit.errors.MaxTokensTooSmallError`, which names that number — before any token
is generated. While generating, near the end of the budget, it measures the plan that would finish the
answer from where it stands, keeps only the best few tokens after which that plan still fits, and when
the plan needs all the budget left it follows the plan. So a forced call or structured answer either
fits — complete and valid at ``max_new_tokens`` — or is refused up front. (Far from the end the plan is
measured every few tokens only; one token that opens more structure than the watched window holds is
the case left to the caller's :class:`~vlkit.errors.OutputTruncatedError`.)
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from typing import Any

from vlkit.errors import InvalidArgumentError, MaxTokensTooSmallError
from vlkit.extras import require
from vlkit.models._closing import Closer
from vlkit.models.tool_calls import tool_name, tool_parameters

__all__ = [
    "GrammarLogitsProcessor",
    "json_schema_processor",
    "processors_for",
    "stop_token_ids",
    "tool_call_processor",
]

log = logging.getLogger(__name__)
torch = require("torch", "local", "local generation")
LogitsProcessor = require("transformers", "local", "local generation").LogitsProcessor

TOOL_CALL_BEGIN = '<tool_call>\n{"name": "'
ARGUMENTS_PREFIX = '", "arguments": '
TOOL_CALL_END = "}\n</tool_call>"
CALL_SEPARATOR = "\n"

_WATCH_WINDOW = 48
"""Start measuring the closing cost when this many tokens (or fewer) are left."""
_RECHECK_EVERY = 8
"""Outside the window, re-measure the closing cost this often (a deep structure widens the window)."""
_CANDIDATES = 8
"""Inside the window, sampling keeps the best tokens (at most this many) that leave the answer finishable."""
_PROBE_SLACK = 24
"""Probe every candidate only when the budget left exceeds the closing cost by this many tokens or fewer
(or twice the largest one-token jump of the closing cost seen in this generation, if more)."""


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
        self.structural_ids = _structural_tokens(tokenizer)
        self.closer = Closer(_encoder(tokenizer), self.stop_ids[0], _byte_tokens(info))
        self.minimums: dict[str, int | None] = {}

    def compiled(self, key: str, build: Any) -> Any:
        with self.lock:
            if key not in self.grammars:
                self.grammars[key] = build(self.compiler)
            return self.grammars[key]

    def minimum(self, key: str, grammar: Any) -> int | None:
        """The fewest new tokens of any answer ``grammar`` accepts, stop token included (cached by key)."""
        with self.lock:
            if key not in self.minimums:
                plan = self.closer.plan(_xgrammar().GrammarMatcher(grammar))
                self.minimums[key] = None if plan is None else len(plan)
            return self.minimums[key]


_COMPILERS: "weakref.WeakKeyDictionary[Any, dict[int, _Compiler]]" = weakref.WeakKeyDictionary()
_COMPILERS_LOCK = threading.Lock()


def _compiler(tokenizer: Any, vocab_size: int) -> _Compiler:
    with _COMPILERS_LOCK:
        per_size = _COMPILERS.setdefault(tokenizer, {})
        if vocab_size not in per_size:
            per_size[vocab_size] = _Compiler(tokenizer, vocab_size)
        return per_size[vocab_size]


def _encoder(tokenizer: Any) -> Any:
    """Text -> token ids, without special-token handling: the Rust tokenizer where there is one (the
    Python wrapper costs more than the encoding), else the tokenizer's own ``encode``."""
    fast = getattr(tokenizer, "_tokenizer", None)
    if fast is not None:
        return lambda text: fast.encode(text, add_special_tokens=False).ids
    owner = weakref.ref(tokenizer)  # the compiler cache is keyed weakly by the tokenizer: do not hold it
    return lambda text: owner().encode(text, add_special_tokens=False)


def _byte_tokens(info: Any) -> dict[int, int]:
    """Byte -> the id of a token that spells exactly that byte (the first one, special tokens excluded)."""
    special = set(info.special_token_ids)
    found: dict[int, int] = {}
    for token_id, data in enumerate(info.decoded_vocab):
        if len(data) == 1 and token_id not in special:
            found.setdefault(bytes(data)[0], token_id)
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

    key = _schema_key("json", schema)
    grammar = compiler.compiled(key, build)
    processor = GrammarLogitsProcessor(grammar, compiler, max_new_tokens=max_new_tokens)
    return _checked(processor, compiler.minimum(key, grammar), "a structured answer to this schema")


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
    what = f"a forced call to '{tool_name(allowed[0])}'" if len(allowed) == 1 else "a forced tool call"
    processor = GrammarLogitsProcessor(grammar, compiler, max_new_tokens=max_new_tokens)
    return _checked(processor, compiler.minimum(key, grammar), what)


def _checked(processor: "GrammarLogitsProcessor", minimum: int | None, what: str) -> "GrammarLogitsProcessor":
    """``processor``, told the fewest tokens its answer takes; refused when its budget is below that."""
    processor.min_new_tokens = minimum
    budget = processor.max_new_tokens
    if minimum is not None and budget is not None and budget < minimum:
        raise MaxTokensTooSmallError(what, needed=minimum, max_tokens=budget)
    return processor


def processors_for(loaded: Any, request: Any, vocab_size: int | None = None) -> list["GrammarLogitsProcessor"]:
    """The processors a local backend applies to each step's logits for ``request`` (may be empty).

    ``loaded`` has the ``tokenizer`` (and, without ``vocab_size`` — the logits' width — the transformers
    ``model``). ``response_schema`` wins over tools; tools are constrained only for ``"required"``/``"any"``
    or a name.
    """
    vocab_size = vocab_size or model_vocab_size(loaded.model)
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
    """Masks every token the grammar forbids; forces a stop token once the grammar is complete; with
    ``max_new_tokens``, keeps the answer finishable within it (see the module's docstring).

    One instance serves one ``generate`` call (it keeps the matcher state of that generation).
    """

    def __init__(self, compiled_grammar: Any, compiler: _Compiler, *, max_new_tokens: int | None = None) -> None:
        xgr = _xgrammar()
        self._xgr = xgr
        self.compiled_grammar = compiled_grammar
        self.stop_ids = compiler.stop_ids
        self.structural_ids = compiler.structural_ids
        self.closer = compiler.closer
        self.vocab_size = compiler.vocab_size
        self.max_new_tokens = max_new_tokens
        self.min_new_tokens: int | None = None
        """The fewest new tokens a valid answer takes, stop token included (``None``: not measured)."""
        self.matchers: list[Any] = []
        self.bitmask: torch.Tensor | None = None
        self.prompt_length = 0
        self.closing_steps = 0
        """How many tokens were forced from a closing plan (0 when the model finished on its own)."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        batch = input_ids.shape[0]
        if not self.matchers:
            self.matchers = [self._xgr.GrammarMatcher(self.compiled_grammar) for _ in range(batch)]
            self.bitmask = self._xgr.allocate_token_bitmask(batch, self.vocab_size)
            self.prompt_length = input_ids.shape[1]
            self._plan_lengths = [self.min_new_tokens or 0] * batch
            self._following: list[list[int]] = [[] for _ in range(batch)]
            self._growth = 0
        else:
            for row, matcher in enumerate(self.matchers):
                if matcher.is_terminated():
                    continue
                token = int(input_ids[row, -1])
                matcher.accept_token(token)
                following = self._following[row]
                if following and following.pop(0) != token:
                    following.clear()  # something else chose the token: measure afresh
        generated = input_ids.shape[1] - self.prompt_length
        assert self.bitmask is not None
        for row, matcher in enumerate(self.matchers):
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self.bitmask, row)
        self._xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device), vocab_size=self.vocab_size)
        for row, matcher in enumerate(self.matchers):
            if matcher.is_terminated():
                _keep_only(scores, row, [self.stop_ids[0]])
            elif self._following[row]:
                _keep_only(scores, row, self._following[row][:1])
                self.closing_steps += 1
            elif self.max_new_tokens is not None:
                self._keep_finishable(matcher, row, scores, self.max_new_tokens - generated, generated)
        return scores

    def _follow(self, row: int, plan: list[int], scores: torch.Tensor) -> None:
        """Follow ``plan`` to the end: it fits exactly, and a plan measured again later may differ."""
        self._following[row] = list(plan)
        _keep_only(scores, row, plan[:1])
        self.closing_steps += 1

    def _keep_finishable(self, matcher: Any, row: int, scores: torch.Tensor, remaining: int, step: int) -> None:
        """Near the end of the budget, allow only tokens after which a closing plan still fits.

        ``remaining`` counts this step's token; a plan of ``n`` tokens (stop token included) fits when
        ``n <= remaining``.
        """
        watching = remaining <= _WATCH_WINDOW or remaining <= 2 * self._plan_lengths[row] + _WATCH_WINDOW // 2
        if not watching and step % _RECHECK_EVERY:
            return
        plan = self.closer.plan(matcher)
        if plan is None:  # no closing found (a pattern the plan cannot satisfy): the answer may be cut off
            log.debug("no closing plan at step %d; budget guard off for this step", step)
            return
        previous, self._plan_lengths[row] = self._plan_lengths[row], len(plan)
        if previous:
            # One token can open a whole object: remember the largest jump of the closing cost seen so far.
            self._growth = max(self._growth, len(plan) - previous + 1)
        if len(plan) >= remaining:
            self._follow(row, plan, scores)
            return
        if not watching:
            return
        # Sampling keeps the best few tokens after which a closing plan still fits. Only tokens that can
        # open structure (quotes, brackets, commas, colons) can make the closing cost jump; while the budget
        # is roomy, others are let through unmeasured (they raise the cost by a token or two at most).
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
            after = self.closer.plan(probe)
            if after is not None and len(after) <= remaining - 1:
                feasible.append(token)
                if len(feasible) >= _CANDIDATES // 2:
                    break
        if feasible:
            _keep_only(scores, row, feasible)
        else:
            self._follow(row, plan, scores)


def _keep_only(scores: torch.Tensor, row: int, tokens: list[int]) -> None:
    kept = scores[row, tokens].clone()
    kept[~torch.isfinite(kept)] = 0.0
    scores[row].fill_(float("-inf"))
    scores[row, tokens] = kept
