"""An outbox item's key, built and read in one place: audience|channel:recipient|kind|about…

The key is what makes an item once: a restart, a replayed tick or a second instance writing the same
notice writes the same key, which the outbox keeps once. `about` holds what tells two notices of one kind
to one recipient apart (cycle, day, message, …), the unit code or province it concerns last.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "|"
_QUOTED = "%7C"  # a separator inside a part (an address from outside may hold one)


@dataclass(frozen=True)
class OutboxKey:
    audience: str  # emitter | officer | sender
    channel: str  # telegram | email | a group robot's platform | a chat platform
    recipient: str  # chat id, address, group name…
    kind: str
    about: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = (self.audience, f"{self.channel}:{self.recipient}", self.kind)
        return SEPARATOR.join(part.replace(SEPARATOR, _QUOTED) for part in (*head, *self.about))

    @classmethod
    def parse(cls, key: str) -> OutboxKey:
        audience, address, kind, *about = (part.replace(_QUOTED, SEPARATOR) for part in key.split(SEPARATOR))
        channel, _, recipient = address.partition(":")
        return cls(audience, channel, recipient, kind, tuple(about))

    @property
    def target(self) -> str:
        """The unit code or province the notice is about (its last part)."""
        return self.about[-1] if self.about else ""

    def like_pattern(self) -> str:
        """A SQL LIKE pattern for keys that share this key's head; `%` in a part matches anything."""
        return f"{self}{SEPARATOR}%"
