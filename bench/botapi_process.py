"""The loopback Bot API server in a process of its own, so that its work does not count in the
benchmark's: `bot_api(per_second)` gives its addresses and token, and `sent(conn)` what it took."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection


def _serve(conn: Connection, per_second: float) -> None:
    from tests.servers.botapi import BotApiServer

    with BotApiServer() as server:
        server.rate_limit(per_second)
        conn.send((server.base_url, server.base_file_url, server.token))
        while (command := conn.recv()) != "stop":
            assert command == "sent"
            messages = [c for c in server.sent if c.method == "sendMessage"]
            conn.send(([(c.chat_id, c.received_at) for c in messages], server.rate_limited_count))


@contextmanager
def bot_api(per_second: float) -> Iterator[tuple[tuple[str, str, str], Connection]]:
    """(base URL, base file URL, token) of a server limited to `per_second` messages, and its pipe."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(child, per_second), daemon=True
    )
    process.start()
    try:
        yield parent.recv(), parent
        parent.send("stop")
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()


def sent(conn: Connection) -> tuple[list[tuple[int, float]], int]:
    """(chat, when received) of each message the server took, and its 429 answers."""
    conn.send("sent")
    messages, rate_limited = conn.recv()
    return messages, int(rate_limited)
