"""HTTPS next to plain HTTP on a node's one port (sesh/node/tls.py): the storage RPC and
onion requests over TLS as Session's clients send them (certificate not verified), the
certificate made once and kept, and connections that are neither HTTP nor TLS closed
without harming the others. Also Session's /ping_test/v1 and /get_stats/v1, and the
10 MiB request bodies Session's storage server takes."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import stat

import aiohttp
from aiohttp import web

from sesh.client.onion_client import OnionClient
from sesh.node import guard, tls
from sesh.node.compat import PUBKEY_HEADER, SessionEndpoints, version_parts
from sesh.node.config import HttpConfig
from sesh.node.http import MAX_REQUEST_BYTES
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.onion import open_reply
from tests.node.localnet import LocalNet


def run(coro):
    return asyncio.run(coro)


def no_verify() -> ssl.SSLContext:
    """What Session's clients do with a node's certificate: accept it unchecked."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class TlsNet(LocalNet):
    """A LocalNet whose nodes listen through the guard with TLS on the same port, plus
    /ping_test/v1 and /get_stats/v1."""

    async def serve(self, node) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES + 1)
        node.watch = guard.ConnectionWatch(self.http or HttpConfig(rate_limit=False))
        guard.install(app, guard.Guard(node.watch.settings, node.watch))
        node.service.setup_routes(app)
        node.router.setup_routes(app)
        SessionEndpoints(node.identity.ed25519_pubkey).setup_routes(app)
        node.runner = web.AppRunner(app, access_log=None)
        await node.runner.setup()
        data_dir = self.tmp_path / f"node-{node.info.node_id}"
        context = tls.server_context(*tls.ensure_certificate(data_dir))
        node.server = await guard.serve(
            node.runner, node.info.host, node.info.port, node.watch, context
        )
        node.stop = asyncio.Event()
        node.tasks = [
            asyncio.create_task(node.service.run(node.stop)),
            asyncio.create_task(node.router.run(node.stop)),
        ]
        await asyncio.sleep(0)


def test_https__storage_rpc_and_plain_http__on_the_same_port(tmp_path):
    async def go():
        async with TlsNet(tmp_path, 1) as net:
            node = net.nodes[0]
            account = AccountKeys.generate()
            body = json.dumps(
                {"method": "get_swarm", "params": {"pubkey": account.session_id}}
            ).encode()
            async with aiohttp.ClientSession() as http:
                answers = []
                for scheme, ssl_arg in (("https", no_verify()), ("http", None)):
                    url = f"{scheme}://127.0.0.1:{node.info.port}/storage_rpc/v1"
                    async with http.post(url, data=body, ssl=ssl_arg) as r:
                        assert r.status == 200, await r.text()
                        answers.append(await r.json())
                assert answers[0]["snodes"] == answers[1]["snodes"]
                assert answers[0]["snodes"][0]["port_https"] == node.info.port
                # A client that does verify refuses the self-signed certificate: TLS is
                # really spoken on that port, not plain HTTP under another name.
                url = f"https://127.0.0.1:{node.info.port}/get_stats/v1"
                try:
                    async with http.get(url) as r:
                        raise AssertionError(f"verified a self-signed certificate: {r.status}")
                except aiohttp.ClientConnectorCertificateError:
                    pass

    run(go())


def test_https__onion_requests_and_stores_over_tls(tmp_path):
    async def go():
        async with TlsNet(tmp_path, 4) as net:
            account = AccountKeys.generate()
            async with OnionClient(["http://unused"]) as client:
                client.nodes = [n.info for n in net.nodes]
                stored = await client.store(account.session_id, b"over tls?", ttl_ms=60_000)
                assert stored.status == 200
            # The same onion request body, sent to the guard over HTTPS.
            async with OnionClient(["http://unused"]) as client:
                client.nodes = [n.info for n in net.nodes]
                path = [n.info for n in net.nodes[:3]]
                target = net.nodes[3].info
                payload = json.dumps({"method": "info", "params": {}}).encode()
                built = client.build(path, target, payload)
                url = f"https://127.0.0.1:{path[0].port}/onion_req/v2"
                async with (
                    aiohttp.ClientSession() as http,
                    http.post(url, data=built.body, ssl=no_verify()) as r,
                ):
                    assert r.status == 200
                    raw = await r.read()
                reply = json.loads(open_reply(built, base64.b64decode(raw)))
                assert reply["status"] == 200
                # The target's `info`, whole: its answer came back through the TLS guard.
                info = json.loads(reply["body"])
                assert isinstance(info["t"], int) and len(info["version"]) == 3

    run(go())


