"""Who a chat is: /start, /bind (a one-time code, or a code mailed to the unit), /unbind, /lang."""

from __future__ import annotations

from bot.chat import keyboards
from bot.chat.base import Keyboard, Query, officers_only, say
from bot.chat.reply import Reply
from bot.notices import bind_codes
from compliance.creditcode import is_valid_code, normalize_code
from storage import access
from storage.contacts import bind_address, confirm
from storage.engine import session_scope
from storage.units import find_unit
from templates import LANGS


def start(q: Query) -> Reply:
    who = q.identity
    if who is None:
        return say("chat_start", q, who=None, unit_name=None)
    return say("chat_start", q, menu(q), who=who, unit_name=_unit_name(q, who.unit_code))


def menu(q: Query) -> Keyboard:
    who = q.identity
    if who is None:
        return ()
    if who.role == "emitter":
        return keyboards.emitter_menu(q.lang)
    national = who.province == "*"
    return keyboards.officer_menu(q.lang, None if national else who.province, national)


def _unit_name(q: Query, code: str | None) -> str | None:
    if not code:
        return None
    with session_scope(q.engine) as session:
        unit = find_unit(session, code)
        return unit.name if unit else None


def bind(q: Query) -> Reply:
    given = "".join(q.args)
    if not given:
        return say("chat_bind", q, outcome="usage")
    if is_valid_code(given):
        if not q.email_binding:  # no [smtp]: a code that cannot be sent must not be promised
            return say("chat_bind", q, outcome="no_email")
        return _mail_code(q, normalize_code(given))
    return _redeem(q, given)


def _redeem(q: Query, given: str) -> Reply:
    with session_scope(q.engine) as session:
        try:
            who = access.redeem(session, q.peer, given, q.now)
        except access.Throttled:
            return say("chat_bind", q, outcome="throttled")
    if who is None:
        return say("chat_bind", q, outcome="wrong")
    bound = Query(q.engine, q.cycle, q.peer, who, (), q.now, who.lang)
    return say(
        "chat_bind", bound, menu(bound), outcome="bound", who=who, unit_name=_unit_name(bound, who.unit_code)
    )


def _mail_code(q: Query, code: str) -> Reply:
    """Mail a code to the unit's trusted address; the reply is the same whether the unit exists or not,
    whether it has an address or not, and whether a mail went or a cap held it back."""
    with session_scope(q.engine) as session:
        if access.failures_last_hour(session, q.peer, q.now) >= access.MAX_FAILURES_PER_HOUR:
            return say("chat_bind", q, outcome="throttled")
        # A request counts as a try, so that one chat cannot make the bot mail a unit again and again.
        session.add(access.attempt(q.peer, q.now, ok=False))
        unit = find_unit(session, code)
        address = bind_address(session, unit, q.now) if unit is not None else None
        if unit is not None and address and bind_codes.may_mail(session, address, code, q.now):
            plain = access.new_code(session, role="emitter", unit_code=code, now=q.now)
            expires = q.now + access.CODE_TTL
            bind_codes.mail_code(session, address, unit.name, code, plain, expires, q.lang, q.now)
    return say("chat_bind", q, outcome="maybe_mailed")


def mask_address(address: str) -> str:
    """t***@unit.example: enough for the owner to recognise, too little for anyone else."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


@officers_only
def confirm_contact(q: Query) -> Reply:
    """An officer vouches for a contact address a roster changed: binding codes may go there at once."""
    assert q.identity is not None
    given = normalize_code(q.args[0]) if q.args else ""
    if not is_valid_code(given):
        return say("chat_contact", q, outcome="usage")
    with session_scope(q.engine) as session:
        unit = find_unit(session, given)
        # another province's unit is answered like a unit with nothing to confirm
        if unit is None or q.identity.province not in ("*", unit.province):
            return say("chat_contact", q, outcome="nothing", code=given)
        change = confirm(session, unit.id or 0, q.peer, q.now)
        if change is None:
            return say("chat_contact", q, outcome="nothing", code=given)
        return say("chat_contact", q, outcome="confirmed", code=given, name=unit.name, new=change.new_address)


def unbind(q: Query) -> Reply:
    with session_scope(q.engine) as session:
        done = access.unbind(session, q.peer)
    return say("chat_unbind", q, outcome="done" if done else "not_bound")


def lang(q: Query) -> Reply:
    wanted = q.args[0].lower() if q.args else ""
    if wanted not in LANGS:
        return say("chat_lang", q, outcome="usage")
    with session_scope(q.engine) as session:
        access.set_language(session, q.peer, wanted)
    switched = Query(q.engine, q.cycle, q.peer, q.identity, (), q.now, wanted)
    return say("chat_lang", switched, menu(switched), outcome="set")
