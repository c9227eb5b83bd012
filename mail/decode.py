"""Turning the bytes of messy Chinese mail into text.

One charset policy for headers, bodies and file names: labels of the GB family are read as GB18030
(a strict superset, so text labelled gb2312 that holds GBK characters still comes out right), a
declared charset that fails falls back to UTF-8 then GB18030, and nothing is ever silently dropped
(the last resort replaces undecodable bytes with U+FFFD, so the damage stays visible).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from email.message import Message
from urllib.parse import unquote_to_bytes

# Labels whose real-world content is wider than the label says, or which Python does not know.
_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "chinese": "gb18030",
    "iso-ir-58": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "utf8": "utf-8",
}
# Codecs (by their Python name) that decode any bytes at all: a mislabelled text must be tried first.
_CATCH_ALL = {"cp1252", "iso8859-1", "iso8859-15"}
_UNKNOWN = {"", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined"}
_FALLBACKS = ("utf-8", "gb18030")

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
# ASCII controls and spaces only: a full-width space (U+3000) is part of the text.
_BLANKS = re.compile(r"[\x00-\x20\x7f]+")
_ESCAPED = re.compile("[\udc80-\udcff]")  # a raw 8-bit byte, as the parser kept it (surrogateescape)


def charset_of(label: str | bytes | None) -> str | None:
    """The Python codec to use for a MIME charset label, or None when the label is useless."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    name = label.strip().strip('"').split("*", 1)[0].lower()
    if name in _UNKNOWN or not name.isascii():
        return None
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_text(data: bytes, declared: str | None) -> str:
    """Body text: the declared charset when it decodes cleanly, else UTF-8, else GB18030."""
    codec = charset_of(declared)
    candidates = list(_FALLBACKS)
    if codec is not None:
        if codec in _CATCH_ALL:
            candidates.append(codec)
        else:
            candidates.insert(0, codec)
    for name in candidates:
        try:
            text = data.decode("utf-8-sig" if name == "utf-8" else name)
        except (UnicodeDecodeError, LookupError):
            continue
        return text
    return data.decode(codec or "utf-8", "replace")


def decode_header_value(raw: str | bytes | None) -> str:
    """A header value as clean one-line text: RFC 2047 words, raw 8-bit bytes and folding undone."""
    if raw is None:
        return ""
    text = _FOLD.sub("", as_text(raw))
    return _BLANKS.sub(" ", _decode_words(text)).strip()


def filename_of(part: Message) -> str | None:
    """The attachment's file name, from Content-Disposition then Content-Type, however it was encoded."""
    for header, key in (("content-disposition", "filename"), ("content-type", "name")):
        raw = raw_header(part, header)
        if raw is None:
            continue
        name = _param(parse_params(raw), key)
        if name:
            return name
    return None


def raw_header(msg: Message, name: str) -> str | None:
    """The first header of that name exactly as stored (8-bit bytes kept as surrogate escapes)."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def raw_headers(msg: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]


def as_text(raw: str | bytes) -> str:
    """Undo the parser's surrogate escapes: raw 8-bit header bytes are UTF-8 or else GB18030."""
    if isinstance(raw, str):
        if _ESCAPED.search(raw) is None:
            return raw
        raw = raw.encode("utf-8", "surrogateescape")
    return decode_text(raw, None)


def _decode_words(text: str) -> str:
    """Decode every encoded-word; adjacent words in one charset are joined as bytes first,
    because some mailers split a multi-byte character across two words."""
    tokens: list[str | tuple[str, bytes]] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        payload = _word_bytes(match.group(2), match.group(3))
        if payload is None:
            continue  # not decodable: stays as literal text
        tokens.append(text[pos : match.start()])
        tokens.append((match.group(1).lower(), payload))
        pos = match.end()
    tokens.append(text[pos:])
    return "".join(_render(_merge(_drop_blanks_between_words(tokens))))


