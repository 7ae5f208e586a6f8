"""统一社会信用代码 checksum (GB 32100-2015)."""

from __future__ import annotations

import random

import pytest

from vlkit.errors import InvalidArgumentError
from vlkit.tools.invoice._uscc import USCC_ALPHABET, is_valid_uscc, uscc_check_char

# Published codes of real organisations (the list python-stdnum's tests collected "found online").
REAL = ["91110000600037341L", "121200004013590816", "91310115MA1K3BTP2B", "9144030071526726XG",
        "91620105L015101280", "92340602MA2PBMEM24"]


@pytest.mark.parametrize("code", REAL)
def test_real_published_codes_are_valid(code: str) -> None:
    assert is_valid_uscc(code)


def test_separators_and_full_width_are_normalised() -> None:
    assert is_valid_uscc("91 110000 600037341L")
    assert is_valid_uscc("９１１１００００６０００３７３４１Ｌ")


def test_generated_codes_are_valid_and_every_single_substitution_is_caught() -> None:
    rng = random.Random(3)
    for _ in range(50):
        body = "9" + rng.choice("123") + "".join(rng.choice("0123456789") for _ in range(6))
        body += "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        code = body + uscc_check_char(body)
        assert is_valid_uscc(code)
        pos = rng.randrange(8, 18)
        wrong = rng.choice([c for c in USCC_ALPHABET if c != code[pos]])
        assert not is_valid_uscc(code[:pos] + wrong + code[pos + 1:])


@pytest.mark.parametrize(
    "code",
    ["91110000600037341N",  # wrong check character
     "9111000060003734",  # too short
     "91110000600037341LX",  # too long
     "9111000060003IOZSV",  # letters outside the alphabet
     "91A10000600037341L",  # region must be digits
     "", "not a code"],
)
def test_invalid_codes(code: str) -> None:
    assert not is_valid_uscc(code)


def test_check_char_rejects_bad_alphabet_and_length_as_user_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="alphabet"):
        uscc_check_char("9111000060003734I")
    with pytest.raises(InvalidArgumentError, match="17 characters; got 5"):
        uscc_check_char("91110")
