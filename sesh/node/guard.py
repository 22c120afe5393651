"""What stands between the open Internet and a node's handlers: timeouts on every
connection, a per-address rate limit on client requests, and a client going away logged
as what it is (docs/bridge.md, "Timeouts and rate limits").

- **Timeouts.** A connection is closed when it has sent part of a request's headers for
  `header_timeout` seconds without finishing them, or sat idle (no request in progress,
  nothing received) for `idle_timeout`; a request body must arrive whole within
  `body_timeout` of its headers (408 otherwise). The connection watch wraps aiohttp's
  protocol (`GuardedProtocol`); the middleware tells it when a request is in a handler.
- **Rate limit.** Each client address has a token bucket of `rate_burst` requests,
  refilled at `rate_per_second` (Session's storage server: 600 and 300/s); a request
  finding it empty is answered 429 with `Retry-After`. A request signed by a registered
  node (`X-Sesh-*` headers over its body, as `/peer/v1` requests and relayed onion
  requests are) is exempt: swarm copies and relays carry many clients' traffic.
- **Clients going away.** A connection lost mid-request is one INFO line; only our own
  bugs leave a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sesh.node.config import HttpConfig as HttpSettings
from sesh.node.http import (
    MAX_REQUEST_BYTES,
    BodyIncomplete,
    BodyTimeout,
    BodyTooLarge,
    read_body,
)
from sesh.node.storage.peers import (
    HEADER_NODE,
    HEADER_SIGNATURE,
    PeerAuthError,
    ReplayGuard,
    verify_request,
)
from sesh.node.tls import sniffing_factory
from sesh.protocol.hexes import from_hex

log = logging.getLogger("sesh.node.guard")


SETTINGS_KEY = web.AppKey("sesh_http_settings", HttpSettings)
BODY_KEY = web.RequestKey("sesh_body", bytes)


async def request_body(request: web.Request, limit: int = MAX_REQUEST_BYTES) -> bytes:
    """The request's whole body (read once: the guard may have read it to check a node's
    signature), within `limit` and the body timeout. BodyTooLarge, BodyIncomplete (the
    client went away, or was too slow)."""
    body = request.get(BODY_KEY)
    if body is None:
        settings = request.app.get(SETTINGS_KEY) or HttpSettings()
        try:
            async with asyncio.timeout(settings.body_timeout):
                body = await read_body(request.content, request.content_length, limit)
        except TimeoutError:
            raise BodyTimeout(f"body not received within {settings.body_timeout} s") from None
        request[BODY_KEY] = body
    if len(body) > limit:
        raise BodyTooLarge(limit)
    return body


class TokenBuckets:
    """One token bucket per key (client address), the least recently used forgotten past
    `capacity` keys (a forgotten key starts full again: never stricter than intended)."""

    def __init__(
        self,
        burst: int,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 100_000,
    ):
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self.capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 if a request may go ahead now (a token taken), else the seconds until one
        token is back."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return wait


class GuardedProtocol:
    """aiohttp's protocol for one connection, wrapped: closes the connection when its
    headers take too long or it sits idle (see the module's docstring)."""

    def __init__(self, inner: Any, settings: HttpSettings, watch: ConnectionWatch):
        self.inner = inner
        self.settings = settings
        self.watch = watch
        self.transport: asyncio.Transport | None = None
        self.active = 0  # requests of this connection in a handler
        self.last_event = time.monotonic()
        self.partial_since: float | None = None  # first byte of an unfinished request
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol, forwarded
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.watch.connections[transport] = self
        self.inner.connection_made(transport)
        self._schedule()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.last_event = now
        if not self.active and self.partial_since is None:
            self.partial_since = now
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.watch.connections.pop(self.transport, None)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # the watch
    def request_started(self) -> None:
        self.active += 1
        self.partial_since = None

    def request_finished(self) -> None:
        self.active -= 1
        self.last_event = time.monotonic()

    def _schedule(self) -> None:
        step = min(self.settings.header_timeout, self.settings.idle_timeout) / 4
        self._timer = asyncio.get_running_loop().call_later(max(step, 0.05), self._check)

    def _check(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        now = time.monotonic()
        if not self.active:
            if self.partial_since is not None:
                if now - self.partial_since > self.settings.header_timeout:
                    self.watch.closed("headers", transport)
                    return
            elif now - self.last_event > self.settings.idle_timeout:
                self.watch.closed("idle", transport)
                return
        self._schedule()


class ConnectionWatch:
    """The open connections of one server, and the counts of those it closed."""

    def __init__(self, settings: HttpSettings, on_close: Callable[[str], None] | None = None):
        self.settings = settings
        self.connections: dict[Any, GuardedProtocol] = {}
        self.on_close = on_close

    def factory(self, inner_factory: Callable[[], Any]) -> Callable[[], GuardedProtocol]:
        return lambda: GuardedProtocol(inner_factory(), self.settings, self)

    def closed(self, reason: str, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername")
        log.info("closed a connection from %s: %s timeout", peer, reason)
        if self.on_close is not None:
            self.on_close(reason)
        transport.close()


class Guard:
    """The middleware: rate limit, node exemption, request tracking, clients going away."""

    def __init__(
        self,
        settings: HttpSettings,
        watch: ConnectionWatch,
        own_key: bytes | None = None,
        registered: Callable[[], Awaitable[frozenset[bytes] | set[bytes]]] | None = None,
        count: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.watch = watch
        self.own_key = own_key
        self.registered = registered
        self.count = count or (lambda result: None)
        self.clock = clock
        self.buckets = TokenBuckets(settings.rate_burst, settings.rate_per_second)
        self.replays = ReplayGuard()

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        connection = self.watch.connections.get(request.transport)
        if connection is not None:
            connection.request_started()
        try:
            if self.settings.rate_limit and not await self._from_a_node(request):
                wait = self.buckets.take(request.remote or "")
                if wait:
                    self.count("rate_limited")
                    return web.Response(
                        status=429,
                        text="Too many requests, try again later",
                        headers={"Retry-After": str(max(1, math.ceil(wait)))},
                    )
            return await handler(request)
        except BodyTooLarge:
            return web.Response(status=413, text="Request body too large")
        except BodyTimeout as exc:
            log.info("%s %s from %s: %s", request.method, request.path, request.remote, exc)
            self.count("body_timeout")
            return web.Response(status=408, text="Request body not received in time")
        except (BodyIncomplete, ConnectionResetError) as exc:
            log.info(
                "%s %s from %s: client went away (%s)",
                request.method,
                request.path,
                request.remote,
                exc,
            )
            self.count("client_gone")
            return web.Response(status=408, text="Request body not received")
        finally:
            if connection is not None:
                connection.request_finished()

    async def _from_a_node(self, request: web.Request) -> bool:
        """Whether the request is signed by a registered node. The body is read to check
        the signature only when the claimed sender is registered: anyone else is limited
        before we read what they send."""
        if (
            HEADER_SIGNATURE not in request.headers
            or self.own_key is None
            or self.registered is None
        ):
            return False
        try:
            claimed = from_hex(request.headers.get(HEADER_NODE, ""))
        except ValueError:
            return False
        if claimed not in await self.registered():
            return False
        body = await request_body(request)
        now = int(self.clock() * 1000)
        try:
            sender = verify_request(request.headers, body, self.own_key, now, self.replays)
        except PeerAuthError:
            return False
        return sender == claimed


def install(app: web.Application, guard: Guard) -> None:
    app[SETTINGS_KEY] = guard.settings
    app.middlewares.append(guard.middleware)


async def serve(
    runner: web.AppRunner,
    host: str,
    port: int,
    watch: ConnectionWatch,
    tls: ssl.SSLContext | None = None,
) -> asyncio.Server:
    """Listen on host:port with every connection watched (instead of a web.TCPSite); with
    `tls`, HTTPS on the same port too (sesh.node.tls)."""
    assert runner.server is not None, "runner.setup() first"
    loop = asyncio.get_running_loop()
    factory: Callable[[], Any] = watch.factory(runner.server)
    if tls is not None:
        factory = sniffing_factory(factory, tls, watch.settings.header_timeout)
    return await loop.create_server(factory, host, port, reuse_address=True, backlog=1024)
