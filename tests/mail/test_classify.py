from __future__ import annotations

import pytest

from mail.classify import kind_from_subject, province_from_text


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("山东省2019-2020年度重点排放单位名录", "roster"),
        ("山东省2019-2020年度重点排放单位名录及履约进度（截至2021-12-14）", "roster"),
        ("广东省履约进度", "roster"),
        ("山东省CCER抵销配额清缴申请汇总表（截至2021年10月29日）", "weekly_summary"),
        ("转发：广东省 CCER 抵销配额清缴申请汇总表", "weekly_summary"),
        ("本周汇总", "weekly_summary"),
        ("全国碳市场重点排放单位CCER注销记录（广东省，2021年11月15日）", "cancellation_list"),
        ("Fwd: CCER注销清单", "cancellation_list"),
        ("CCER注销记录汇总", "cancellation_list"),
        ("会议通知", None),
        ("", None),
    ],
)
def test_kind_from_subject(subject: str, kind: str | None) -> None:
    assert kind_from_subject(subject) == kind


@pytest.mark.parametrize(
    ("text", "province"),
    [
        ("山东省2019-2020年度重点排放单位名录", "山东省"),
        ("填报单位：广东省生态环境厅    截至日期：2021年11月19日", "广东省"),
        ("全国碳市场重点排放单位CCER注销记录（广东省，2021年11月15日）", "广东省"),
        ("广东", "广东省"),
        ("内蒙古", "内蒙古自治区"),
        ("广西壮族自治区名录", "广西壮族自治区"),
        ("新疆生产建设兵团名录", "新疆生产建设兵团"),
        ("新疆维吾尔自治区名录", "新疆维吾尔自治区"),
        ("新疆名录", "新疆维吾尔自治区"),
        ("山 东 省名录", "山东省"),
        ("河南省转山东省", "河南省"),
        ("全国碳市场第一个履约周期申请汇总表", None),
        ("", None),
    ],
)
def test_province_from_text(text: str, province: str | None) -> None:
    assert province_from_text(text) == province
