"""Status by email: an emitter writing from its contact address on file with 查询 / 状态 in the subject hears
where its unit stands, in the chat's words; a few times a day at most; anyone else hears nothing."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.console import console_chat
from bot.context import AppContext
from mail import intake
from storage import outbox
from storage.models import OutboxItem
from tests.intake.world import CONFIG, SD, SD_UNITS, at, roster_mail, status
from tests.mail.corpus import build_message
from tests.told import settings_like

ROSTER_AT = "2021-10-25T15:00"
ASKED_AT = "2021-11-02T09:00"


def ask(
    sender: str, subject: str = "履约状态查询", *, auto: bool = False, message_id: str | None = None
) -> bytes:
    raw = build_message(
        sender=sender,
        to="bot@example.cn",
        subject=subject,
        date=at(ASKED_AT),
        text_body="请问我单位目前的履约情况。",
        message_id=message_id,
    )
    return b"Auto-Submitted: auto-replied\r\n" + raw if auto else raw


def take(engine: Engine, raw: bytes, when: str = ASKED_AT) -> intake.Outcome:
    return intake.take(engine, raw, "mail.eml", CONFIG, at(when))


def replies(engine: Engine) -> list[OutboxItem]:
    return [i for i in outbox.items(engine) if i.kind == "status_reply"]


def said_in_chat(engine: Engine, code: str, tmp_path: Path) -> str:
    settings = settings_like(CONFIG, database_url=engine.url.render_as_string(hide_password=False))
    out = StringIO()
    lines = f"/as {code}\n/status\n"
    console_chat(AppContext(settings), stdin=StringIO(lines), stdout=out, now=at(ASKED_AT), files=tmp_path)
    return out.getvalue()


def test_the_contact_address_hears_its_status_in_the_chat_s_words(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    engine = sqlite_engine
    jinan = SD_UNITS[0]
    assert take(engine, roster_mail(SD, SD_UNITS), ROSTER_AT).outcome == "applied"
    before = len(outbox.items(engine))
    before_status = status(engine, jinan, at(ASKED_AT))

    taken = take(engine, ask("Unit1@Example.cn"))
    assert (taken.kind, taken.outcome, taken.rows_applied) == ("status_query", "received", 0)
    [reply] = replies(engine)
    assert reply.recipient == "unit1@example.cn" and reply.subject == "Re: 履约状态查询"
    chat = said_in_chat(engine, jinan.code, tmp_path)
    block = chat[chat.index(f"{jinan.name}\n{jinan.code}") : chat.index("截至", chat.index("下一步"))].strip()
    assert "应清缴配额量：4,000,000 吨" in block
    assert block in reply.body  # the same words as chat, as plain text
    assert "<b>" not in reply.body
    # nothing else was written (no receipt, no officer alert), and the unit's state is as it was
    assert len(outbox.items(engine)) == before + 1
    assert status(engine, jinan, at(ASKED_AT)) == before_status


def test_anyone_else_hears_nothing(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    assert take(engine, roster_mail(SD, SD_UNITS), ROSTER_AT).outcome == "applied"
    before = len(outbox.items(engine))
    # a stranger; a stranger naming a unit's code; an auto-reply from the contact address itself
    assert take(engine, ask("stranger@example.cn")).kind == "status_query"
    assert take(engine, ask("stranger@example.cn", f"查询 {SD_UNITS[1].code} 状态")).kind == "status_query"
    assert take(engine, ask("unit1@example.cn", "自动回复：状态查询", auto=True)).outcome != "applied"
    assert len(outbox.items(engine)) == before  # the same silence for all: no oracle, no officer bothered


def test_replies_are_throttled_per_address_and_day(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    assert take(engine, roster_mail(SD, SD_UNITS), ROSTER_AT).outcome == "applied"
    for n in range(5):
        take(engine, ask("unit1@example.cn", f"状态查询 {n}"))
    assert len(replies(engine)) == 3
    take(engine, ask("unit1@example.cn", "状态查询 again"), "2021-11-03T09:30")  # the next day
    assert len(replies(engine)) == 4


def test_a_province_s_mail_without_a_table_is_still_refused(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    assert take(engine, roster_mail(SD, SD_UNITS), ROSTER_AT).outcome == "applied"
    taken = take(engine, ask(SD, "山东省CCER申请状态汇总"))
    assert taken.outcome == "quarantined" and not replies(engine)
