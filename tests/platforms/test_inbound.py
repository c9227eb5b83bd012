"""What the DingTalk and Feishu chats share: markdown from the views' HTML, text choices, de-duplication."""

from __future__ import annotations

from bot.chat.peer import Peer
from bot.chat.reply import Button, Reply
from bot.dingtalk import render as dingtalk
from bot.feishu import render as feishu
from bot.inbound import Choices, Seen, markdown

PEER = Peer("dingtalk", "staff001")


def test_the_views_html_becomes_markdown() -> None:
    html = (
        '<b>应清缴</b> 9,800,000 吨 &lt;5%&gt; <i>注意</i> <code>/bind</code> <a href="https://x.cn">链接</a>'
    )
    assert markdown(html) == "**应清缴** 9,800,000 吨 <5%> *注意* `/bind` [链接](https://x.cn)"


def test_a_number_or_a_label_presses_the_last_keyboard_offered() -> None:
    choices = Choices()
    choices.offer(PEER, Reply("选", keyboard=((Button("甲", "a|1"), Button("乙", "b|2")),)))
    assert choices.pick(PEER, "2") == "b|2" and choices.pick(PEER, "甲") == "a|1"
    assert choices.pick(PEER, "3") is None and choices.pick(Peer("feishu", "x"), "1") is None
    choices.offer(PEER, Reply("无按钮"))
    assert choices.pick(PEER, "1") is None  # a reply without buttons withdraws the choices


def test_an_id_is_seen_once_and_the_oldest_are_forgotten() -> None:
    seen = Seen(size=2)
    assert seen.first("a") and not seen.first("a")
    assert seen.first("b") and seen.first("c") and seen.first("a")


def test_long_replies_are_split_and_dingtalk_keeps_line_breaks() -> None:
    text = "\n".join(f"第{n}行" for n in range(2000))
    bodies = dingtalk.webhook_bodies(Reply(text), [])
    assert len(bodies) > 1 and all(len(b["markdown"]["text"]) <= 2 * dingtalk.MAX_TEXT for b in bodies)
    assert "第0行  \n第1行" in bodies[0]["markdown"]["text"]
    messages = feishu.messages(Reply(text, keyboard=((Button("甲", "a|1"),),)))
    assert [kind for kind, _ in messages][-1] == "interactive" and {k for k, _ in messages[:-1]} == {"text"}
