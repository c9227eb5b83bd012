"""The hosts whose connections never leave this machine: the only ones a mail server may be reached on
without TLS (`security = "none"`, for a local Dovecot or a test server), for IMAP and SMTP alike."""

from __future__ import annotations

LOOPBACK = ("127.0.0.1", "localhost", "::1")
