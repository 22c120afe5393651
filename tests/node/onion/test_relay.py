"""Server relays (sesh/node/onion/relay.py) over real HTTP: a v4 request crosses three
nodes to a server on loopback and its answer comes back with either cipher; unknown
targets and protocols, private addresses, oversize answers, slow and absent servers are
each answered with Session's status, and a node without the relay refuses as before."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from nacl.bindings import crypto_box_keypair

from sesh.client.onion_client import OnionClient, PathError
from sesh.client.servers import read_answer, server_request
from sesh.devnet.chain import free_port
from sesh.node.onion.relay import ServerRelaySettings, address_forbidden, host_valid
from sesh.protocol.lsrpc import V4Request, V4Response, decode_request, open_server_request
from sesh.protocol.onion import AES_GCM, XCHACHA20, Hop, Server, build_onion_to_server
from tests.node.localnet import LocalNet

LOOPBACK_OK = ServerRelaySettings(timeout=1.0, allow_private=True, max_response_bytes=1 << 20)


class EchoServer:
    """Answers v4 requests with the request body; `/loki/slow/lsrpc` waits, `/oxen/big/lsrpc`
    answers 2 MiB, `/oxen/broken/lsrpc` answers 500 in plain text."""

    def __init__(self):
        self.public, self.secret = crypto_box_keypair()
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        opened = open_server_request(await request.read(), self.secret, self.public)
        v4 = decode_request(opened.payload)
        if request.path == "/loki/slow/lsrpc":
            await asyncio.sleep(1.5)
        if request.path == "/oxen/broken/lsrpc":
            return web.Response(status=500, text="broken")
        body = b"x" * (2 << 20) if request.path == "/oxen/big/lsrpc" else (v4.body or b"")
        answer = V4Response(200, {"content-type": "application/octet-stream"}, body)
        return web.Response(body=opened.encrypt_reply(answer.encode()))

    async def __aenter__(self) -> EchoServer:
        app = web.Application(client_max_size=4 << 20)
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    def server(self, target: str = "/oxen/v4/lsrpc", **kw) -> Server:
        fields = {"host": "127.0.0.1", "port": self.port, "protocol": "http", **kw}
        return Server(fields["host"], fields["port"], self.public, fields["protocol"], target)


def client_for(net: LocalNet, enc_type: str = XCHACHA20) -> OnionClient:
    client = OnionClient(["http://unused"], enc_type=enc_type)
    client.nodes = [n.info for n in net.nodes]
    return client


def upload(body: bytes) -> V4Request:
    return V4Request("POST", "/file", {"content-type": "application/octet-stream"}, body)


def test_relay__a_v4_request_crosses_three_hops_to_the_server_and_back_with_either_cipher(
    tmp_path,
):
    async def scenario():
        async with EchoServer() as echo, LocalNet(tmp_path, 4, server_relay=LOOPBACK_OK) as net:
            for enc_type in (AES_GCM, XCHACHA20):
                async with client_for(net, enc_type) as client:
                    answer = await server_request(client, echo.server(), upload(b"hi " * 100))
                    assert answer.response.code == 200
                    assert answer.response.body == b"hi " * 100
                    assert len(answer.path) == 3
            relayed = sum(
                n.router.metrics.get("sesh_onion_requests_total", result="relayed_server")
                for n in net.nodes
            )
            assert relayed == 2

    asyncio.run(scenario())


def test_relay__unknown_targets_protocols_and_private_addresses_are_refused_encrypted(tmp_path):
    strict = ServerRelaySettings(timeout=2.0, allow_private=False)

    async def scenario():
        async with (
            EchoServer() as echo,
            LocalNet(tmp_path, 3, server_relay=strict) as net,
            client_for(net) as client,
        ):
            cases = [
                (echo.server("/file"), "Invalid url"),
                (echo.server("/oxen/v4/lsrpc?x=1"), "Invalid url"),
                (echo.server("/session/v4/lsrpc"), "Invalid url"),
                (echo.server(protocol="ftp"), "Invalid url"),
                (echo.server(host="user@evil.example"), "Invalid url"),
                (echo.server(port=0), "Invalid url"),
                (echo.server(), "127.0.0.1 is not a public address"),
                (echo.server(host="10.1.2.3"), "10.1.2.3 is not a public address"),
                (echo.server(host="::ffff:127.0.0.1"), "is not a public address"),
                (echo.server(host="localhost"), "localhost is not a public address"),
            ]
            for server, reason in cases:
                answer = await server_request(client, server, upload(b"x"))
                assert answer.response.code == 400, server
                assert reason in answer.response.body.decode(), server

    asyncio.run(scenario())


def test_relay__slow_absent_and_oversize_servers_get_504_and_502_and_errors_pass_through(
    tmp_path,
):
    async def scenario():
        async with (
            EchoServer() as echo,
            LocalNet(tmp_path, 3, server_relay=LOOPBACK_OK) as net,
            client_for(net) as client,
        ):
            with pytest.raises(PathError) as slow:
                await server_request(client, echo.server("/loki/slow/lsrpc"), upload(b"x"))
            assert (slow.value.status, slow.value.text) == (504, "Request time out")
            with pytest.raises(PathError) as big:
                await server_request(client, echo.server("/oxen/big/lsrpc"), upload(b"x"))
            assert (big.value.status, big.value.text) == (502, "Server answer too large")
            with pytest.raises(PathError) as broken:
                await server_request(client, echo.server("/oxen/broken/lsrpc"), upload(b"x"))
            assert (broken.value.status, broken.value.text) == (500, "broken")
            absent = Server("127.0.0.1", free_port(), echo.public, "http")
            with pytest.raises(PathError) as gone:
                await server_request(client, absent, upload(b"x"))
            assert gone.value.status == 502
            assert gone.value.text == "Server unreachable: 127.0.0.1"
            # Still relaying after all that.
            ok = await server_request(client, echo.server(), upload(b"after"))
            assert ok.response.body == b"after"

    asyncio.run(scenario())


def test_relay__a_node_without_the_relay_still_refuses_servers(tmp_path):
    async def scenario():
        async with EchoServer() as echo, LocalNet(tmp_path, 3) as net, client_for(net) as client:
            answer = await server_request(client, echo.server(), upload(b"x"))
            assert answer.response.code == 400
            assert b"relays only to service nodes" in answer.response.body

    asyncio.run(scenario())


def test_relay__an_answer_the_client_cannot_decrypt_is_reported():
    public, _ = crypto_box_keypair()
    built = build_onion_to_server([Hop(b"\x01" * 32, public)], Server("h", 1, public), b"x")
    with pytest.raises(Exception, match="unreadable answer"):
        read_answer(built, b"garbage")


def test_relay__addresses_and_hosts_are_classified():
    forbidden = ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.1.1", "::1", "fe80::1"]
    forbidden += ["0.0.0.0", "224.0.0.1", "100.64.0.1", "::ffff:10.0.0.1", "nonsense"]
    for address in forbidden:
        assert address_forbidden(address), address
    for address in ("1.1.1.1", "2606:4700:4700::1111", "8.8.8.8"):
        assert not address_forbidden(address), address
    for host in ("files.getsession.org", "127.0.0.1", "::1", "a-b.c"):
        assert host_valid(host), host
    for host in ("", "a/b", "a@b", "a b", "-a.b", "a..b", "x" * 64 + ".org", "a:80"):
        assert not host_valid(host), host


def test_relay__a_request_of_megabytes_arriving_in_pieces_is_read_whole_and_a_larger_one_refused(
    tmp_path,
):
    roomy = ServerRelaySettings(timeout=10.0, allow_private=True, max_response_bytes=4 << 20)

    async def scenario():
        async with (
            EchoServer() as echo,
            LocalNet(tmp_path, 3, server_relay=roomy, max_request_bytes=3 << 20) as net,
            client_for(net) as client,
        ):
            body = bytes(range(256)) * (8 << 10)  # 2 MiB: many reads on every hop
            answer = await server_request(client, echo.server(), upload(body))
            assert answer.response.code == 200 and answer.response.body == body
            with pytest.raises(PathError) as refused:
                await server_request(client, echo.server(), upload(b"x" * (3 << 20)))
            assert (refused.value.status, refused.value.text) == (413, "Request body too large")

    asyncio.run(scenario())
