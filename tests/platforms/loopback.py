"""An aiohttp server on a free loopback port, run in a thread of its own (sync and async tests alike)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from aiohttp import web

from tests.servers import free_port

HOST = "127.0.0.1"
T = TypeVar("T")


class ThreadedServer:
    """The lifecycle: `routes` says what the server answers, `closing` what it closes before it stops."""

    NAME = "loopback"

    def __init__(self) -> None:
        self.port = free_port()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def closing(self) -> None:
        """Close what the server holds open (WebSockets) before it stops."""

    def start(self, timeout: float = 5.0) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=self.NAME, daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"the {self.NAME} server did not start")

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None or self._loop is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        thread.join(10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        asyncio.run(self._serve(ready))

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application()
        self.routes(app)
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, HOST, self.port).start()
        ready.set()
        await self._stopping.wait()
        await self.closing()
        await runner.cleanup()


class LoopbackServer(ThreadedServer):
    """A platform's server at one address, with a lock for what the tests read from their own thread."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `work` on the server's loop, from the test's thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)


@dataclass
class Sent:
    """What a platform's API took from the bot: a message, a reply, an upload."""

    kind: str  # each server names its own: batch | webhook | message | image | file | upload
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class PlatformServer(LoopbackServer):
    """A chat platform's API: the access tokens it issued (and revoked), what it took, the long
    connections (WebSockets) the bot holds open to it."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[str] = []  # issued, in order
        self.revoked: set[str] = set()
        self.sent: list[Sent] = []
        self._sockets: list[web.WebSocketResponse] = []

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s.body for s in self.sent if s.kind == kind]

    def revoke_tokens(self) -> None:
        with self.lock:
            self.revoked.update(self.tokens)

    async def closing(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    def _issue(self, token: str) -> str:
        with self.lock:
            self.tokens.append(token)
        return token

    def _valid(self, token: str | None) -> bool:
        with self.lock:
            return token in self.tokens and token not in self.revoked

    def _took(self, kind: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.sent.append(Sent(kind, body))

    async def _drop(self) -> None:
        """The connections break (no close frame)."""
        for ws in list(self._sockets):
            self._sockets.remove(ws)
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()
