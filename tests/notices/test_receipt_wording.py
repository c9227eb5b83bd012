"""A file handed in through chat is answered as a mailed message is: the outcome and the refused rows in
the same words (templates/<lang>/receipt_macros.j2), in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from templates import render

ERRORS = [{"row": 3, "reason": "统一社会信用代码为空"}, {"row": 4, "reason": "申请抵销量为空"}]


def _said(template: str, lang: str, **context: object) -> list[str]:
    common = {"message_pk": 7, "subject": "汇总表", "sent_at": datetime(2021, 12, 1, tzinfo=UTC)}
    text = render(
        template,
        lang,
        taken=True,
        filename="汇总表.xlsx",
        province="山东省",
        sender=None,
        **common,
        **context,
    )
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(
    ("kind", "outcome", "reason", "errors"),
    [
        ("roster", "applied", None, ERRORS),
        ("weekly_summary", "applied", "汇总表中没有申请行", []),
        ("weekly_summary", "superseded", None, ERRORS),
        ("daily_cancellations", "quarantined", "发件人不在可信名单中", []),
    ],
)
def test_chat_says_what_the_mailed_receipt_says_of_the_outcome_and_the_rows(
    lang: str, kind: str, outcome: str, reason: str | None, errors: list[dict[str, object]]
) -> None:
    context = {"kind": kind, "outcome": outcome, "reason": reason, "rows_applied": 5}
    rows = {"errors_total": len(errors), "errors": errors, "errors_unlisted": 0}
    mailed = _said("receipt", lang, **context, **rows)
    chat = _said("chat_file_receipt", lang, **context, **rows)
    told = chat[3:]  # after the file's name, its kind and its result
    assert told, "the chat says what became of the file"
    noun = {"邮件": "文件", "message": "file"}
    assert told == [
        next((line.replace(m, f) for m, f in noun.items() if m in line), line) for line in mailed[6:-1]
    ]
