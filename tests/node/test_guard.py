"""Timeouts and the rate limit (sesh/node/guard.py) on real nodes over loopback (issue
#17: idle and stalled connections stayed open for good, and one address could send any
number of requests)."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from sesh.client.onion_client import OnionClient, PathError
from sesh.node.config import ConfigError, HttpConfig, parse_config
from sesh.node.guard import TokenBuckets
from sesh.node.storage.peers import sign_request
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.onion import XCHACHA20
from tests.node.localnet import LocalNet, identity_for
from tests.node.storage.test_storage import held, store_params

QUICK = HttpConfig(header_timeout=0.4, body_timeout=0.4, idle_timeout=0.6)


def run(coro):
    return asyncio.run(coro)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(1024):
                pass
        return True
    except TimeoutError:
        return False


async def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers or {}) as response,
    ):
        return response.status, dict(response.headers), await response.read()


def info_body() -> bytes:
    return b'{"method":"info","params":{}}'


def test_guard__idle_and_slow_header_connections_are_closed_and_served_ones_stay(tmp_path):
    async def scenario():
        async with LocalNet(tmp_path, 1, http=QUICK) as net:
            node = net.nodes[0]
            host, port = node.info.host, node.info.port
            idle = await asyncio.open_connection(host, port)
            slow = await asyncio.open_connection(host, port)
            slow[1].write(b"POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\n")
            await slow[1].drain()
            # Within the timeouts, both still open; a normal request is served meanwhile.
            assert not await closed_within(idle[0], 0.2)
            status, _, _ = await post(node.url + "/storage_rpc/v1", info_body())
            assert status == 200
            assert await closed_within(slow[0], 1.5)
            assert await closed_within(idle[0], 1.5)
            for _, writer in (idle, slow):
                writer.close()
            assert node.metrics.get("sesh_http_refused_total", result="headers") == 1
            assert node.metrics.get("sesh_http_refused_total", result="idle") >= 1

    run(scenario())


def test_guard__a_stalled_body_gets_408_logged_as_info_and_stores_nothing(tmp_path, caplog):
    async def scenario():
        async with LocalNet(tmp_path, 2, http=QUICK) as net:
            node = net.nodes[0]
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            body = json.dumps(
                {"method": "store", "params": store_params(user.session_id, b"s", now)}
            )
            reader, writer = await asyncio.open_connection(node.info.host, node.info.port)
            head = (
                f"POST /storage_rpc/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            writer.write(head.encode() + body.encode()[:20])
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(4096), 3)
            assert answer.startswith(b"HTTP/1.1 408") and answer.endswith(b"in time"), answer
            writer.close()
            assert all(held(n.rpc) == set() for n in net.nodes)
            # The same request sent whole is stored.
            status, _, _ = await post(node.url + "/storage_rpc/v1", body.encode())
            assert status == 200 and all(len(held(n.rpc)) == 1 for n in net.nodes)

    with caplog.at_level(logging.INFO):
        run(scenario())
    assert [r for r in caplog.records if "not received whole" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_guard__one_address_past_its_burst_gets_429_with_retry_after(tmp_path):
    async def scenario():
        limits = HttpConfig(rate_burst=5, rate_per_second=1.0)
        async with LocalNet(tmp_path, 1, http=limits) as net:
            url = net.nodes[0].url + "/storage_rpc/v1"
            statuses = []
            for _ in range(8):
                status, headers, text = await post(url, info_body())
                statuses.append(status)
                if status == 429:
                    assert headers["Retry-After"] == "1"
                    assert text == b"Too many requests, try again later"
            assert statuses == [200] * 5 + [429] * 3
            await asyncio.sleep(1.1)
            assert (await post(url, info_body()))[0] == 200
            metrics = net.nodes[0].metrics
            assert metrics.get("sesh_http_refused_total", result="rate_limited") == 3

    run(scenario())


def test_guard__requests_signed_by_a_registered_node_are_exempt_and_others_are_not(tmp_path):
    async def scenario():
        limits = HttpConfig(rate_burst=3, rate_per_second=0.01)
        async with LocalNet(tmp_path, 4, http=limits) as net:
            receiver, member = net.nodes[0], net.nodes[1]
            url = receiver.url + "/peer/v1"
            to = receiver.identity.ed25519_pubkey
            sync = b'{"method":"sync","params":{"since":0,"epoch":null}}'
            stranger = identity_for("stranger")
            for _ in range(3):  # use up the address's burst
                assert (await post(receiver.url + "/storage_rpc/v1", info_body()))[0] == 200
            sent = []
            for i in range(10):
                sent.append(sign_request(member.identity, to, int(net.clock() * 1000) + i, sync))
                assert (await post(url, sync, sent[-1]))[0] == 200
            by_stranger = sign_request(stranger, to, int(net.clock() * 1000), sync)
            assert (await post(url, sync, by_stranger))[0] == 429
            assert (await post(url, sync, sent[0]))[0] == 429  # a signature is exempt once
            # A member's key with a signature that is not its own is a client like others.
            forged = sign_request(stranger, to, int(net.clock() * 1000), sync)
            forged["X-Sesh-Node"] = member.identity.ed25519_pubkey.hex()
            assert (await post(url, sync, forged))[0] == 429

            # Onion requests a node relays are signed by it: nodes 2 and 3 have no tokens
            # left for this address, yet serve what node 1 relays; node 1 limits its own
            # clients (this address) only.
            for node in net.nodes[2:]:
                for _ in range(3):
                    assert (await post(node.url + "/storage_rpc/v1", info_body()))[0] == 200
                assert (await post(node.url + "/storage_rpc/v1", info_body()))[0] == 429
            user = AccountKeys.generate()
            async with OnionClient(["http://unused"], enc_type=XCHACHA20) as client:
                client.nodes = [n.info for n in net.nodes]
                path = [n.info for n in net.nodes[1:3]]
                answers = []
                for _ in range(5):
                    try:
                        answer = await client.send(
                            path, net.nodes[3].info, "get_swarm", {"pubkey": user.session_id}
                        )
                        answers.append(answer.status)
                    except PathError as exc:
                        answers.append(str(exc))
            refused = "onion path failed with 429: Too many requests, try again later"
            assert answers == [200, 200, 200, refused, refused]

    run(scenario())


def test_guard__token_buckets_refill_at_their_rate_up_to_the_burst():
    now = [0.0]
    buckets = TokenBuckets(burst=3, per_second=2.0, clock=lambda: now[0], capacity=2)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    now[0] = 100.0
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # never above the burst
    assert buckets.take("a") > 0
    assert buckets.take("b") == buckets.take("c") == 0.0  # "a" forgotten past capacity
    assert buckets.take("a") == 0.0


def config_with(http: dict):
    data = {
        "chain": {"chain_id": 1, "providers": ["http://127.0.0.1:8545"]},
        "contracts": {"staking": "0x" + "11" * 20},
        "node": {"listen": "127.0.0.1:22021"},
        "http": http,
    }
    return parse_config(data, base=__import__("pathlib").Path("."))


def test_guard__node_toml_sets_the_limits_and_refuses_nonsense():
    assert config_with({}).http == HttpConfig()
    config = config_with({"rate_burst": 50, "rate_per_second": 5, "idle_timeout": 5})
    assert (config.http.rate_burst, config.http.rate_per_second) == (50, 5.0)
    assert config_with({"rate_limit": False}).http.rate_limit is False
    for bad, reason in [
        ({"rate_burst": 0}, "http.rate_burst"),
        ({"rate_per_second": -1}, "http.rate_per_second"),
        ({"header_timeout": "soon"}, "http.header_timeout"),
        ({"rate_limit": "yes"}, "http.rate_limit"),
        ({"burst": 5}, "http.burst"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            config_with(bad)
