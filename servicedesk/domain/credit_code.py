"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

Eighteen characters from a 31-character set (digits and capitals without I, O, Z, S, V); the last
is a check character: weights 3^(i-1) mod 31 over the first seventeen, check = 31 - (sum mod 31),
with 31 written as 0.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))
_VALUES = {char: value for value, char in enumerate(CHARSET)}


class Problem(enum.Enum):
    EMPTY = "empty"
    LENGTH = "length"
    CHARACTER = "character"
    CHECK = "check"


@dataclass(frozen=True)
class CreditCodeError(ValueError):
    """What is wrong with a code, precisely enough for a message that helps fix it."""

    problem: Problem
    #: the length found, for Problem.LENGTH
    length: int = 0
    #: 1-based position of the offending character
    position: int = 0
    #: the offending character, or the check character found
    character: str = ""
    #: the check character the first seventeen call for, for Problem.CHECK
    expected: str = ""


def normalise(raw: str) -> str:
    """Codes arrive typed by hand or pasted from Excel: spaces around, lower case, full-width."""
    return unicodedata.normalize("NFKC", raw).strip().replace(" ", "").upper()


def check_character(first_seventeen: str) -> str:
    total = sum(_VALUES[char] * weight for char, weight in zip(first_seventeen, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate(raw: str) -> str:
    """Return the normalised code, or raise CreditCodeError saying what is wrong."""
    code = normalise(raw)
    if not code:
        raise CreditCodeError(Problem.EMPTY)
    if len(code) != LENGTH:
        raise CreditCodeError(Problem.LENGTH, length=len(code))
    for position, char in enumerate(code, start=1):
        if char not in _VALUES:
            raise CreditCodeError(Problem.CHARACTER, position=position, character=char)
    expected = check_character(code[:-1])
    if code[-1] != expected:
        raise CreditCodeError(Problem.CHECK, position=LENGTH, character=code[-1], expected=expected)
    return code


def is_valid(raw: str) -> bool:
    try:
        validate(raw)
    except CreditCodeError:
        return False
    return True
