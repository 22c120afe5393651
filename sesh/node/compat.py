"""Two small routes every Session storage server answers, for tools and clients that call
them:

- `POST /ping_test/v1`: 200 with an empty body and the node's Ed25519 key in
  `X-Oxen-Snode-Pubkey` (base64), whatever the body (a reachability test).
- `GET /get_stats/v1`: `{"version": "x.y.z"}` (deprecated in Session for the storage RPC's
  `info`, which we serve too).
"""

from __future__ import annotations

import asyncio
import base64
import re

from aiohttp import web

from sesh import __version__

PUBKEY_HEADER = "X-Oxen-Snode-Pubkey"


def version_parts() -> list[int]:
    """This bridge's version as [major, minor, patch] (what `info` and oxend report)."""
    parts = []
    for piece in __version__.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group()) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return parts


class SessionEndpoints:
    """`/ping_test/v1` and `/get_stats/v1`."""

    def __init__(self, ed25519_pubkey: bytes | None, version: list[int] | None = None):
        self.ed25519_pubkey = ed25519_pubkey
        # The version the node reports (as `info` and get_service_nodes report it).
        self.version = version or version_parts()

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/ping_test/v1", self.ping_test)
        app.router.add_get("/get_stats/v1", self.get_stats)

    async def run(self, stop: asyncio.Event) -> None:
        """Nothing in the background."""

    async def ping_test(self, request: web.Request) -> web.Response:
        headers = {}
        if self.ed25519_pubkey is not None:
            headers[PUBKEY_HEADER] = base64.b64encode(self.ed25519_pubkey).decode()
        return web.Response(status=200, body=b"", headers=headers)

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response({"version": ".".join(str(p) for p in self.version)})
