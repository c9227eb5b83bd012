"""Mail built to hurt: too large, too many headers, too many cells. Each is refused before it is read,
quarantined once with the reason, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from mail.mime import MailLimits, MailTooLarge, walk
from mail.tables import Limits, TableUnreadable, tables_from_html
from storage import inbox
from storage.models import Unit as UnitRow
from tests.intake.world import SD, SD_UNITS, at, roster_mail, take
from tests.mail.corpus import build_message, forward_message

SMALL = MailLimits(max_message_bytes=64_000, max_header_field=2_000, max_header_block=8_000)


def _mail(**options: object) -> bytes:
    base: dict[str, object] = {
        "sender": SD,
        "to": "bot@example.cn",
        "subject": "名录",
        "date": at("2021-10-25T15:00"),
    }
    return build_message(**{**base, **options})  # type: ignore[arg-type]


def _with_header(raw: bytes, name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode() + raw


def test_a_message_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    raw = _mail(text_body="x" * 100_000)
    with pytest.raises(MailTooLarge, match="邮件超过"):
        walk(raw, limits=SMALL)


def test_one_enormous_header_is_refused() -> None:
    raw = _with_header(_mail(), "X-Filler", "@" + "a" * 5_000)
    with pytest.raises(MailTooLarge, match="邮件头中有一项超过"):
        walk(raw, limits=SMALL)


def test_a_folded_header_counts_whole() -> None:
    raw = _with_header(_mail(), "To", "\r\n ".join(f"a{n}@x.example," for n in range(400)))
    with pytest.raises(MailTooLarge, match="邮件头中有一项超过"):
        walk(raw, limits=SMALL)


def test_many_headers_together_are_refused() -> None:
    raw = _mail()
    for n in range(200):
        raw = _with_header(raw, f"X-Filler-{n}", "a" * 60)
    with pytest.raises(MailTooLarge, match="邮件头超过"):
        walk(raw, limits=SMALL)


def test_a_forwarded_message_with_an_enormous_header_is_refused() -> None:
    inner = _with_header(_mail(), "Cc", "@" + "a" * 5_000)
    outer = forward_message(inner, by=SD, to="bot@example.cn", subject="转发", date=at("2021-10-25T15:00"))
    with pytest.raises(MailTooLarge, match="转发的邮件头中有一项超过"):
        walk(outer, limits=SMALL)


def test_html_with_too_many_cells_is_refused_while_it_is_read() -> None:
    html = "<table>" + "<tr>" + "<td>1" * 5_000 + "</table>"
    with pytest.raises(TableUnreadable, match="单元格超过 1000"):
        tables_from_html(html, Limits(max_html_cells=1_000))
    assert tables_from_html("<table>" + "<tr><td>1<td>2" * 400 + "</table>", Limits(max_html_cells=1_000))


def _units(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(UnitRow)).one())


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [
        (
            lambda: _with_header(roster_mail(SD, SD_UNITS), "X-Filler", "@" + "a" * 1_000_000),
            "邮件头超过 128 KB",
        ),
        (
            lambda: forward_message(
                _with_header(roster_mail(SD, SD_UNITS), "To", "@" + "a" * 200_000),
                by=SD,
                to="bot@example.cn",
                subject="转发：名录",
                date=at("2021-10-25T15:00"),
            ),
            "转发的邮件头",
        ),
        (lambda: _mail(html_body="<table>" + "<tr>" + "<td>1" * 300_000 + "</table>"), "单元格超过"),
    ],
    ids=["header", "forwarded-header", "html-cells"],
)
def test_hostile_mail_is_quarantined_once_with_the_reason(
    sqlite_engine: Engine, hostile: object, reason: str
) -> None:
    raw = hostile()  # type: ignore[operator]
    outcome = take(sqlite_engine, raw)
    assert outcome.outcome == "quarantined" and reason in (outcome.reason or "")
    assert take(sqlite_engine, raw).outcome == "duplicate"
    kept = inbox.quarantined(sqlite_engine)
    assert len(kept) == 1 and kept[0].attempts == 1
    assert _units(sqlite_engine) == 0
