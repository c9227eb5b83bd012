"""A roster, summary or list an officer drops into the chat is taken as if the province's trusted sender had
mailed it: the officer's binding makes it trusted (with `[senders] authserv_id` too, where a From line alone
is not), the province limits what it may change, and the chat's answer is its receipt."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.config import Settings
from bot.console import console_chat
from bot.context import AppContext
from mail import intake
from mail.authn import AUTH_REFUSAL
from mail.handed_in import HandedIn, as_mail
from storage import access, inbox, outbox
from storage.engine import session_scope
from storage.models import InboundMessage, OffsetApplication, Unit
from storage.peer import Peer
from tests.applications.forms import form_rows, word_bytes
from tests.intake.world import (
    CONFIG,
    GD_UNITS,
    SD,
    SD_UNITS,
    at,
    daily_rows,
    daily_subject,
    roster_mail,
    roster_rows,
    status,
)
from tests.mail.corpus import xlsx_bytes
from tests.told import settings_like

CONSOLE = Peer("console", "0")
WHEN = "2021-10-26T10:00"


def context(engine: Engine, authserv_id: str | None = None) -> AppContext:
    settings: Settings = settings_like(CONFIG, database_url=engine.url.render_as_string(hide_password=False))
    if authserv_id is not None:
        senders = settings.senders.model_copy(update={"authserv_id": authserv_id})
        settings = settings.model_copy(update={"senders": senders})
    return AppContext(settings)


def bind(engine: Engine, province: str) -> None:
    """The console's chat bound as the province's officer (a bound officer, not the console's /as)."""
    with session_scope(engine) as session:
        access.bind(session, CONSOLE, "officer", at(WHEN), province=province)


def talk(ctx: AppContext, lines: list[str], tmp_path: Path, when: str = WHEN) -> str:
    out = StringIO()
    stdin = StringIO("\n".join(lines) + "\n")
    console_chat(ctx, stdin=stdin, stdout=out, now=at(when), files=tmp_path / "out")
    return out.getvalue()


def file_at(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def units(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.exec(select(Unit.code)))


def messages(engine: Engine) -> list[tuple[str, str | None, str | None, str | None]]:
    with session_scope(engine) as session:
        query = select(InboundMessage).options(*inbox.WITHOUT_RAW).order_by(InboundMessage.id)  # type: ignore[arg-type]
        return [(m.source, m.outcome, m.handed_in_by, m.handed_in_for) for m in session.exec(query)]


def test_an_officer_drops_a_roster_and_reads_the_receipt(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    bind(engine, "山东省")
    roster = file_at(tmp_path, "山东省名录.xlsx", xlsx_bytes(roster_rows(SD_UNITS)))
    out = talk(context(engine), [f"/file {roster}", f"/file {roster}"], tmp_path)
    assert "按山东省可信发件人（ccer@sthj.shandong.example）发来的邮件处理" in out
    assert "类型：重点排放单位名录" in out and "已应用 3 行。" in out
    assert "结果：重复邮件，未再处理" in out and "这份文件此前已提交过" in out
    assert units(engine) == {u.code for u in SD_UNITS}
    assert status(engine, SD_UNITS[1], at("2021-10-27T09:00")).allowances_due_t == SD_UNITS[1].due
    assert messages(engine) == [
        ("chat:console:0", "applied", "console:0", "山东省"),
        ("chat:console:0", "duplicate", "console:0", "山东省"),
    ]
    # the receipt was the answer in chat: no receipt mailed to the province's address
    assert [i for i in outbox.items(engine) if i.kind == "receipt"] == []


def test_the_receipt_lists_the_refused_rows_in_english(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    rows = roster_rows(SD_UNITS)
    rows[3][5] = "很多"  # 青岛's allowances: not a number
    roster = file_at(tmp_path, "roster.xlsx", xlsx_bytes(rows))
    bind(engine, "山东省")
    out = talk(context(engine), ["/lang en", f"/file {roster}"], tmp_path)
    assert "taken as mail from 山东省's trusted sender" in out
    assert "Result: applied, some rows refused" in out and "Rows applied: 2." in out
    assert "1 row(s) were refused; every other row was applied:" in out and "Row 4:" in out


def test_an_officer_may_change_only_the_own_province(sqlite_engine: Engine, tmp_path: Path) -> None:
    """As the province's address would be: a roster of another province's units is refused."""
    engine = sqlite_engine
    theirs = file_at(tmp_path, "广东省名录.xlsx", xlsx_bytes(roster_rows(GD_UNITS)))
    bind(engine, "山东省")
    out = talk(context(engine), [f"/file {theirs}"], tmp_path)
    mailed = intake.take(engine, roster_mail(SD, GD_UNITS), "mail.eml", CONFIG, at(WHEN))
    assert mailed.outcome == "quarantined" and mailed.reason is not None
    assert (
        "结果：已隔离" in out and f"原因：{mailed.reason}".replace(SD, "山东省主管部门（console:0）") in out
    )
    assert units(engine) == set()


def test_a_national_officer_drops_the_daily_cancellation_list(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    assert intake.take(engine, roster_mail(SD, SD_UNITS), "mail.eml", CONFIG, at(WHEN)).outcome == "applied"
    jinan = SD_UNITS[0]
    rows = daily_rows([("2021-11-20 10:00", jinan.name, jinan.code, 1, 50_000)])
    listed = file_at(tmp_path, f"{daily_subject('山东省', '2021-11-20')}.xlsx", xlsx_bytes(rows))
    out = talk(context(engine), ["/as officer *", f"/file {listed}"], tmp_path, "2021-11-20T18:00")
    assert "按国家气候战略中心（registry@ccer-sc.org.cn）发来的邮件处理" in out
    assert "类型：CCER 注销记录" in out and "已应用 1 行。" in out
    assert status(engine, jinan, at("2021-11-21T09:00")).status.cancelled_t == 50_000
    # 广东省's officer: the same file is another province's list, refused as 广东省's address would be
    bind(engine, "广东省")
    out = talk(context(engine), [f"/file {listed}"], tmp_path, "2021-11-20T18:05")
    assert "结果：已隔离" in out and "广东省主管部门（console:0） 不能代表山东省发送数据" in out


def test_files_that_are_not_taken(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    assert intake.take(engine, roster_mail(SD, SD_UNITS), "mail.eml", CONFIG, at(WHEN)).outcome == "applied"
    roster = file_at(tmp_path, "名录.xlsx", xlsx_bytes(roster_rows(SD_UNITS)))
    scan = file_at(tmp_path, "扫描件.pdf", b"%PDF-1.4\n% a scan\n")
    lines = [
        f"/file {roster}",
        "/as officer 山东省",
        f"/file {scan}",
        f"/as {SD_UNITS[0].code}",
        f"/file {roster}",
    ]
    out = talk(context(engine), lines, tmp_path)
    assert "「扫描件.pdf」不是这样的表格，未处理" in out  # an officer's PDF
    assert "这里只收 CCER 注销截图" in out  # an emitter's spreadsheet: not taken
    assert "/bind" in out  # an unbound chat's file: how to bind
    assert [m[0] for m in messages(engine)] == ["mail.eml"]


def test_with_authserv_id_the_binding_vouches_and_a_forgery_does_not(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    engine = sqlite_engine
    ctx = context(engine, authserv_id="mx.example")
    bind(engine, "山东省")
    # mailed with the province's From line and no verdict of mx.example: not trusted
    forged = intake.take(engine, roster_mail(SD, SD_UNITS), "mail.eml", ctx.intake_config(), at(WHEN))
    assert forged.outcome == "quarantined" and (forged.reason or "").startswith(AUTH_REFUSAL)
    # the same roster dropped by the officer bound in this chat: trusted
    roster = file_at(tmp_path, "名录.xlsx", xlsx_bytes(roster_rows(SD_UNITS)))
    out = talk(ctx, [f"/file {roster}"], tmp_path)
    assert "已应用 3 行。" in out
    assert units(engine) == {u.code for u in SD_UNITS}
    # the bytes the chat made, mailed by anyone: judged by their From line, not trusted
    handed = HandedIn(str(CONSOLE), "山东省")
    rows = roster_rows(SD_UNITS)
    rows[2][5] = 1  # another figure, so that it is not the same message again
    copied = as_mail(
        handed, ctx.settings.trusted_senders(), "名录.xlsx", "application/x", xlsx_bytes(rows), at(WHEN)
    )
    copy = intake.take(engine, copied, "mail.eml", ctx.intake_config(), at(WHEN))
    assert copy.outcome == "quarantined" and (copy.reason or "").startswith(AUTH_REFUSAL)


def test_a_retry_and_a_resumed_message_are_judged_by_the_hand_in(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """The hand-in is kept with the message: `quarantine retry` and `resume` judge it the same way."""
    engine = sqlite_engine
    ctx = context(engine, authserv_id="mx.example")
    config, handed = ctx.intake_config(), HandedIn("telegram:1001", "山东省")
    senders = ctx.settings.trusted_senders()
    # a crash left a handed-in roster stored and unfinished: resumed, it is trusted
    raw = as_mail(handed, senders, "名录.xlsx", "application/x", xlsx_bytes(roster_rows(SD_UNITS)), at(WHEN))
    inbox.store(engine, raw, source=handed.source, message_id=None, sender=SD, subject="名录", sent_at=None,
                now=at(WHEN), handed_in=handed.as_stored())  # fmt: skip
    [resumed] = intake.resume(engine, config, at(WHEN))
    assert (resumed.outcome, resumed.rows_applied) == ("applied", 3)
    # refused for its content, then retried: refused for the same reason, not for its From line
    theirs = as_mail(
        handed, senders, "广东.xlsx", "application/x", xlsx_bytes(roster_rows(GD_UNITS)), at(WHEN)
    )
    first = intake.take(engine, theirs, handed.source, config, at(WHEN), handed_in=handed)
    assert first.outcome == "quarantined" and "不能代表广东省" in (first.reason or "")
    inbox.reset_for_retry(engine, first.message_pk or 0)
    again = intake.process(engine, first.message_pk or 0, config, at(WHEN), handed.source)
    assert (again.outcome, again.reason) == ("quarantined", first.reason)


def test_read_in_the_worker_process_as_run_reads_it(sqlite_engine: Engine, tmp_path: Path) -> None:
    """`run` reads every message in its worker, where an untrusted one is refused: the hand-in goes there
    with the bytes, or the worker would judge the file by its From line."""
    engine = sqlite_engine
    ctx = context(engine, authserv_id="mx.example")
    ctx.reads_in_worker = True
    bind(engine, "山东省")
    roster = file_at(tmp_path, "名录.xlsx", xlsx_bytes(roster_rows(SD_UNITS)))
    try:
        out = talk(ctx, [f"/file {roster}"], tmp_path)
    finally:
        ctx.close_sandbox()
    assert "sandbox" in ctx.__dict__  # it was read there
    assert "已应用 3 行。" in out


def test_an_officer_hands_in_an_emitters_word_form(sqlite_engine: Engine, tmp_path: Path) -> None:
    """A 申请表 received some other way: a proposal like a mailed one, answered at the unit's contact
    address and not at the province's, and not counted against any stranger's share."""
    engine = sqlite_engine
    assert intake.take(engine, roster_mail(SD, SD_UNITS), "mail.eml", CONFIG, at(WHEN)).outcome == "applied"
    bind(engine, "山东省")
    forms = [
        file_at(tmp_path, f"申请表{n}.docx", word_bytes(form_rows(u, 1_000 + n)))
        for n, u in enumerate(SD_UNITS)
    ]
    out = talk(context(engine), [f"/file {f}" for f in forms], tmp_path, "2021-11-01T10:00")
    assert out.count("类型：CCER 抵销申请表") == 3 and "已登记 1 份申请（/application 3）" in out
    with session_scope(engine) as session:
        stored = [(a.code, a.sender, a.state) for a in session.exec(select(OffsetApplication))]
    assert stored == [(u.code, None, "pending") for u in SD_UNITS]
    told = {(i.recipient, i.kind) for i in outbox.items(engine) if i.audience == "emitter"}
    assert told == {(f"unit{n}@example.cn", "application_pending") for n in (1, 2, 3)}
