"""Emitters' 申请表 as they arrive: a sheet laid out as the form, a row table, a Word table, the body."""

from __future__ import annotations

import io

import docx

from tests.intake.world import Unit, at
from tests.mail.corpus import XLSX_TYPE, build_message, xlsx_bytes

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE = "全国碳市场第一个履约周期重点排放单位使用CCER抵销配额清缴申请表"


def form_rows(
    unit: Unit,
    requested: int,
    projects: list[tuple[str, str, str, int]] | None = None,
    due: int | None = None,
) -> list[list[object]]:
    """The form as a sheet: labels beside values, then the projects as a small table."""
    lines = projects or [("0158", "云南某水电站项目", "2014-01-01至2016-10-31", requested)]
    rows: list[list[object]] = [
        [TITLE],
        ["重点排放单位名称", unit.name, "统一社会信用代码", unit.code],
        ["全国碳排放权注册登记系统账户号", unit.account, None, None],
        [
            "2019-2020年度应清缴配额量（吨）",
            due if due is not None else unit.due,
            "申请抵销量（吨）",
            requested,
        ],
        ["CCER项目编号", "项目名称", "减排量产生时间", "申请抵销量（吨）"],
    ]
    rows += [[no, name, vintage, amount] for no, name, vintage, amount in lines]
    rows += [["联系人", "张三", "联系电话", "0531-12345678"], ["单位盖章", None, "日期", "2021年11月1日"]]
    return rows


def word_bytes(rows: list[list[object]]) -> bytes:
    document = docx.Document()
    document.add_paragraph(TITLE)
    width = max(len(r) for r in rows[1:])
    table = document.add_table(rows=0, cols=width)
    for row in rows[1:]:
        cells = table.add_row().cells
        for col, value in enumerate(row):
            cells[col].text = "" if value is None else str(value)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def application_mail(
    sender: str,
    rows: list[list[object]],
    when: str = "2021-11-01T10:00",
    *,
    word: bool = False,
    scan: bool = True,
    subject: str = "CCER抵销配额清缴申请表",
    message_id: str | None = None,
) -> bytes:
    files = (
        [("申请表.docx", word_bytes(rows), DOCX_TYPE)]
        if word
        else [("申请表.xlsx", xlsx_bytes(rows), XLSX_TYPE)]
    )
    if scan:
        files.append(
            ("申请表（盖章）.pdf", b"%PDF-1.4\n% a stamped scan, kept and not read\n", "application/pdf")
        )
    return build_message(
        sender=sender,
        to="bot@example.cn",
        subject=subject,
        date=at(when),
        attachments=files,
        message_id=message_id,
    )  # type: ignore[arg-type]


def text_mail(sender: str, body: str, when: str = "2021-11-01T10:00") -> bytes:
    return build_message(sender=sender, to="bot@example.cn", subject="申请表", date=at(when), text_body=body)
