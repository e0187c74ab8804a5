"""GB 32100-2015 credit codes: table-driven, no app."""

import pytest

from servicedesk.domain import credit_code
from servicedesk.domain.credit_code import CreditCodeError, Problem


@pytest.mark.parametrize("code", [
    "913203052MACL12THK",   # 江苏万邦生化医药集团有限责任公司, from the zone's ledger
    "913203009MA3Y7LLJF",
    "913203075MA97R5NQ6",
    "913203016MAD272HD4",
])
def test_valid_codes_pass(code: str) -> None:
    assert credit_code.validate(code) == code


@pytest.mark.parametrize("raw, normalised", [
    (" 913203052macl12thk ", "913203052MACL12THK"),
    ("９１３２０３０５２ＭＡＣＬ１２ＴＨＫ", "913203052MACL12THK"),  # full-width, as typed in Chinese IMEs
    ("9132 0305 2MAC L12T HK", "913203052MACL12THK"),
])
def test_codes_are_normalised_before_checking(raw: str, normalised: str) -> None:
    assert credit_code.validate(raw) == normalised


@pytest.mark.parametrize("raw, problem, details", [
    ("", Problem.EMPTY, {}),
    ("   ", Problem.EMPTY, {}),
    ("91320305MACL12THK", Problem.LENGTH, {"length": 17}),
    ("913203052MACL12THKX", Problem.LENGTH, {"length": 19}),
    ("913203052MACI12THK", Problem.CHARACTER, {"position": 13, "character": "I"}),
    ("913203052MACL12TOK", Problem.CHARACTER, {"position": 17, "character": "O"}),
    ("S13203052MACL12THK", Problem.CHARACTER, {"position": 1, "character": "S"}),
    ("91320305-MACL12THK", Problem.CHARACTER, {"position": 9, "character": "-"}),
    ("913203052MACL12THA", Problem.CHECK, {"character": "A", "expected": "K"}),
    ("913203052MACL13THK", Problem.CHECK, {"character": "K"}),  # one digit mistyped
    ("913203025MACL12THK", Problem.CHECK, {"character": "K"}),  # two digits swapped
])
def test_wrong_codes_say_what_is_wrong(raw: str, problem: Problem, details: dict) -> None:
    with pytest.raises(CreditCodeError) as caught:
        credit_code.validate(raw)
    assert caught.value.problem is problem
    for name, value in details.items():
        assert getattr(caught.value, name) == value
    assert not credit_code.is_valid(raw)


def test_check_character_of_31_is_written_0() -> None:
    # A body whose weighted sum is 0 mod 31 gives 31 - 0 = 31, which is written "0".
    body = "0" * 17
    assert credit_code.check_character(body) == "0"
    assert credit_code.is_valid(body + "0")


def test_every_character_of_the_set_can_be_a_check_character() -> None:
    found = set()
    for last in credit_code.CHARSET:
        for second_last in credit_code.CHARSET:
            body = "91320305" + "2MACL12" + second_last + last
            found.add(credit_code.check_character(body))
    assert found == set(credit_code.CHARSET)
