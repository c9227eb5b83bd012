"""Who really sent a message: the From mailbox read strictly, and the receiving server's word on it.

A From header is written by the sender and proves nothing. The server that took the message in checks
DKIM, SPF and DMARC and writes what it found into an Authentication-Results header (RFC 8601) under its
own name, the authserv-id; that server removes headers claiming its name from outside. So a message
counts as coming from a configured sender only when such a header, from the configured server, says
`dmarc=pass`, or `dkim=pass` for a signing domain aligned with the From domain. Domains whose mail
systems cannot pass (no DKIM, no DMARC) are exempted by name in the configuration, and only so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import getaddresses

import authres

# One mailbox: a local part and a domain of at least two labels. Run with fullmatch on one address only.
_MAILBOX = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# A real Authentication-Results header is a few hundred bytes; the parser copies the rest of the text
# at every token, so a longer one is not read at all.
MAX_RESULTS_LENGTH = 4096
MAX_FROM_LENGTH = 2000  # an address is at most 254 characters (RFC 5321), a display name some dozens
AUTH_REFUSAL = "发件人未通过身份验证"


@dataclass(frozen=True)
class Mailbox:
    address: str | None  # bare, lower case
    problem: str | None  # why there is no address, in Chinese


def strict_mailbox(values: Sequence[str]) -> Mailbox:
    """The one mailbox of the From header; a display name is never taken for the address."""
    if not values:
        return Mailbox(None, "没有 From 头")
    if len(values) > 1:
        return Mailbox(None, f"有 {len(values)} 个 From 头")
    text = " ".join(values[0].split())
    if len(text) > MAX_FROM_LENGTH:  # one mailbox is far shorter; parsing more only costs time
        return Mailbox(None, f"From 超过 {MAX_FROM_LENGTH} 个字符")
    pairs = [(name, addr.strip()) for name, addr in getaddresses([text]) if name or addr.strip()]
    if not pairs:
        return Mailbox(None, "From 中没有地址")
    valid = [addr for _, addr in pairs if _MAILBOX.fullmatch(addr)]
    if len(pairs) > 1 or text.count("<") > 1:
        if len(valid) == len(pairs):
            return Mailbox(None, f"From 中有 {len(pairs)} 个地址，只能有一个")
        return Mailbox(None, f"From 无法解析：{_short(text)}")
    address = pairs[0][1]
    if "<" in text and _bracketed(text).lower() != address.lower():
        return Mailbox(None, f"From 无法解析：{_short(text)}")
    if not valid:
        why = "没有域名" if "@" not in address else "无效"
        return Mailbox(None, f"From 的地址 {_short(address) or '（空）'} {why}")
    return Mailbox(address.lower(), None)


def _bracketed(text: str) -> str:
    start = text.find("<")
    end = text.find(">", start)
    return text[start + 1 : end if end >= 0 else len(text)].strip()


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class SenderAuth:
    authserv_id: str | None = None  # None: From is taken as it stands (the service warns at start-up)
    unauthenticated_domains: frozenset[str] = frozenset()

    @classmethod
    def build(cls, authserv_id: str | None, unauthenticated: Iterable[str] = ()) -> SenderAuth:
        return cls(
            authserv_id.strip().lower() if authserv_id else None,
            frozenset(d.strip().lower().lstrip("@") for d in unauthenticated),
        )

    @property
    def enabled(self) -> bool:
        return self.authserv_id is not None

    def refusal(self, address: str, results: Sequence[str]) -> str | None:
        """Why a message from this address is not authenticated; None when it is (or need not be)."""
        if self.authserv_id is None:
            return None
        domain = domain_of(address)
        if domain in self.unauthenticated_domains:
            return None
        mine = [r for r in (_parse(value) for value in results) if r is not None and r[0] == self.authserv_id]
        if not mine:
            return f"{AUTH_REFUSAL}：没有 {self.authserv_id} 写下的 Authentication-Results"
        for _, found in mine:
            for result in found:
                if _passes(result, domain):
                    return None
        return f"{AUTH_REFUSAL}：{self.authserv_id} 未确认 {domain} 的 DMARC 或对齐的 DKIM 签名"


def _parse(value: str) -> tuple[str, list[authres.core.AuthenticationResult]] | None:
    text = " ".join(value.split())
    if len(text) > MAX_RESULTS_LENGTH:
        return None
    try:
        header = authres.AuthenticationResultsHeader.parse_value(text)
    except Exception:  # a header that does not parse is a header that says nothing
        return None
    return str(header.authserv_id).lower(), list(header.results)


def _property(result: authres.core.AuthenticationResult, ptype: str, name: str) -> str | None:
    for prop in result.properties:
        if str(prop.type).lower() == ptype and str(prop.name).lower() == name:
            return str(prop.value).lower()
    return None


def _passes(result: authres.core.AuthenticationResult, domain: str) -> bool:
    method, outcome = str(result.method).lower(), str(result.result).lower()
    if outcome != "pass":
        return False
    if method == "dmarc":
        said = _property(result, "header", "from")
        return said is None or aligned(said, domain)
    if method == "dkim":
        signer = _property(result, "header", "d")
        return signer is not None and aligned(signer, domain)
    return False


def aligned(signer: str, domain: str) -> bool:
    """Relaxed alignment: the same domain, or one inside the other (mail.example signs for example)."""
    signer, domain = signer.strip(".").lower(), domain.strip(".").lower()
    if "." not in signer or "." not in domain:
        return False
    return signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain)
