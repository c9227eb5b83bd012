from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.chat.reply import MAX_TEXT, plain_text, split_text


def test_plain_text_drops_tags_and_decodes_entities() -> None:
    assert plain_text("<b>华能 &lt;A&amp;B&gt;</b>\n<i>x</i>") == "华能 <A&B>\nx"


def test_a_short_text_is_one_message() -> None:
    assert split_text("一\n二") == ["一\n二"]


def test_long_texts_are_cut_on_line_boundaries_within_the_limit() -> None:
    lines = [f"<b>{n:04d}</b> 某某电厂有限公司 {'吨' * 30}" for n in range(400)]
    chunks = split_text("\n".join(lines))
    assert len(chunks) > 1
    assert all(len(c) <= MAX_TEXT for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, nothing cut inside a line


@given(st.lists(st.text(alphabet="ab\n吨", max_size=300), max_size=40), st.integers(10, 200))
def test_splitting_keeps_every_character_and_the_limit(parts: list[str], limit: int) -> None:
    text = "\n".join(parts)
    chunks = split_text(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "") or not text.strip()
