"""What anyone may ask, bound or not: public facts of the cycle, such as whom to call."""

from __future__ import annotations

from bot.chat.base import Query, say
from bot.chat.reply import Reply
from bot.contacts import contacts as listed


def contacts(q: Query) -> Reply:
    """The notice's contacts with their phone numbers: public, so an unbound chat is told them too."""
    return say("chat_contacts", q, contacts=listed(q.cycle.name))
