"""What senders are told: a receipt that claims nothing a superseded summary did not do, and a refusal
that says what to send instead of a PDF or a table pasted as text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from mail import intake
from storage.outbox import items
from tests.intake.world import (
    CONFIG,
    LATER,
    NCSC,
    SD,
    SD_UNITS,
    Unit,
    at,
    seeded,
    take,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.mail.corpus import build_message
from tests.told import notifying

A, B, C = SD_UNITS
WRONG = Unit(B.province, B.name, B.code[:-1] + ("0" if B.code[-1] != "0" else "1"), B.account, B.due)


def receipt(engine: Engine, raw: bytes, lang: str = "zh") -> tuple[str, str]:
    outcome = intake.take(engine, raw, "mail.eml", notifying(CONFIG, lang), LATER)
    return outcome.outcome, items(engine)[-1].body


def test_a_superseded_summarys_receipt_claims_no_row_applied(engine: Engine) -> None:
    seeded(engine)
    newer = weekly_rows([(A, 150_000, "已确认")], "2021年12月3日")
    take(engine, xlsx_mail(SD, weekly_subject("山东省", "2021年12月3日"), "2021-12-03T16:30", newer, to=NCSC))
    older = weekly_rows([(A, 90_000, "待确认"), (WRONG, 10_000, "待确认")], "2021年11月26日")
    raw = xlsx_mail(SD, weekly_subject("山东省", "2021年11月26日"), "2021-12-04T09:00", older, to=NCSC)
    outcome, body = receipt(engine, raw)
    assert outcome == "superseded"
    assert "数据未改变" in body and "第 5 行" in body
    assert "已应用" not in body and "其余各行" not in body


def test_a_superseded_summarys_receipt_in_english(engine: Engine) -> None:
    seeded(engine)
    newer = weekly_rows([(A, 150_000, "已确认")], "2021年12月3日")
    take(engine, xlsx_mail(SD, weekly_subject("山东省", "2021年12月3日"), "2021-12-03T16:30", newer, to=NCSC))
    older = weekly_rows([(A, 90_000, "待确认"), (WRONG, 10_000, "待确认")], "2021年11月26日")
    raw = xlsx_mail(SD, weekly_subject("山东省", "2021年11月26日"), "2021-12-04T09:00", older, to=NCSC)
    _, body = receipt(engine, raw, "en")
    assert (
        "changed nothing" in body and "Rows applied" not in body and "every other row was applied" not in body
    )


def mail(when: datetime, **parts: object) -> bytes:
    return build_message(
        sender=SD, to="bot@example.cn", subject="山东省2019-2020年度重点排放单位名录", date=when, **parts
    )  # type: ignore[arg-type]


def test_a_message_with_only_a_pdf_is_refused_with_what_to_send_instead(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    outcome = take(
        sqlite_engine, mail(at("2021-11-02T10:00"), attachments=[("名录.pdf", pdf, "application/pdf")])
    )
    assert outcome.outcome == "quarantined"
    assert "名录.pdf 是PDF 文件" in (outcome.reason or "")
    assert "Excel（.xlsx、.xls）或 CSV 附件" in (outcome.reason or "")


def test_a_table_pasted_as_plain_text_is_refused_with_what_to_send_instead(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    pasted = "\n".join(
        ["序号\t重点排放单位名称\t统一社会信用代码\t应清缴配额量（吨）"]
        + [f"{n}\t{u.name}\t{u.code}\t{u.due}" for n, u in enumerate(SD_UNITS, 1)]
    )
    outcome = take(sqlite_engine, mail(at("2021-11-02T10:00"), text_body=pasted))
    assert outcome.outcome == "quarantined"
    assert "纯文本" in (outcome.reason or "") and "CSV 附件" in (outcome.reason or "")


def test_a_message_without_any_table_says_what_to_send(sqlite_engine: Engine) -> None:
    outcome = take(sqlite_engine, mail(at("2021-11-02T10:00"), text_body="您好，名录见后续邮件。"))
    assert "没有可识别的" in (outcome.reason or "") and "CSV 附件" in (outcome.reason or "")
