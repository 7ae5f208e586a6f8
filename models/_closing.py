"""The shortest way to finish a grammar-constrained answer, in tokens: a *closing plan*.

:mod:`vlkit.models.constrained` uses one three ways. Before generating, the plan from the grammar's start
is the fewest new tokens the answer can take, so a ``max_tokens`` below it is refused with that number.
While generating, near the end of the budget, plans measure which tokens still leave room to finish.
When the budget left equals the plan, the answer follows the plan to a valid end.

A plan is built in two steps. First the *closing text*, character by character from the matcher's state:
the continuation the grammar forces where it forces one (keys, the tool call's tags), else a closer
(``"``, ``}``, ``]``, ``,``) or ``0`` where one is allowed, else — at a real choice, such as a tool's name, an
enum value, ``true``/``false`` — the character whose greedy completion takes the fewest tokens. Then the
text is split into tokens as the model's tokenizer splits it, and checked against the grammar. Optional
whitespace can make the text longer yet the tokens fewer (byte-level BPE vocabularies merge ``": "`` and
``", "``), so the text is built with and without a space after ``:`` and ``,`` and the shorter plan wins.

The plan depends only on the matcher's state, so the plan measured after a token is the one followed
later; the guard in :mod:`vlkit.models.constrained` also keeps a plan it started following to the end.
"""

from __future__ import annotations

import string
from typing import Any

__all__ = ["Closer"]

_FIRST = [c.encode() for c in '"}],0']
"""Tried first, in this order: they end a string, an object, an array, a value (``,`` before the next
required key; before ``0`` too, or a number would grow digit by digit), or are the shortest number."""
_THEN = [c.encode() for c in dict.fromkeys("tfn123456789-[{:,." + string.ascii_letters + "_" + string.punctuation)]
_WHITESPACE = [b" ", b"\n", b"\t", b"\r"]
_HIGH = [bytes([b]) for b in range(0x80, 0xF5)]
"""UTF-8 continuation and lead bytes: for an answer stopped inside a character, or a non-ASCII enum."""
_LOOKAHEAD = 8
"""At a choice among at most this many characters each one's completion is measured; past it, the first."""
_MAX_CHARS = 4096


class Closer:
    """Closing plans for matchers of one tokenizer.

    ``stop_id`` ends every plan; ``byte_tokens`` maps single bytes to the token that spells exactly that
    byte (every byte-level BPE vocabulary has one per byte), for text that is not whole characters.
    """

    def __init__(self, encode: Any, stop_id: int, byte_tokens: dict[int, int]) -> None:
        self.encode = encode
        self.stop_id = stop_id
        self.byte_tokens = byte_tokens

    def plan(self, matcher: Any) -> list[int] | None:
        """The fewest tokens, stop token last, that finish ``matcher``'s answer (``None`` if none found)."""
        if matcher.is_terminated():
            return []
        best: list[int] | None = None
        texts = []
        for spaced in (False, True):
            text = self._text(matcher, spaced=spaced, lookahead=True)
            if text is None or text in texts:
                continue
            texts.append(text)
            tokens = self._tokens(matcher, text)
            if tokens is not None and (best is None or len(tokens) < len(best)):
                best = tokens
        return best

    # ------------------------------------------------------------------ the closing text

    def _text(self, matcher: Any, *, spaced: bool, lookahead: bool) -> bytes | None:
        probe = matcher.fork()
        out = bytearray()
        while len(out) < _MAX_CHARS:
            if probe.is_completed():
                return bytes(out)
            forced = probe.find_jump_forward_string()
            if forced:
                data = forced.encode()
                if not probe.accept_string(data):
                    return None
                out += data
                continue
            if spaced and out[-1:] in (b":", b",") and _accepts(probe, b" "):
                choice: bytes | None = b" "
            else:
                choice = self._choose(probe, spaced=spaced, lookahead=lookahead)
            if choice is None or not probe.accept_string(choice):
                return None
            out += choice
        return None

    def _choose(self, probe: Any, *, spaced: bool, lookahead: bool) -> bytes | None:
        for char in _FIRST:
            if _accepts(probe, char):
                return char
        if not lookahead:
            for char in _THEN + _HIGH + _WHITESPACE:
                if _accepts(probe, char):
                    return char
            return None
        allowed = [char for char in _THEN if _accepts(probe, char)]
        allowed = allowed or [char for char in _HIGH if _accepts(probe, char)]  # non-ASCII only when it must be
        if not allowed:
            return next((char for char in _WHITESPACE if _accepts(probe, char)), None)
        if len(allowed) == 1 or len(allowed) > _LOOKAHEAD:
            return allowed[0]
        costs = []
        for char in allowed:
            branch = probe.fork()
            branch.accept_string(char)
            rest = self._text(branch, spaced=spaced, lookahead=False)
            tokens = None if rest is None else self._tokens(probe, char + rest)
            costs.append(len(tokens) if tokens is not None else _MAX_CHARS)
        return allowed[costs.index(min(costs))]

    # ------------------------------------------------------------------ text -> tokens

    def _tokens(self, matcher: Any, text: bytes) -> list[int] | None:
        """``text`` as the tokenizer splits it, then the stop token, if the grammar accepts that from
        ``matcher``'s state; else byte by byte."""
        lead = len(text) - len(text.lstrip(bytes(range(0x80, 0xC0))))  # bytes that finish a split character
        try:
            ids = [self.byte_tokens[b] for b in text[:lead]] + list(self.encode(text[lead:].decode("utf-8")))
        except (KeyError, UnicodeDecodeError):
            ids = []
        for candidate in (ids, [self.byte_tokens.get(b, -1) for b in text]):
            if (candidate and -1 not in candidate) or not text:
                plan = [*candidate, self.stop_id]
                if _follows(matcher, plan):
                    return plan
        return None


def _accepts(probe: Any, char: bytes) -> bool:
    if probe.accept_string(char):
        probe.rollback(1)
        return True
    return False


def _follows(matcher: Any, tokens: list[int]) -> bool:
    probe = matcher.fork()
    return all(probe.accept_token(token) for token in tokens) and probe.is_terminated()
