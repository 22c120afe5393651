"""An HTTP proxy in front of an RPC provider that misbehaves on demand: drops the
connection, stalls, answers HTTP 500, answers garbage, or reports a head far behind."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
from aiohttp import web

MODES = ("pass", "drop", "stall", "error", "garbage", "garbage-logs", "lag", "range-limit")
# The most blocks one eth_getLogs may span in "range-limit" mode.
RANGE_LIMIT = 2


class FaultyProxy:
    def __init__(self, upstream: str, mode: str = "pass", after: int = 0):
        assert mode in MODES, mode
        self.upstream = upstream
        self.mode = mode
        # Misbehave only after this many requests have been passed through.
        self.after = after
        self.requests = 0
        self.misbehaved = 0
        self.refused_ranges = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        # Set on exit, so stalled requests end at once instead of holding the shutdown.
        self._released = asyncio.Event()
        self.url = ""

    async def __aenter__(self) -> FaultyProxy:
        app = web.Application()
        app.router.add_post("/", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session and self._runner
        self._released.set()
        await self._session.close()
        await self._runner.cleanup()

    async def forward(self, body: bytes) -> dict:
        assert self._session
        async with self._session.post(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            return json.loads(await response.read())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests += 1
        call = json.loads(body)
        if self.mode == "pass" or self.requests <= self.after:
            return web.json_response(await self.forward(body))
        self.misbehaved += 1
        if self.mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if self.mode == "stall":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), 30)
            return web.Response(status=503, text="stalled")
        if self.mode == "error":
            return web.Response(status=500, text="upstream exploded")
        if self.mode == "garbage":
            return web.Response(
                status=200, text="<html>definitely not json", content_type="text/html"
            )
        if self.mode == "range-limit" and call["method"] == "eth_getLogs":
            span = int(call["params"][0]["toBlock"], 16) - int(call["params"][0]["fromBlock"], 16)
            if span + 1 > RANGE_LIMIT:
                self.refused_ranges += 1
                return web.json_response(
                    {
                        "jsonrpc": "2.0",
                        "id": call["id"],
                        "error": {"code": -32005, "message": f"range over {RANGE_LIMIT} blocks"},
                    }
                )
        answer = await self.forward(body)
        if self.mode == "garbage-logs" and call["method"] == "eth_getLogs":
            answer["result"] = [{"address": 42, "topics": "nope"}]
        if self.mode == "lag" and call["method"] == "eth_blockNumber":
            answer["result"] = hex(max(0, int(answer["result"], 16) - 500))
        return web.json_response(answer)
