"""What a hostile client sent a running node (issue #17) and got 500 and a traceback
for, now answered 400 with the reason, nothing logged as an error and nothing stored
changed: keys with embedded spaces, counts past SQLite's integers."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import aiohttp

from sesh.protocol.accounts import AccountKeys
from tests.node.localnet import LocalNet
from tests.node.storage.test_storage import held, retrieve_params, store_params


def run(coro):
    return asyncio.run(coro)


def spaced(session_id: str) -> str:
    """The same length, with spaces between bytes (`bytes.fromhex` skips them and reads
    32 bytes where the account has 33)."""
    return session_id[:2] + " " + session_id[2:12] + " " + session_id[12:-2]


async def post_rpc(url: str, method: str, params: dict) -> tuple[int, str]:
    body = json.dumps({"method": method, "params": params})
    async with aiohttp.ClientSession() as session, session.post(url, data=body) as response:
        return response.status, await response.text()


def test_storage__a_pubkey_with_embedded_spaces_is_refused_with_400(tmp_path, caplog):
    async def scenario():
        async with LocalNet(tmp_path, 2) as net:
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            url = net.nodes[0].url + "/storage_rpc/v1"
            assert (await post_rpc(url, "store", store_params(user.session_id, b"k", now)))[
                0
            ] == 200
            before = [held(n.rpc) for n in net.nodes]
            bad = spaced(user.session_id)
            assert len(bad) == len(user.session_id) and len(bytes.fromhex(bad)) == 32
            calls = [
                ("store", store_params(bad, b"x", now)),
                ("retrieve", {**retrieve_params(user, now), "pubkey": bad}),
                ("get_swarm", {"pubkey": bad}),
                ("delete", {"pubkey": bad, "messages": ["A" * 43], "signature": "A" * 86}),
            ]
            for method, params in calls:
                status, text = await post_rpc(url, method, params)
                assert status == 400 and "66 hex digits" in text, (method, text)
            assert [held(n.rpc) for n in net.nodes] == before
            # The well-formed key still works.
            status, text = await post_rpc(url, "get_swarm", {"pubkey": user.session_id})
            assert status == 200 and json.loads(text)["snodes"]

    with caplog.at_level(logging.INFO):
        run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_storage__counts_past_32_bits_are_refused_and_in_range_ones_served(tmp_path, caplog):
    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            public = {"pubkey": user.session_id, "namespace": -10}
            stored = await rpc.handle(
                "store", store_params(user.session_id, b"p", now, namespace=-10)
            )
            assert stored.status == 200
            for name in ("max_count", "max_size"):
                for value in (2**63 - 1, 2**63, 2**64 + 5, -(2**63), 2**31):
                    answer = await rpc.handle("retrieve", {**public, name: value})
                    assert answer.status == 400 and "out of range" in answer.body, (name, value)
            for name, value in [("max_count", 2**31 - 1), ("max_size", 2**31 - 1)]:
                answer = await rpc.handle("retrieve", {**public, name: value})
                assert answer.status == 200 and len(answer.body["messages"]) == 1
            assert held(rpc) == {stored.body["hash"]}

    with caplog.at_level(logging.INFO):
        run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_storage__json_nested_past_the_limit_is_refused_even_with_a_raised_recursion_limit(
    tmp_path,
):
    """py_ecc and py-evm raise the interpreter's recursion limit to 100,000; a deeply
    nested body then overflowed the C stack (the process died) instead of raising."""

    async def scenario():
        async with LocalNet(tmp_path, 1) as net:
            rpc = net.nodes[0].rpc
            user = AccountKeys.generate()
            now = int(net.clock() * 1000)
            stored = await rpc.handle("store", store_params(user.session_id, b"n", now))
            for body in (b"[" * 200_000, b'{"method":"info","params":' + b"[" * 50_000 + b"]"):
                answer = await rpc.handle_body(body)
                assert answer.status == 400 and "nested deeper" in answer.body
            shallow = b'{"method":"info","params":{"a":' + b"[" * 20 + b"]" * 20 + b"}}"
            assert (await rpc.handle_body(shallow)).status == 200
            assert held(rpc) == {stored.body["hash"]}

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        run(scenario())
    finally:
        sys.setrecursionlimit(limit)
