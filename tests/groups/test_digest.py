"""Merging the alerts due for one group into a digest, and cutting it at the platform's size."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.groups.digest import Message, TooSmall, digest

SEPARATOR_LINE = re.compile(r"^—— 第 \d+/\d+ 条 ——$", re.MULTILINE)


def within(limit: int) -> Callable[[str], bool]:
    return lambda text: len(text.encode()) <= limit


def body(message: Message) -> str:
    """The message without its header line."""
    return message.text.split("\n\n", 1)[1] if "\n\n" in message.text else ""


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", SEPARATOR_LINE.sub("", text))


def test_no_texts_no_message() -> None:
    assert digest([], within(2048)) == []


def test_one_text_is_one_message_under_the_header() -> None:
    [message] = digest(["【山东省】距 95% 还差 3 家"], within(2048))
    assert message.text == "【CCER 履约提醒】\n\n【山东省】距 95% 还差 3 家"
    assert message.completes == 1


def test_texts_due_together_are_one_message_in_order() -> None:
    texts = ["第一条提醒", "第二条提醒", "第三条提醒"]
    [message] = digest(texts, within(2048))
    assert message.text.splitlines()[0] == "【CCER 履约提醒】共 3 条"
    positions = [message.text.index(t) for t in texts]
    assert positions == sorted(positions)
    assert "—— 第 2/3 条 ——\n第二条提醒" in message.text
    assert message.completes == 3


def test_english_header() -> None:
    [message] = digest(["a", "b"], within(2048), lang="en")
    assert message.text.startswith("[CCER compliance alerts] 2 alerts\n\n—— 1 of 2 ——\na")


def test_texts_that_do_not_fit_together_go_to_the_next_message_whole() -> None:
    texts = ["甲" * 200, "乙" * 200, "丙" * 200]  # 600 bytes each
    messages = digest(texts, within(1400))
    assert len(messages) == 2
    assert "甲" * 200 in messages[0].text and "乙" * 200 in messages[0].text
    assert "丙" * 200 in messages[1].text
    assert [m.completes for m in messages] == [2, 3]
    assert messages[0].text.startswith("【CCER 履约提醒】共 3 条（第 1/2 部分）")
    assert messages[1].text.startswith("【CCER 履约提醒】共 3 条（第 2/2 部分）")


def test_a_long_text_is_cut_at_line_ends() -> None:
    lines = [f"第 {i} 行：" + "单位名称" * 10 for i in range(40)]
    messages = digest(["\n".join(lines)], within(600))
    assert len(messages) > 1
    assert all(len(m.text.encode()) <= 600 for m in messages)
    received = [line for m in messages for line in body(m).split("\n")]
    assert received == lines  # whole lines, none lost, none cut
    assert [m.completes for m in messages] == [0] * (len(messages) - 1) + [1]


def test_a_line_longer_than_a_message_is_cut_between_characters() -> None:
    line = "碳" * 1000  # 3,000 bytes, no line end
    messages = digest([line], within(500))
    assert all(len(m.text.encode()) <= 500 for m in messages)
    assert "".join(body(m) for m in messages) == line


def test_the_last_piece_of_a_cut_text_shares_its_message_with_the_next_text() -> None:
    long = "\n".join(["名单" * 30] * 5)  # 5 lines of 180 bytes
    messages = digest([long, "短提醒"], within(500))
    assert "短提醒" in messages[-1].text
    assert "名单" in messages[-1].text


def test_every_part_carries_the_keyword() -> None:
    messages = digest(["提醒" * 2000], within(700))
    assert len(messages) > 5
    assert all("CCER" in m.text.splitlines()[0] for m in messages)


def test_a_limit_smaller_than_the_header_is_an_error() -> None:
    with pytest.raises(TooSmall):
        digest(["text"], within(10))


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.text(alphabet=st.sampled_from("碳排放配额 CCER 抵销ab1\n。，"), min_size=0, max_size=400),
        min_size=1,
        max_size=8,
    ),
    limit=st.integers(min_value=120, max_value=1500),
)
def test_every_message_fits_and_nothing_is_lost(texts: list[str], limit: int) -> None:
    messages = digest(texts, within(limit))
    assert all(len(m.text.encode()) <= limit for m in messages)
    assert squeezed("\n".join(body(m) for m in messages)) == squeezed("".join(texts))
    assert [m.completes for m in messages] == sorted(m.completes for m in messages)
    assert messages[-1].completes == len(texts)
    parts = len(messages)
    if parts > 1:
        assert all(f"/{parts} 部分）" in m.text.splitlines()[0] for m in messages)


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=150), min_size=1, max_size=12),
    limit=st.integers(min_value=260, max_value=900),
)
def test_texts_that_fit_are_packed_into_as_few_messages_as_possible(sizes: list[int], limit: int) -> None:
    texts = [f"{i}" + "x" * size for i, size in enumerate(sizes)]
    messages = digest(texts, within(limit))
    assert [m.completes for m in messages] == sorted(set(m.completes for m in messages))  # none cut
    # no message could have taken the first text of the next one (beside the widest header, the last's)
    widest = messages[-1].text.split("\n\n", 1)[0]
    for first, second in itertools.pairwise(messages):
        moved = body(second).split("\n\n", 1)[0]
        assert len(f"{widest}\n\n{body(first)}\n\n{moved}".encode()) > limit


def test_a_numbering_line_is_never_left_alone_at_the_end_of_a_part() -> None:
    texts = ["短", "\n".join(["名单" * 20] * 6)]
    messages = digest(texts, within(300))
    assert all(not body(m).rstrip().endswith("条 ——") for m in messages)