def _drop_blanks_between_words(tokens: list[str | tuple[str, bytes]]) -> list[str | tuple[str, bytes]]:
    # White space between two encoded-words is not part of the text (RFC 2047 §6.2).
    def is_word(index: int) -> bool:
        return 0 <= index < len(tokens) and isinstance(tokens[index], tuple)

    return [
        token
        for index, token in enumerate(tokens)
        if not (isinstance(token, str) and not token.strip() and is_word(index - 1) and is_word(index + 1))
    ]


def _merge(tokens: list[str | tuple[str, bytes]]) -> list[str | tuple[str, bytes]]:
    merged: list[str | tuple[str, bytes]] = []
    for token in tokens:
        last = merged[-1] if merged else None
        if isinstance(token, tuple) and isinstance(last, tuple) and last[0] == token[0]:
            merged[-1] = (last[0], last[1] + token[1])
        else:
            merged.append(token)
    return merged


def _render(tokens: list[str | tuple[str, bytes]]) -> list[str]:
    return [token if isinstance(token, str) else decode_text(token[1], token[0]) for token in tokens]


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    if encoding in "qQ":
        return _unquote_q(payload.replace("_", " ").encode("utf-8"))
    # Mailers drop or add padding; anything outside the alphabet means this is not really a word.
    body = payload.rstrip("=")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_QUOTED_PAIR = re.compile(r'(?<![\udc81-\udcfe])\\(["\\])')
_PATH_SEPARATOR = re.compile(r"[\\/]")


def _unquote_q(raw: bytes) -> bytes:
    return _Q_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def parse_params(raw: str) -> dict[str, str]:
    """The parameters of a structured header, lenient about quoting (names lower-cased).

    Values keep their raw form (surrogate escapes, %-escapes) for the caller to decode."""
    params: dict[str, str] = {}
    for segment in _split_params(_FOLD.sub("", raw))[1:]:
        name, sep, value = segment.partition("=")
        if sep:
            params.setdefault(name.strip().lower(), _unquote(value.strip()))
    return params


# A backslash right after a raw GBK lead byte (kept as a surrogate escape) is the character's
# second byte, not a quoting backslash: GBK uses 0x5C as a trail byte.
_LEAD_BYTE = re.compile("[\udc81-\udcfe]")


def _split_params(text: str) -> list[str]:
    segments: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted and not (current and _LEAD_BYTE.match(current[-1])):
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            segments.append("".join(current))
            current = []
            continue
        current.append(ch)
    segments.append("".join(current))
    return segments


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"':
        end = value.rfind('"')
        inner = value[1:end] if end > 0 else value[1:]
        # Only \" and \\ are unescaped: mailers write Windows paths with bare backslashes.
        return _QUOTED_PAIR.sub(r"\1", inner)
    return value.strip('"')


def _param(params: dict[str, str], key: str) -> str | None:
    value = _rfc2231(params, key)
    if value is None and key in params:
        value = decode_header_value(params[key])
    return _clean_name(value) if value is not None else None


_CONTINUATION = re.compile(r"^(?P<key>[^*]+)\*(?P<n>\d+)(?P<enc>\*?)$")


def _rfc2231(params: dict[str, str], key: str) -> str | None:
    """RFC 2231: `key*=charset'lang'%XX…` or continuations `key*0*=…; key*1*=…`, decoded as one string
    of bytes (a GBK character may be cut between two continuations)."""
    segments: list[tuple[int, str, bool]] = []
    if f"{key}*" in params:
        segments.append((0, params[f"{key}*"], True))
    for name, value in params.items():
        match = _CONTINUATION.match(name)
        if match and match.group("key") == key:
            segments.append((int(match.group("n")), value, bool(match.group("enc"))))
    if not segments:
        return None
    segments.sort(key=lambda s: s[0])
    charset: str | None = None
    chunks: list[bytes] = []
    for index, (_, value, encoded) in enumerate(segments):
        if encoded and index == 0 and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        raw = value.encode("utf-8", "surrogateescape")
        chunks.append(unquote_to_bytes(raw) if encoded else raw)
    return decode_text(b"".join(chunks), charset)


def _clean_name(value: str) -> str | None:
    # A path in a file name is never meant: keep its last component only.
    name = _PATH_SEPARATOR.split(value.strip())[-1].strip().strip('"').strip()
    return name or None
