"""A plain-HTTP forward proxy on loopback (no CONNECT): it takes absolute-form requests for http://
targets, forwards each over a new connection, and records what it forwarded."""

from __future__ import annotations

import asyncio
import threading
from typing import Self
from urllib.parse import urlsplit

from tests.platforms.loopback import HOST
from tests.servers import free_port


class ForwardProxy:
    def __init__(self) -> None:
        self.port = free_port()
        self.forwarded: list[str] = []  # "METHOD http://host:port/path"
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def paths(self) -> list[str]:
        with self._lock:
            return [urlsplit(line.split(" ", 1)[1]).path for line in self.forwarded]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, version = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
                lines = head.decode("latin-1").split("\r\n")[1:-2]
                headers = [line for line in lines if not line.lower().startswith(("proxy-", "connection"))]
                length = next(
                    (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length")), 0
                )
                body = await reader.readexactly(length) if length else b""
                parts = urlsplit(target)
                with self._lock:
                    self.forwarded.append(f"{method} {target}")
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                upstream_reader, upstream_writer = await asyncio.open_connection(
                    parts.hostname, parts.port or 80
                )
                request = f"{method} {path} {version}\r\n" + "".join(f"{h}\r\n" for h in headers)
                upstream_writer.write(request.encode("latin-1") + b"Connection: close\r\n\r\n" + body)
                await upstream_writer.drain()
                answer = await upstream_reader.read()
                upstream_writer.close()
                writer.write(answer)
                await writer.drain()
                break  # the answer was read to its end: this connection ends too
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def start(self) -> None:
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            server = await asyncio.start_server(self._client, HOST, self.port)
            ready.set()
            async with server:
                await self._stopping.wait()

        self._thread = threading.Thread(target=lambda: asyncio.run(serve()), name="proxy", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise TimeoutError("the proxy did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
