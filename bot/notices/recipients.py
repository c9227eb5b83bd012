"""Who hears a notice: the one rule for officers and the one for emitters, on every channel.

Officers of a province hear of it in their chats (Telegram and the chat platforms), by email only when
none of them is in a chat, and through the group robots that take this kind of notice — in mainland
China those robots may be all there is. National officers ("*") hear of every province.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.config import Settings
from bot.groups.routing import groups_for
from storage import access
from storage.models import ChatBinding

NATIONAL = "*"
# notices that must reach officers by another way than the one that failed: their addresses too
ON_EVERY_CHANNEL = frozenset({"delivery_failed"})
# the outbox channel that reaches a person bound on a chat platform; the console reaches nobody
CHAT_CHANNELS = {
    "telegram": "telegram",
    "dingtalk": "dingtalk_chat",
    "feishu": "feishu_chat",
    "wecom": "wecom_chat",
}


@dataclass(frozen=True)
class Recipient:
    channel: str  # telegram | email | wecom | dingtalk | feishu (group robots) | <platform>_chat (apps)
    address: str  # chat id, email address, group name, platform user id
    lang: str


def officers(session: Session, settings: Settings, province: str | None, kind: str) -> list[Recipient]:
    """Everyone who hears an officer notice of `kind` about `province` (None: a province nobody knows,
    which the national officers hear of)."""
    area = province or NATIONAL
    chats = officer_chats(session, settings, area)
    emails = officer_emails(settings, area) if not chats or kind in ON_EVERY_CHANNEL else []
    return _once(chats + emails + group_recipients(settings, area, kind))


def every_officer(session: Session, settings: Settings, kind: str) -> list[Recipient]:
    """A notice about the bot itself (mail has stopped arriving): the officers of every province."""
    provinces = {b.province for b in access.all_officer_chats(session) if b.province}
    provinces |= {o.province for o in settings.officers} | set(settings.senders.provinces)
    provinces |= {g.province for g in settings.groups}
    named = sorted(provinces - {NATIONAL}) or [NATIONAL]  # national officers hear with every province
    return _once([r for p in named for r in officers(session, settings, p, kind)])


def officer_chats(session: Session, settings: Settings, province: str) -> list[Recipient]:
    """The province's and the national officers bound in a chat, and those configured in [[officers]]."""
    chats = [r for b in access.officer_chats(session, province) if (r := _in_chat(b)) is not None]
    bound = {r.address for r in chats if r.channel == "telegram"}
    configured = [
        Recipient("telegram", str(o.telegram_id), settings.lang)
        for o in settings.officers
        if o.province in (province, NATIONAL) and str(o.telegram_id) not in bound
    ]
    return chats + configured


def officer_emails(settings: Settings, province: str) -> list[Recipient]:
    return [
        Recipient("email", address, settings.lang) for address in settings.senders.provinces.get(province, [])
    ]


def group_recipients(settings: Settings, province: str, kind: str) -> list[Recipient]:
    return [
        Recipient(group.kind, name, settings.lang) for name, group in groups_for(settings, province, kind)
    ]


def emitters(session: Session, settings: Settings, unit_code: str, email: str | None) -> list[Recipient]:
    """A unit's people: its bound chats, else its contact address."""
    chats = [r for b in access.chats_for_unit(session, unit_code) if (r := _in_chat(b)) is not None]
    return chats or ([Recipient("email", email, settings.lang)] if email else [])


def _in_chat(binding: ChatBinding) -> Recipient | None:
    channel = CHAT_CHANNELS.get(binding.platform)
    return None if channel is None else Recipient(channel, str(binding.chat_id), binding.lang)


def _once(recipients: list[Recipient]) -> list[Recipient]:
    return list({(r.channel, r.address): r for r in recipients}.values())
