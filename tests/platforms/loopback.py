"""An aiohttp server on a free loopback port, run in a thread of its own (sync and async tests alike)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from aiohttp import web

from tests.servers import free_port

HOST = "127.0.0.1"
T = TypeVar("T")


class LoopbackServer:
    NAME = "loopback"

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def closing(self) -> None:
        """Close what the server holds open (WebSockets) before it stops."""

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `work` on the server's loop, from the test's thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

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
