"""A Reply as DingTalk shows it: markdown, buttons as numbered choices, files as robot messages.

A robot's messages have no buttons that call back (an ActionCard's buttons open links), so each button
becomes a numbered line and a dtmd:// link that sends its number as the user's message (DingTalk's
"dtmd://dingtalkclient/sendMessage?content=…" link); typing the number does the same.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.chat.reply import Button, Reply, plain_text, split_text
from bot.inbound import markdown

MAX_TEXT = 5000  # characters of one markdown message; DingTalk refuses bodies over 20,000 bytes
TITLE_CHARS = 20


def title_of(text: str) -> str:
    """The title DingTalk shows in the conversation list: the first line, short."""
    first = plain_text(text).strip().split("\n", 1)[0]
    return first[:TITLE_CHARS] or "ccerbot"


def _markdown(text: str) -> str:
    # DingTalk's markdown joins single newlines: end each line with two spaces to keep it
    return "  \n".join(markdown(text).split("\n"))


def choices(buttons: list[Button]) -> str:
    lines = [
        f"[{n}. {b.label}](dtmd://dingtalkclient/sendMessage?content={quote(str(n))})"
        for n, b in enumerate(buttons, 1)
    ]
    return "\n\n" + "  \n".join(lines)


def webhook_bodies(reply: Reply, buttons: list[Button]) -> list[dict[str, Any]]:
    """The sessionWebhook messages of a reply (without its attachment)."""
    chunks = split_text(reply.text, MAX_TEXT)
    bodies = []
    for n, chunk in enumerate(chunks):
        text = _markdown(chunk) + (choices(buttons) if n == len(chunks) - 1 and buttons else "")
        bodies.append({"msgtype": "markdown", "markdown": {"title": title_of(chunk), "text": text}})
    return bodies


def robot_markdown(text: str, plain: bool = False) -> tuple[str, dict[str, Any]]:
    """(msgKey, msgParam) of a 1:1 robot message carrying `text`."""
    if plain:
        return "sampleText", {"content": plain_text(text)}
    return "sampleMarkdown", {"title": title_of(text), "text": _markdown(text)}


def attachment_message(kind: str, media_id: str, filename: str) -> tuple[str, dict[str, Any]]:
    if kind == "image":
        return "sampleImageMsg", {"photoURL": media_id}
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "file"
    return "sampleFile", {"mediaId": media_id, "fileName": filename, "fileType": extension}
