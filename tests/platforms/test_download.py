"""A file fetched from a platform is capped before it is read whole: by its Content-Length when the
server sends one, else as its chunks arrive."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from bot.platform_http import TooLarge, download
from tests.platforms.loopback import LoopbackServer

LIMIT = 64 * 1024


class Files(LoopbackServer):
    """Serves `size` bytes at /sized (with its Content-Length) and at /chunked (without one)."""

    NAME = "files"
    size = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/sized", self._sized)
        app.router.add_get("/chunked", self._chunked)

    async def _sized(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * self.size, content_type="image/png")

    async def _chunked(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent = 0
        try:
            while sent < self.size:
                await response.write(b"x" * min(8192, self.size - sent))
                sent += 8192
            await response.write_eof()
        except ConnectionError:  # the reader stopped at the cap and went away
            pass
        return response


@pytest.mark.parametrize("path", ["/sized", "/chunked"])
async def test_a_file_at_the_cap_is_read_and_one_over_it_is_refused(path: str) -> None:
    with Files() as server:
        async with aiohttp.ClientSession() as http:
            server.size = LIMIT
            got = await download(http, "test", f"{server.url}{path}", limit=LIMIT)
            assert (got.status, len(got.data)) == (200, LIMIT)
            server.size = LIMIT + 1
            with pytest.raises(TooLarge):
                await download(http, "test", f"{server.url}{path}", limit=LIMIT)
