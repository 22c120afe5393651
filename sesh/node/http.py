"""HTTP bodies read whole, within a limit.

A TCP stream arrives in pieces: aiohttp's `content.read(n)` returns what is buffered (at
most n bytes), not n bytes, so a body written in several segments or larger than a socket
buffer is cut short. Every body the node reads — a request it serves, the answer of the
next hop, a peer's page — goes through `read_body`: exactly `Content-Length` bytes when
the sender declared one, else everything up to the end of the stream, and never more than
`limit` bytes (the protocol's bound, so a hostile sender cannot make us buffer more).
"""

from __future__ import annotations

import asyncio

import aiohttp

# Largest request body any endpoint accepts (Session's storage server's bound).
MAX_REQUEST_BYTES = 10 << 20


class BodyTooLarge(Exception):
    """The body is (or says it is) longer than the limit; nothing more was read."""

    def __init__(self, limit: int):
        super().__init__(f"body over {limit} bytes")
        self.limit = limit


class BodyIncomplete(Exception):
    """The sender stopped (closed or reset the connection) before the body's end."""


class BodyTimeout(BodyIncomplete):
    """The sender did not send the whole body in time."""


async def read_body(stream: aiohttp.StreamReader, declared: int | None, limit: int) -> bytes:
    """The whole body of `stream`: `declared` bytes exactly if given, else up to its end;
    BodyTooLarge past `limit`, BodyIncomplete if the sender went away first."""
    try:
        if declared is not None:
            if declared > limit:
                raise BodyTooLarge(limit)
            # (aiohttp's stream of an empty body refuses even `readexactly(0)`)
            return await stream.readexactly(declared) if declared else b""
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = await stream.readany()
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            chunks.append(chunk)
    except asyncio.IncompleteReadError as exc:
        raise BodyIncomplete(f"body ended after {len(exc.partial)} of {declared} bytes") from None
    except (ConnectionError, aiohttp.ClientPayloadError) as exc:
        raise BodyIncomplete(f"connection lost: {type(exc).__name__}") from None