def test_certificate__made_once_kept_across_restarts_and_served(tmp_path):
    cert, key = tls.ensure_certificate(tmp_path)
    first = cert.read_bytes()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert tls.ensure_certificate(tmp_path) == (cert, key)
    assert cert.read_bytes() == first, "a restart keeps the certificate"

    async def served() -> bytes:
        async with TlsNet(tmp_path / "net", 1) as net:
            node = net.nodes[0]
            loop = asyncio.get_running_loop()
            pem = await loop.run_in_executor(
                None, ssl.get_server_certificate, ("127.0.0.1", node.info.port)
            )
            return pem.encode()

    one = run(served())
    two = run(served())
    on_disk = (tmp_path / "net" / "node-1" / tls.CERT_FILE).read_bytes()
    assert one.strip() == two.strip() == on_disk.strip()
    # A missing key means a new pair (never a certificate without its key).
    key.unlink()
    tls.ensure_certificate(tmp_path)
    assert cert.read_bytes() != first


def test_tls__garbage_handshakes_and_silent_connections__are_closed_others_served(tmp_path):
    async def go():
        http_settings = HttpConfig(header_timeout=0.5, idle_timeout=5.0, rate_limit=False)
        async with TlsNet(tmp_path, 1, http=http_settings) as net:
            port = net.nodes[0].info.port
            # A handshake record that is not a ClientHello: the TLS layer gives up.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 64)
            await writer.drain()
            alert = await asyncio.wait_for(reader.read(), 5)
            assert reader.at_eof(), "the connection is closed"
            assert b"HTTP/" not in alert, "not answered as HTTP"
            writer.close()
            # A connection that never speaks is closed after the header timeout.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
            async with aiohttp.ClientSession() as http:
                url = f"https://127.0.0.1:{port}/get_stats/v1"
                async with http.get(url, ssl=no_verify()) as r:
                    assert r.status == 200

    run(go())


def test_ping_test_and_get_stats__as_sessions_storage_server_answers(tmp_path):
    async def go():
        async with TlsNet(tmp_path, 1) as net:
            node = net.nodes[0]
            base = f"https://127.0.0.1:{node.info.port}"
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{base}/ping_test/v1", data=b"", ssl=no_verify()) as r:
                    assert r.status == 200 and await r.read() == b""
                    key = base64.b64decode(r.headers[PUBKEY_HEADER])
                    assert key == node.identity.ed25519_pubkey
                async with http.get(f"{base}/get_stats/v1", ssl=no_verify()) as r:
                    stats = await r.json()
                    assert stats == {"version": ".".join(map(str, version_parts()))}
                async with http.get(f"{base}/ping_test/v1", ssl=no_verify()) as r:
                    assert r.status == 405, "a ping test is a POST"

    run(go())


def test_request_bodies__up_to_10_mib__are_read_beyond_refused(tmp_path):
    async def go():
        async with TlsNet(tmp_path, 1) as net:
            url = f"https://127.0.0.1:{net.nodes[0].info.port}/storage_rpc/v1"
            padding = "x" * (MAX_REQUEST_BYTES - 200)
            fits = json.dumps({"method": "info", "params": {"padding": padding}}).encode()
            assert len(fits) <= MAX_REQUEST_BYTES
            async with (
                aiohttp.ClientSession() as http,
                http.post(url, data=fits, ssl=no_verify()) as r,
            ):
                assert r.status == 200, await r.text()
                assert "version" in await r.json()
            # One byte more is refused on its declared length, before any is read (a
            # client sending it all would wait out the server's lingering close).
            port = net.nodes[0].info.port
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=no_verify())
            writer.write(
                b"POST /storage_rpc/v1 HTTP/1.1\r\nHost: node\r\n"
                + f"Content-Length: {MAX_REQUEST_BYTES + 1}\r\n\r\n".encode()
                + fits[:1000]
            )
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), 5)
            assert status_line.startswith(b"HTTP/1.1 413"), status_line
            writer.close()
            await writer.wait_closed()

    run(go())
