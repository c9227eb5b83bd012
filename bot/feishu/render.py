"""A Reply as Feishu shows it: plain text, or an interactive card when it has buttons (their callbacks
come back as card.action.trigger events with the button's value), files and images as uploads."""

from __future__ import annotations

from typing import Any

from bot.chat.reply import Reply, plain_text, split_text
from bot.inbound import markdown

MAX_TEXT = 4000  # characters of one message (Feishu takes 150 KB of text, a card 30 KB)


def messages(reply: Reply) -> list[tuple[str, dict[str, Any]]]:
    """(msg_type, content) for each message of the reply's text and buttons."""
    chunks = split_text(reply.text, MAX_TEXT)
    if not reply.keyboard:
        return [("text", {"text": plain_text(chunk)}) for chunk in chunks]
    texts = [("text", {"text": plain_text(chunk)}) for chunk in chunks[:-1]]
    return [*texts, ("interactive", card(chunks[-1], reply))]


def card(text: str, reply: Reply) -> dict[str, Any]:
    rows = [
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": button.label},
                    "type": "default",
                    "value": {"data": button.data},
                }
                for button in row
            ],
        }
        for row in reply.keyboard
    ]
    return {
        "config": {"wide_screen_mode": True},
        "elements": [{"tag": "markdown", "content": markdown(text)}, *rows],
    }


def text_message(body: str, plain: bool = False) -> tuple[str, dict[str, Any]]:
    """A reminder: plain text (Feishu's text messages show no markup)."""
    return "text", {"text": plain_text(body)}
