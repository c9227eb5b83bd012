from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.creditcode import ALPHABET, check_character, is_valid_code, make_code, normalize_code
from tests.compliance.samples import UNITS

bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


def test_the_alphabet_leaves_out_letters_that_read_like_digits() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)


@pytest.mark.parametrize("code", [unit.code for unit in UNITS])
def test_every_sample_unit_code_is_valid(code: str) -> None:
    assert is_valid_code(code)


def test_the_example_code_printed_in_gb_32100_is_valid() -> None:
    assert is_valid_code("91350100M000100Y43")
    assert check_character("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    "variant",
    [
        "9137132112th3bj194",
        " 9137 1321 12TH 3BJ1 94 ",
        "9137132112TH3BJ194\t\n",
        "9137132112TH3BJ194\u3000",
        "９１３７１３２１１２ＴＨ３ＢＪ１９４",
        "９１３７１３２１１２ｔｈ３ｂｊ１９４",
    ],
)
def test_case_spaces_and_full_width_forms_are_accepted(variant: str) -> None:
    assert normalize_code(variant) == "9137132112TH3BJ194"
    assert is_valid_code(variant)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "9137132112TH3BJ19",  # 17 characters
        "9137132112TH3BJ1944",  # 19
        "9137132112TH3BJ195",  # wrong check character
        "9137132112TI3BJ194",  # I is not in the alphabet
        "9137132112TO3BJ194",
        "9137132112TZ3BJ194",
        "9137132112TS3BJ194",
        "9137132112TV3BJ194",
        "9137132112TH3BJ19-",
    ],
)
def test_invalid_codes_are_refused(code: str) -> None:
    assert not is_valid_code(code)


@pytest.mark.parametrize("body", ["", "9137132112TH3BJ1", "9137132112TH3BJ194", "9137132112TH3BJ1I"])
def test_check_character_refuses_a_body_that_is_not_17_alphabet_characters(body: str) -> None:
    with pytest.raises(ValueError):
        check_character(body)


@given(bodies)
def test_make_code_is_always_valid(body: str) -> None:
    code = make_code(body)
    assert len(code) == 18 and code.startswith(body)
    assert is_valid_code(code)


@given(bodies, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=30))
def test_any_single_character_change_is_detected(body: str, position: int, shift: int) -> None:
    code = make_code(body)
    replaced = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    assert not is_valid_code(code[:position] + replaced + code[position + 1 :])


@given(st.text())
def test_normalisation_is_idempotent(raw: str) -> None:
    once = normalize_code(raw)
    assert normalize_code(once) == once
    assert not any(char.isspace() for char in once)


@given(bodies, st.lists(st.sampled_from([" ", "\u3000", "\t"]), max_size=4), st.booleans())
def test_a_valid_code_stays_valid_however_it_is_typed(body: str, blanks: list[str], lower: bool) -> None:
    code = make_code(body)
    typed = "".join(blanks) + (code.lower() if lower else code) + "".join(blanks)
    assert is_valid_code(typed)
    assert normalize_code(typed) == code
