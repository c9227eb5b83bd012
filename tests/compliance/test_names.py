from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from compliance.names import account_key, name_key


def test_names_match_across_widths_spaces_and_brackets() -> None:
    assert name_key("烟台（测试）能源有限公司\u3000 ") == name_key("烟台(测试)能源有限公司")
    assert name_key("Ａ公司 北京") == name_key("A公司北京")
    assert name_key("甲公司") != name_key("乙公司")


def test_accounts_ignore_case_width_and_spaces() -> None:
    assert account_key(" ３７１９ 22ab ") == account_key("371922AB")


@given(st.text())
def test_keys_are_idempotent(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)
    assert account_key(account_key(text)) == account_key(text)


def test_zero_width_characters_do_not_tell_two_names_apart() -> None:
    assert name_key("烟台\u200b测试能源\ufeff有限公司") == name_key("烟台测试能源有限公司")
