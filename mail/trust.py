"""Who may tell the bot what: FORMATS "What is trusted, and what is refused"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mail.authn import SenderAuth
from mail.records import MessageKind


@dataclass(frozen=True)
class Senders:
    ncsc: frozenset[str] = frozenset()
    provinces: Mapping[str, frozenset[str]] = field(default_factory=dict)
    registry: frozenset[str] = frozenset()  # the national registry (中碳登): offset-operation lists
    auth: SenderAuth = field(default_factory=SenderAuth)  # how a From line is proven; unset: believed

    @classmethod
    def build(
        cls,
        ncsc: Iterable[str],
        provinces: Mapping[str, Iterable[str]],
        registry: Iterable[str] = (),
        auth: SenderAuth | None = None,
    ) -> Senders:
        return cls(
            frozenset(a.strip().lower() for a in ncsc),
            {p: frozenset(a.strip().lower() for a in addrs) for p, addrs in provinces.items()},
            frozenset(a.strip().lower() for a in registry),
            auth or SenderAuth(),
        )

    def is_configured(self, address: str) -> bool:
        address = address.lower()
        return address in self.ncsc or address in self.registry or bool(self.provinces_of(address))

    def provinces_of(self, address: str | None) -> list[str]:
        if not address:
            return []
        return sorted(p for p, addrs in self.provinces.items() if address.lower() in addrs)

    def province_of_recipients(self, addresses: Iterable[str]) -> str | None:
        for address in addresses:
            found = self.provinces_of(address)
            if len(found) == 1:
                return found[0]
        return None


@dataclass(frozen=True)
class Verdict:
    trusted: bool
    province: str | None  # the only province the message may change; None: every province (NCSC, registry)
    reason: str | None = None  # why it is not trusted


def judge(senders: Senders, sender: str | None, kind: MessageKind, named_province: str | None) -> Verdict:
    """Decide by the outermost sender: whoever forwards a message vouches for it."""
    address = (sender or "").lower()
    provinces = senders.provinces_of(address)
    if kind == "cancellation_list" and address in senders.ncsc:
        return Verdict(True, None)
    if kind == "offset_operations" and address in senders.registry:
        return Verdict(True, None)
    if not provinces:
        if address in senders.ncsc:
            why = "国家气候战略中心只发送注销记录"
        elif address in senders.registry:
            why = "全国碳排放权注册登记机构只发送抵销操作记录"
        else:
            why = "发件人不在可信名单中"
        return Verdict(False, None, f"{why}：{address or '（无发件人）'}")
    if named_province and named_province in provinces:
        return Verdict(True, named_province)
    if named_province and named_province not in provinces:
        return Verdict(False, None, f"{address} 不能代表{named_province}发送数据")
    if len(provinces) == 1:
        return Verdict(True, provinces[0])
    return Verdict(False, None, f"{address} 属于多个省份，邮件未写明省份")
