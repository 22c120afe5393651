"""The file server's HTTP side: one route, `POST /oxen/v4/lsrpc`, which opens a v4 onion
request addressed to this server's X25519 key (relayed by the last node of the client's
path), serves the request inside, and answers with the v4 answer encrypted for the client.
Files are never served in the clear.

The API inside (Session's file server API):

- `POST /file`, body = the (encrypted) file: 200 `{"id", "expires"}`; 413
  `{"status_code": 413}` if empty or over `max_file_size`
- `GET /file/<id>`: 200 the bytes (`application/octet-stream`); 404 `{"status_code": 404}`
- `GET /file/<id>/info`: 200 `{"size", "uploaded", "expires"}` (unix seconds); 404
- `POST /file/<id>/extend`: 200 `{"size", "uploaded", "expires"}`, expiry renewed; 404
- `GET /session_version?platform=desktop`: 200 `{"status_code": 200, "result",
  "updated"}`; 404 for another platform
- anything else: 404 `{"status_code": 404}`

HTTP-level errors (before the client's key is known) are plain text: 413 `Request body too
large`, 400 `Invalid onion request`. A request that decrypts but is not a v4 request is
answered encrypted, 400 `Invalid v4 onion request`, as Session's file server answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from nacl.bindings import crypto_box_keypair, crypto_scalarmult_base

from sesh.fileserver.store import FileStore
from sesh.node.http import BodyIncomplete, BodyTooLarge, read_body
from sesh.protocol.lsrpc import (
    V4_TARGET,
    LsrpcError,
    OnionError,
    V4Request,
    V4Response,
    decode_request,
    open_server_request,
)

log = logging.getLogger("sesh.fileserver")

# Session's clients send attachments up to 10 MB (the file server's own default was 6 MB).
MAX_FILE_SIZE = 10_000_000
# Session keeps files three weeks.
FILE_TTL = 21 * 86_400.0
# Room for onion layers, JSON and the v4 framing around the largest file.
REQUEST_OVERHEAD = 1 << 16
PLATFORMS = ("desktop", "android", "ios")
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class FileServerSettings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 22030
    max_file_size: int = MAX_FILE_SIZE
    ttl: float = FILE_TTL
    expiry_interval: float = 60.0
    session_version: str = "1.0.0"


def load_or_create_key(data_dir: Path) -> tuple[bytes, bytes]:
    """(public, secret) X25519 key of the server, kept in `x25519.key` (mode 0600); the
    public half is also written to `server.json` for clients."""
    from sesh.crypto.key_files import read_private_text

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "x25519.key"
    if not path.exists():
        _, secret = crypto_box_keypair()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secret.hex() + "\n")
    secret = bytes.fromhex(read_private_text(path, "file server key"))
    if len(secret) != 32:
        raise ValueError(f"{path} must hold a 32-byte X25519 secret key in hex")
    return crypto_scalarmult_base(secret), secret


def error(code: int) -> V4Response:
    return V4Response(code, dict(JSON), json.dumps({"status_code": code}).encode())


def ok(body: dict) -> V4Response:
    return V4Response(200, dict(JSON), json.dumps(body).encode())


class FileServer:
    def __init__(self, settings: FileServerSettings, clock=time.time):
        self.settings = settings
        self.public, self.secret = load_or_create_key(settings.data_dir)
        self.store = FileStore(settings.data_dir, settings.ttl, clock)
        self.clock = clock
        info = {"x25519_pubkey": self.public.hex(), "target": V4_TARGET}
        (settings.data_dir / "server.json").write_text(json.dumps(info, indent=1) + "\n")

    @property
    def max_request_bytes(self) -> int:
        return self.settings.max_file_size + REQUEST_OVERHEAD

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_request_bytes + 1)
        app.router.add_post(V4_TARGET, self.onion_request)
        return app

    async def onion_request(self, request: web.Request) -> web.Response:
        try:
            body = await read_body(request.content, request.content_length, self.max_request_bytes)
        except BodyTooLarge:
            return web.Response(status=413, text="Request body too large")
        except BodyIncomplete as exc:
            log.info("upload from %s not received whole: %s", request.remote, exc)
            return web.Response(status=400, text="Incomplete request body")
        try:
            opened = open_server_request(body, self.secret, self.public)
        except OnionError as exc:
            log.info("undecryptable onion request: %s", exc.message)
            return web.Response(status=400, text="Invalid onion request")
        try:
            answer = await self.dispatch(decode_request(opened.payload))
        except LsrpcError as exc:
            log.info("invalid v4 request: %s", exc)
            answer = V4Response(
                400, {"content-type": "text/plain; charset=utf-8"}, b"Invalid v4 onion request"
            )
        return web.Response(
            body=opened.encrypt_reply(answer.encode()), content_type="application/octet-stream"
        )

    async def dispatch(self, request: V4Request) -> V4Response:
        path, _, query = request.endpoint.partition("?")
        parts = path.strip("/").split("/")
        method = request.method
        if method == "POST" and parts == ["file"]:
            return await self.upload(request.body or b"")
        if len(parts) >= 2 and parts[0] == "file":
            id_ = parts[1]
            if method == "GET" and len(parts) == 2:
                data = await asyncio.to_thread(self.store.get, id_)
                if data is None:
                    return error(404)
                return V4Response(200, {"content-type": "application/octet-stream"}, data)
            if method == "GET" and parts[2:] == ["info"]:
                found = self.store.info(id_)
                return error(404) if found is None else ok(found.json())
            if method == "POST" and parts[2:] == ["extend"]:
                found = self.store.extend(id_)
                return error(404) if found is None else ok(found.json())
        if method == "GET" and parts == ["session_version"]:
            platform = dict(p.partition("=")[::2] for p in query.split("&") if p).get("platform")
            if platform not in PLATFORMS:
                return error(404)
            return ok({"status_code": 200, "result": self.settings.session_version, "updated": 0})
        return error(404)

    async def upload(self, body: bytes) -> V4Response:
        if not 0 < len(body) <= self.settings.max_file_size:
            log.info("refusing an upload of %d bytes", len(body))
            return error(413)
        stored = await asyncio.to_thread(self.store.put, body)
        return ok({"id": stored.id, "expires": stored.expires})

    async def run(self, stop: asyncio.Event) -> None:
        """Serve and expire old files until `stop`."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.settings.host, self.settings.port).start()
        log.info(
            "file server on %s:%d, X25519 key %s",
            self.settings.host,
            self.settings.port,
            self.public.hex(),
        )
        try:
            while not stop.is_set():
                dropped = self.store.expire()
                if dropped:
                    log.info("expired %d file(s)", dropped)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.expiry_interval)
        finally:
            await runner.cleanup()
            self.store.close()
