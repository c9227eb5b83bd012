"""Every variant FORMATS.md names, through the whole intake, checked against the state it leaves."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.intake.world import (
    DAILY_HEADER,
    GD,
    GD_UNITS,
    NCSC,
    SD,
    SD_UNITS,
    at,
    daily_rows,
    daily_subject,
    roster_mail,
    seeded,
    status,
    take,
    unmatched,
    weekly_rows,
    weekly_subject,
    xlsx_mail,
)
from tests.mail.corpus import XLS_TYPE, build_message, csv_bytes, html_table, xls_bytes, xlsx_bytes, zip_bytes

A, B, C = SD_UNITS
G1, G2 = GD_UNITS


def test_xls_weekly_summary_is_applied(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    rows = weekly_rows([(A, 150_000, "已确认"), (B, 400_000, "待确认")], "2021年11月5日")
    raw = build_message(
        sender=SD,
        to=NCSC,
        subject=weekly_subject("山东省", "2021年11月5日"),
        date=at("2021-11-05T16:30"),
        attachments=[("汇总表.xls", xls_bytes(rows), XLS_TYPE)],
    )
    outcome = take(sqlite_engine, raw)
    assert (outcome.kind, outcome.outcome, outcome.rows_applied) == ("weekly_summary", "applied", 2)
    assert (status(sqlite_engine, A).status.application, status(sqlite_engine, A).status.confirmed_t) == (
        "confirmed",
        150_000,
    )
    assert status(sqlite_engine, B).status.application == "pending"


def test_gbk_csv_with_an_rfc2231_gbk_filename(engine: Engine) -> None:
    seeded(engine)
    rows = daily_rows([("2021-11-15 10:30", G1.name, G1.code, 1_000, 120_000)])
    raw = build_message(
        sender=NCSC,
        to=GD,
        subject=daily_subject("广东省", "2021年11月15日"),
        date=at("2021-11-15T17:40"),
        filename_style="rfc2231-gbk",
        attachments=[("CCER注销记录.csv", csv_bytes(rows, "gbk"), "application/octet-stream")],
    )
    outcome = take(engine, raw)
    assert (outcome.kind, outcome.outcome) == ("cancellation_list", "applied")
    assert status(engine, G1).status.cancelled_t == 120_000


def test_zip_holding_an_xlsx(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    inner = xlsx_bytes(daily_rows([("2021-11-16", A.name, A.code, 5_000, 30_000)]))
    raw = build_message(
        sender=NCSC,
        to=SD,
        subject=daily_subject("山东省", "2021年11月16日"),
        date=at("2021-11-16T17:40"),
        filename_style="rfc2047-gb18030",
        attachments=[
            ("注销记录.zip", zip_bytes({"注销记录.xlsx": inner}, gbk_names=True), "application/zip")
        ],
    )
    assert take(sqlite_engine, raw).outcome == "applied"
    assert status(sqlite_engine, A).status.cancelled_t == 30_000


def test_html_table_in_the_body(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    rows = weekly_rows([(G2, 300_000, "通过")], "2021年11月12日")
    raw = build_message(
        sender=GD,
        to=NCSC,
        subject=weekly_subject("广东省", "2021年11月12日"),
        date=at("2021-11-12T16:30"),
        html_body=html_table(rows),
    )
    outcome = take(sqlite_engine, raw)
    assert (outcome.kind, outcome.outcome) == ("weekly_summary", "applied")
    assert status(sqlite_engine, G2).status.confirmed_t == 300_000


def test_a_forwarded_list_is_vouched_for_by_its_forwarder(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    rows = daily_rows(
        [
            ("2021-11-20 09:00", A.name, A.code, 9_000, 10_000),
            ("2021-11-20 09:05", G1.name, G1.code, 19_000, 20_000),
        ]
    )
    raw = xlsx_mail(
        NCSC, daily_subject("山东省", "2021年11月20日"), "2021-11-20T17:40", rows, to=SD, forwarded_by=SD
    )
    outcome = take(sqlite_engine, raw)
    assert outcome.outcome == "applied_with_row_errors"
    assert [e.row for e in outcome.row_errors] == [3]
    assert "山东省" in outcome.row_errors[0].reason
    assert status(sqlite_engine, A).status.cancelled_t == 10_000
    assert status(sqlite_engine, G1).status.cancelled_t == 0  # Shandong cannot vouch for Guangdong


def test_a_gb18030_subject_in_raw_8bit_and_in_gbk_labelled_words(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    for charset, serial, day in (("raw-gb18030", 100, "2021-11-17"), ("gbk", 200, "2021-11-18")):
        rows = daily_rows([(f"{day} 10:00", B.name, B.code, serial, 1_000)])
        raw = xlsx_mail(
            NCSC,
            daily_subject("山东省", day),
            f"{day}T17:40",
            rows,
            to=SD,
            subject_charset=charset,
            split_words=charset == "gbk",
        )
        outcome = take(sqlite_engine, raw)
        assert (outcome.kind, outcome.outcome, outcome.province) == ("cancellation_list", "applied", "山东省")
    assert status(sqlite_engine, B).status.cancelled_t == 2_000


def test_amounts_in_ten_thousand_tonnes_full_width_and_separators(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    header = [
        "省份",
        "单位名称",
        "统一社会信用代码",
        "应清缴配额量",
        "申请抵销量（万吨）",
        "项目编号",
        "确认结果",
    ]
    rows = [
        ["截至2021年11月26日"],
        header,
        ["山东省", A.name, A.code, "4,000,000", "１５", "0158", "已确认"],
        ["山东省", B.name, B.code.lower(), "10 000 000", "12.5", "0158", "确认"],
    ]
    raw = xlsx_mail(SD, weekly_subject("山东省", "2021年11月26日"), "2021-11-26T16:30", rows, to=NCSC)
    assert take(sqlite_engine, raw).outcome == "applied"
    assert status(sqlite_engine, A).status.requested_t == 150_000
    assert status(sqlite_engine, B).status.requested_t == 125_000


def test_cumulative_and_repeated_lists_count_each_record_once(engine: Engine) -> None:
    seeded(engine)
    first = [("2021-11-22 10:00", A.name, A.code, 1_000, 50_000)]
    second = [*first, ("2021-11-23 10:00", A.name, A.code, 60_000, 25_000)]
    for day, rows in (("2021-11-22", first), ("2021-11-23", second), ("2021-11-23", second)):
        raw = xlsx_mail(
            NCSC,
            daily_subject("山东省", day),
            f"{day}T17:40",
            daily_rows(rows),
            to=SD,
            message_id=None,
            text_body=f"{day} {len(rows)}",
        )
        take(engine, raw)
    assert status(engine, A).status.cancelled_t == 75_000


def test_records_without_serials_are_the_same_by_unit_project_time_and_quantity(
    sqlite_engine: Engine,
) -> None:
    seeded(sqlite_engine)
    header = ["注销时间", "账户名称", "项目编号", "注销量"]
    rows = [
        header,
        ["2021-11-24 11:00", C.name, "0433", 7_000],
        ["2021-11-24 11:00", C.name, "0433", 7_000],
        ["2021-11-24 15:00", C.name, "0433", 7_000],
    ]
    raw = xlsx_mail(NCSC, daily_subject("山东省", "2021-11-24"), "2021-11-24T17:40", rows, to=SD)
    take(sqlite_engine, raw)
    assert status(sqlite_engine, C).status.cancelled_t == 14_000


def test_an_older_summary_arriving_late_is_superseded_and_changes_nothing(engine: Engine) -> None:
    seeded(engine)
    newer = weekly_rows([(A, 150_000, "已确认")], "2021年12月3日")
    older = weekly_rows([(A, 90_000, "待确认")], "2021年11月26日")
    assert (
        take(
            engine,
            xlsx_mail(SD, weekly_subject("山东省", "2021年12月3日"), "2021-12-03T16:30", newer, to=NCSC),
        ).outcome
        == "applied"
    )
    late = take(
        engine, xlsx_mail(SD, weekly_subject("山东省", "2021年11月26日"), "2021-12-04T09:00", older, to=NCSC)
    )
    assert late.outcome == "superseded"
    report = status(engine, A)
    assert (report.status.application, report.status.requested_t) == ("confirmed", 150_000)


def test_the_same_message_twice_is_applied_once(engine: Engine) -> None:
    seeded(engine)
    raw = xlsx_mail(
        NCSC,
        daily_subject("山东省", "2021-11-25"),
        "2021-11-25T17:40",
        daily_rows([("2021-11-25", B.name, B.code, 70_000, 5_000)]),
        to=SD,
        message_id="<x1@ncsc>",
    )
    assert take(engine, raw).outcome == "applied"
    assert take(engine, raw).outcome == "duplicate"
    resent = raw.replace(b"\r\n\r\n", b"\r\nX-Resent: yes\r\n\r\n", 1)
    assert take(engine, resent).outcome == "duplicate"  # same Message-ID, other bytes
    assert status(engine, B).status.cancelled_t == 5_000


def test_an_unknown_sender_is_quarantined_and_applies_nothing(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    raw = xlsx_mail(
        "someone@mail.example",
        daily_subject("山东省", "2021-11-25"),
        "2021-11-25T17:40",
        daily_rows([("2021-11-25", A.name, A.code, 80_000, 5_000)]),
        to=SD,
    )
    outcome = take(sqlite_engine, raw)
    assert outcome.outcome == "quarantined" and "someone@mail.example" in (outcome.reason or "")
    assert status(sqlite_engine, A).status.cancelled_t == 0


def test_a_province_officer_cannot_send_another_provinces_roster(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    outcome = take(sqlite_engine, roster_mail(SD, GD_UNITS, "2021-12-14T18:00", {G1.code: "已完成"}))
    assert outcome.outcome == "quarantined" and "广东省" in (outcome.reason or "")
    assert not status(sqlite_engine, G1).status.complied


def test_a_truncated_attachment_quarantines_the_whole_message(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    data = xlsx_bytes(daily_rows([("2021-11-25", A.name, A.code, 90_000, 5_000)]))
    raw = build_message(
        sender=NCSC,
        to=SD,
        subject=daily_subject("山东省", "2021-11-25"),
        date=at("2021-11-25T17:40"),
        attachments=[("a.xlsx", data[: len(data) // 2], None)],
    )
    outcome = take(sqlite_engine, raw)
    assert outcome.outcome == "quarantined" and "a.xlsx" in (outcome.reason or "")
    assert status(sqlite_engine, A).status.cancelled_t == 0


def test_a_wrong_check_character_is_a_row_error_and_the_rest_applies(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    wrong = A.code[:-1] + ("0" if A.code[-1] != "0" else "1")
    rows = daily_rows([("2021-11-25", A.name, wrong, 1, 5_000), ("2021-11-25", B.name, B.code, 10, 6_000)])
    outcome = take(
        sqlite_engine, xlsx_mail(NCSC, daily_subject("山东省", "2021-11-25"), "2021-11-25T17:40", rows, to=SD)
    )
    assert outcome.outcome == "applied_with_row_errors"
    assert [e.row for e in outcome.row_errors] == [2] and wrong in outcome.row_errors[0].reason
    assert (status(sqlite_engine, A).status.cancelled_t, status(sqlite_engine, B).status.cancelled_t) == (
        0,
        6_000,
    )


def test_an_unknown_unit_is_kept_unmatched_until_a_roster_brings_it(engine: Engine) -> None:
    seeded(engine)
    from compliance.creditcode import make_code
    from tests.intake.world import Unit

    newcomer = Unit(
        "山东省", "威海新来能源有限公司", make_code("91371000MA3C00009"), "371000000009", 3_000_000
    )
    rows = daily_rows([("2021-11-26 10:00", newcomer.name, None, 500_000, 40_000)])
    take(engine, xlsx_mail(NCSC, daily_subject("山东省", "2021-11-26"), "2021-11-26T17:40", rows, to=SD))
    assert unmatched(engine, "山东省") == 1
    take(engine, roster_mail(SD, [*SD_UNITS, newcomer], "2021-11-29T10:00"))
    assert unmatched(engine, "山东省") == 0
    assert status(engine, newcomer).status.cancelled_t == 40_000


def test_name_variants_match_by_name_without_a_code(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    variant = "烟台(测试)能源有限公司\u3000 "  # half-width brackets, a full-width space, trailing blanks
    rows = [
        DAILY_HEADER[:3] + DAILY_HEADER[6:9],
        [1, "2021-11-27", variant, "000000000001", "000000001000", 1_000],
    ]
    take(
        sqlite_engine, xlsx_mail(NCSC, daily_subject("山东省", "2021-11-27"), "2021-11-27T17:40", rows, to=SD)
    )
    assert status(sqlite_engine, C).status.cancelled_t == 1_000


def test_a_wps_workbook_with_a_wrong_dimension_is_read_whole(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    rows = daily_rows(
        [("2021-11-28", A.name, A.code, 300, 2_000), ("2021-11-28", B.name, B.code, 400, 3_000)]
    )
    raw = build_message(
        sender=NCSC,
        to=SD,
        subject=daily_subject("山东省", "2021-11-28"),
        date=at("2021-11-28T17:40"),
        attachments=[("wps.xlsx", xlsx_bytes(rows, wps_dimension=True), None)],
    )
    assert take(sqlite_engine, raw).rows_applied == 2


def test_a_file_whose_name_and_type_lie_is_read_by_its_content(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    data = xlsx_bytes(daily_rows([("2021-11-29", B.name, B.code, 900, 4_000)]))
    raw = build_message(
        sender=NCSC,
        to=SD,
        subject=daily_subject("山东省", "2021-11-29"),
        date=at("2021-11-29T17:40"),
        attachments=[("记录.pdf", data, "application/pdf")],
    )
    assert take(sqlite_engine, raw).outcome == "applied"
    assert status(sqlite_engine, B).status.cancelled_t == 4_000


def test_state_at_an_instant_uses_only_the_mail_known_then(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    take(sqlite_engine, roster_mail(SD, SD_UNITS, "2021-12-14T18:00", {A.code: "已完成"}))
    assert not status(sqlite_engine, A, at("2021-12-14T17:00")).status.complied
    assert status(sqlite_engine, A, at("2021-12-14T18:00")).status.complied


def test_a_logo_and_a_note_beside_the_table_are_passed_over(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    data = xlsx_bytes(daily_rows([("2021-11-30", A.name, A.code, 7_000, 3_000)]))
    raw = build_message(
        sender=NCSC,
        to=SD,
        subject=daily_subject("山东省", "2021-11-30"),
        date=at("2021-11-30T17:40"),
        attachments=[
            ("logo.png", png, "image/png"),
            ("说明.txt", "请查收".encode(), "text/plain"),
            ("记录.xlsx", data, None),
        ],
    )
    assert take(sqlite_engine, raw).outcome == "applied"
    assert status(sqlite_engine, A).status.cancelled_t == 3_000


def test_garbage_named_like_a_spreadsheet_quarantines(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    raw = build_message(
        sender=NCSC,
        to=SD,
        subject=daily_subject("山东省", "2021-11-30"),
        date=at("2021-11-30T17:40"),
        attachments=[("记录.xlsx", bytes(range(256)) * 4, None)],
    )
    assert take(sqlite_engine, raw).outcome == "quarantined"


def test_a_quarantined_message_is_tagged_with_the_province_it_names(sqlite_engine: Engine) -> None:
    from storage import inbox

    seeded(sqlite_engine)
    raw = xlsx_mail(
        "someone@mail.example",
        daily_subject("广东省", "2021-11-25"),
        "2021-11-25T17:40",
        daily_rows([("2021-11-25", G1.name, G1.code, 80_000, 5_000)]),
        to=GD,
    )
    take(sqlite_engine, raw)
    assert [m.province for m in inbox.quarantined(sqlite_engine)] == ["广东省"]


def test_an_enormous_html_body_is_refused_before_it_is_parsed(sqlite_engine: Engine) -> None:
    from mail.intake import IntakeConfig, take
    from mail.tables import Limits
    from tests.intake.world import CONFIG, LATER

    seeded(sqlite_engine)
    small = IntakeConfig(CONFIG.senders, CONFIG.tz, limits=Limits(max_bytes=50_000), earliest=CONFIG.earliest)
    rows = weekly_rows([(A, 150_000, "已确认")] * 400, "2021年11月12日")
    raw = build_message(
        sender=SD,
        to=NCSC,
        subject=weekly_subject("山东省", "2021年11月12日"),
        date=at("2021-11-12T16:30"),
        html_body=html_table(rows),
    )
    outcome = take(sqlite_engine, raw, "big.eml", small, LATER)
    assert outcome.outcome == "quarantined" and "邮件正文超过" in (outcome.reason or "")
