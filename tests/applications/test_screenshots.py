"""Step 5's stamped screenshot: mailed from the unit's contact address or sent as a file in chat by a bound
emitter, it is filed against the unit; officers see it in /unit and list who cancelled without sending it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.chat import core
from bot.console import console_chat
from bot.context import AppContext
from mail import intake
from storage import outbox
from storage.access import Identity
from storage.engine import session_scope
from storage.models import CancellationScreenshot
from storage.peer import Peer
from tests.intake.world import CONFIG, SD, SD_UNITS, at, daily_rows, daily_subject, roster_mail, xlsx_mail
from tests.mail.corpus import build_message
from tests.told import settings_like

PDF = b"%PDF-1.4\n% a stamped screenshot of the cancellation\n"


def take(engine: Engine, raw: bytes, when: str) -> intake.Outcome:
    return intake.take(engine, raw, "mail.eml", CONFIG, at(when))


def screenshot_mail(sender: str, when: str, subject: str = "CCER注销截图（盖章）") -> bytes:
    return build_message(
        sender=sender,
        to="bot@example.cn",
        subject=subject,
        date=at(when),
        text_body="附件为我单位CCER注销截图。",
        attachments=[("注销截图.pdf", PDF, "application/pdf")],
    )


def talk(ctx: AppContext, lines: list[str], when: str, files: Path) -> str:
    out = StringIO()
    console_chat(ctx, stdin=StringIO("\n".join(lines) + "\n"), stdout=out, now=at(when), files=files)
    return out.getvalue()


def filed(engine: Engine) -> list[tuple[int, str]]:
    with session_scope(engine) as session:
        return [(s.unit_id, s.source) for s in session.exec(select(CancellationScreenshot))]


def test_screenshots_by_mail_and_chat(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    settings = settings_like(CONFIG, database_url=engine.url.render_as_string(hide_password=False))
    ctx = AppContext(settings)
    jinan, qingdao, yantai = SD_UNITS
    assert take(engine, roster_mail(SD, SD_UNITS), "2021-10-25T15:00").outcome == "applied"
    cancelled = daily_rows(
        [("2021-11-15 10:30", jinan.name, jinan.code, 1_000, 120_000),
         ("2021-11-15 11:00", qingdao.name, qingdao.code, 200_000, 300_000)]
    )  # fmt: skip
    raw = xlsx_mail(SD, daily_subject("山东省", "2021年11月15日"), "2021-11-15T17:40", cancelled)
    assert take(engine, raw, "2021-11-15T17:40").outcome == "applied"

    # from a stranger: nothing filed, nobody told; from 济南's contact address: filed, the sender told
    before = len(outbox.items(engine))
    stranger = take(engine, screenshot_mail("stranger@example.cn", "2021-11-16T09:00"), "2021-11-16T09:00")
    assert (stranger.kind, stranger.rows_applied) == ("screenshot", 0)
    assert filed(engine) == [] and len(outbox.items(engine)) == before
    taken = take(engine, screenshot_mail("unit1@example.cn", "2021-11-16T10:00"), "2021-11-16T10:00")
    assert (taken.kind, taken.outcome, taken.rows_applied) == ("screenshot", "received", 1)
    assert take(
        engine, screenshot_mail("unit1@example.cn", "2021-11-16T10:00"), "2021-11-16T10:01"
    ).outcome == ("duplicate")
    assert [source for _, source in filed(engine)] == ["mail"]
    [ack] = [i for i in outbox.items(engine) if i.kind == "screenshot_received"]
    assert ack.recipient == "unit1@example.cn" and jinan.name in ack.body

    out = talk(ctx, ["/as officer 山东省", f"/unit {jinan.code}", f"/unit {qingdao.code}", "/screenshots"],
               "2021-11-16T11:00", tmp_path)  # fmt: skip
    assert "截图已收到（2021年11月16日 10:00）" in out
    assert "注销截图：尚未收到" in out
    listed = out[out.index("未发送注销截图的单位") :]
    assert qingdao.name in listed and jinan.name not in listed and yantai.name not in listed

    # 青岛 sends its screenshot as a file in chat; a file that is no screenshot is not filed
    peer = Peer("telegram", "5002")
    bound = Identity(peer, "emitter", qingdao.code, None, "zh")
    note = core.answer_file(ctx, peer, "readme.txt", "text/plain", b"hello", at("2021-11-16T12:00"), bound)
    assert "只收 CCER 注销截图" in note.text
    reply = core.answer_file(ctx, peer, None, "image/jpeg", b"\xff\xd8jpeg", at("2021-11-16T12:00"), bound)
    assert "已收到" in reply.text and qingdao.name in reply.text
    assert sorted(source for _, source in filed(engine)) == ["mail", "telegram:5002"]
    unbound = core.answer_file(
        ctx, Peer("telegram", "9"), "x.pdf", "application/pdf", PDF, at("2021-11-16T12:00")
    )
    assert "已收到" not in unbound.text and len(filed(engine)) == 2
    out = talk(ctx, ["/as officer 山东省", "/screenshots"], "2021-11-16T13:00", tmp_path)
    assert "没有：已注销 CCER 的单位都已发送截图。" in out
