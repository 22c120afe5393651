"""Requests to HTTP servers (the file server) through 3-hop onion paths, in Session's v4
format: the last node of the path relays the request, still encrypted, to the server, and
the server's encrypted answer comes back the same way.

    answer = await server_request(client, server, V4Request("GET", "/file/abc"))

A path that fails at a node (a hop not found, unreachable, timing out) is replaced, as for
storage requests; the server's own answers, errors included, are returned as they are.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

import aiohttp

from sesh.client.onion_client import ClientError, OnionClient, PathError, pick_path
from sesh.protocol.lsrpc import LsrpcError, V4Request, V4Response, decode_response
from sesh.protocol.onion import (
    BuiltOnion,
    Hop,
    OnionError,
    Server,
    build_onion_to_server,
    open_reply,
    unseal,
)


@dataclass(frozen=True)
class ServerAnswer:
    response: V4Response
    path: list  # the nodes the request went through


def parse_server(url: str, x25519_hex: str) -> Server:
    """A server from its URL (`http://host:port`) and X25519 key (64 hex digits)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"a server URL is http(s)://host[:port], not {url!r}")
    try:
        key = bytes.fromhex(x25519_hex)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ClientError("a server's X25519 key is 64 hex digits")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Server(parts.hostname, port, key, parts.scheme)


def read_answer(built: BuiltOnion, raw: bytes) -> V4Response:
    """The server's v4 answer (raw ciphertext), or the last node's refusal: the base64 of
    `{"status", "body"}` encrypted with that node's layer key, as Session's storage server
    sends it."""
    try:
        return decode_response(open_reply(built, raw))
    except (OnionError, LsrpcError):
        pass
    try:
        if built.relay_key is None:
            raise ValueError("no relay key")
        ciphertext = base64.b64decode(raw, validate=True)
        reply = json.loads(unseal(built.enc_type, built.relay_key, ciphertext))
        body = reply.get("body", "")
        text = body if isinstance(body, str) else json.dumps(body)
        return V4Response(int(reply["status"]), {"content-type": "text/plain"}, text.encode())
    except (OnionError, binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise ClientError("unreadable answer from the server") from None


async def server_request(
    client: OnionClient, server: Server, request: V4Request, attempts: int = 4
) -> ServerAnswer:
    if not client.nodes:
        await client.refresh()
    avoid: set[bytes] = set()
    last_error: Exception | None = None
    payload = request.encode()
    for _ in range(attempts):
        path = pick_path(client.nodes, avoid, client.rng)
        hops = [Hop(n.ed25519, n.x25519) for n in path]
        built = build_onion_to_server(hops, server, payload, client.enc_type)
        guard = path[0]
        try:
            async with client.session.post(f"{guard.url}/onion_req/v2", data=built.body) as r:
                status, raw = r.status, await r.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            last_error = PathError(0, f"guard unreachable: {exc!r}", guard)
            avoid.add(guard.ed25519)
            continue
        if status != 200:
            error = PathError(status, raw.decode("utf-8", "replace"), guard)
            failed = error.failed_node()
            if failed is None and status != 503:
                # Not a node of the path (the server, or the request itself): another path
                # would get the same answer.
                raise error
            last_error = error
            avoid.add(failed if failed is not None else guard.ed25519)
            continue
        client.last_path = list(path)
        return ServerAnswer(read_answer(built, raw), list(path))
    raise ClientError(f"{request.method} {request.endpoint} failed: {last_error}")
