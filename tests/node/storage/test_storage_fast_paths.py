"""The storage RPC's shortcuts on its busiest paths, each held to the slow way it replaces:
the JSON a handler writes directly (sesh/protocol/storage_rpc.Response,
sesh/node/storage.retrieve_json) is, byte for byte, what the JSON encoder writes for the
same answer, over HTTP and inside onion replies; request bodies read as json.loads reads
them; a network view's own swarm and peers are what its swarms say."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from sesh.node.network import static_view
from sesh.node.storage.rpc import retrieve_json
from sesh.protocol.nodes import NodeInfo
from sesh.protocol.storage_rpc import Response, RpcError, compact_json, parse_rpc_body

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def session_hash(data: bytes) -> str:
    """A message hash as Session writes them: unpadded base64 of a BLAKE2b-256 digest."""
    digest = hashlib.blake2b(data, digest_size=32).digest()
    return base64.b64encode(digest).decode().rstrip("=")


MESSAGES = st.lists(
    st.tuples(
        st.binary(max_size=300),
        st.integers(min_value=0, max_value=2**63 - 1),
        st.integers(min_value=0, max_value=2**63 - 1),
    ).map(lambda t: (session_hash(t[0]), t[1], t[2], t[0])),
    max_size=12,
)


def retrieve_dict(found: list, more: bool, now: int) -> dict:
    """A retrieve's answer as the JSON encoder would be given it."""
    return {
        "messages": [
            {
                "hash": hash_,
                "timestamp": timestamp,
                "expiration": expiry,
                "data": base64.b64encode(data).decode(),
            }
            for hash_, timestamp, expiry, data in found
        ],
        "more": more,
        "t": now,
        # Session's hard fork pair, in every retrieve answer.
        "hf": [21, 0],
    }


@given(value=JSON_VALUES)
def test_compact_json__writes_what_json_dumps_writes_with_compact_separators(value):
    assert compact_json(value) == json.dumps(value, separators=(",", ":"))


@given(found=MESSAGES, more=st.booleans(), now=st.integers(min_value=0, max_value=2**63 - 1))
def test_retrieve_json__is_the_encoders_text_for_the_same_messages(found, more, now):
    assert retrieve_json(found, more, now) == compact_json(retrieve_dict(found, more, now))


def test_retrieve_json__of_no_messages_is_an_empty_list():
    assert json.loads(retrieve_json([], False, 17)) == {
        "messages": [],
        "more": False,
        "t": 17,
        "hf": [21, 0],
    }


@given(found=MESSAGES, more=st.booleans(), status=st.sampled_from([200, 421, 500]))
def test_response__from_json_text_answers_as_from_the_dict(found, more, status):
    as_dict = retrieve_dict(found, more, 1_700_000_000_000)
    direct = Response(status, json_text=retrieve_json(found, more, 1_700_000_000_000))
    reference = web.json_response(as_dict, status=status, dumps=compact_json)
    answer = direct.http()
    assert (answer.status, answer.body) == (reference.status, reference.body)
    assert answer.headers["Content-Type"] == reference.headers["Content-Type"]
    for embed in (False, True):
        expected_body = as_dict if embed else compact_json(as_dict)
        expected = compact_json({"status": status, "body": expected_body}).encode()
        assert direct.onion_reply(embed) == expected
        assert Response(status, as_dict).onion_reply(embed) == expected
    # Whoever asks gets the dict.
    assert direct.body == as_dict


def test_response__a_dict_body_answers_as_json_response_did():
    body = {"swarm": {"ab": {"hash": "h", "expiry": 5}}, "t": 1, "text": "é\u2028"}
    answer = Response(200, body).http()
    reference = web.json_response(body, dumps=compact_json)
    assert answer.body == reference.body
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"


def test_response__a_text_body_stays_plain_text():
    answer = Response(401, "retrieve signature verification failed")
    assert answer.http().text == "retrieve signature verification failed"
    assert answer.http().headers["Content-Type"] == "text/plain; charset=utf-8"
    assert json.loads(answer.onion_reply(True)) == {
        "status": 401,
        "body": "retrieve signature verification failed",
    }


def test_response__a_body_changed_after_reading_it_is_what_is_sent():
    answer = Response(200, json_text=retrieve_json([], False, 5))
    answer.body["more"] = True
    answer.status = 404
    sent = answer.http()
    assert sent.status == 404
    assert json.loads(sent.body) == {"messages": [], "more": True, "t": 5, "hf": [21, 0]}
    assert (
        json.loads(answer.onion_reply(False))["body"]
        == '{"messages":[],"more":true,"t":5,"hf":[21,0]}'
    )


@pytest.mark.parametrize("both", [True, False])
def test_response__needs_exactly_one_of_a_body_and_its_json_text(both):
    with pytest.raises(ValueError, match="a body or its JSON text"):
        Response(200, {"t": 1}, json_text='{"t":1}') if both else Response(200)


def parse_as_json_loads_would(body: bytes) -> tuple[str, dict] | str:
    """parse_rpc_body's outcome with json.loads reading the bytes itself (its encoding
    detection included): (method, params), or the refusal's message."""
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "invalid json"
    if not isinstance(request, dict):
        return "invalid json"
    if not isinstance(request.get("method"), str):
        return "invalid json: no `method` field"
    if not isinstance(request.get("params"), dict):
        return "invalid json: no `params` field"
    return request["method"], request["params"]


def outcome(body: bytes) -> tuple[str, dict] | str:
    try:
        return parse_rpc_body(body)
    except RpcError as exc:
        assert exc.status == 400
        return exc.message


REQUEST_TEXTS = st.builds(
    lambda method, params: json.dumps({"method": method, "params": params}, ensure_ascii=False),
    st.text(max_size=8),
    st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=3),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"]


@given(text=REQUEST_TEXTS, encoding=st.sampled_from(ENCODINGS))
def test_parse_rpc_body__reads_every_encoding_json_loads_reads(text, encoding):
    body = text.encode(encoding, "surrogatepass")
    assert outcome(body) == parse_as_json_loads_would(body)


@given(body=st.binary(max_size=40) | st.binary(max_size=40).map(lambda b: b"{" + b))
def test_parse_rpc_body__refuses_what_json_loads_refuses_with_the_same_words(body):
    assert outcome(body) == parse_as_json_loads_would(body)


def test_parse_rpc_body__bad_utf8_after_a_brace_is_invalid_json():
    body = b'{"method": "\xff", "params": {}}'
    assert outcome(body) == "invalid json"
    # Also refused with an encoding marker in front, as json.loads refuses it.
    assert outcome(b"\xef\xbb\xbf" + body) == "invalid json"


def node(node_id: int, swarm_id: int | None) -> NodeInfo:
    key = hashlib.sha256(b"node %d" % node_id).digest()
    return NodeInfo(node_id, key, key, f"127.0.0.1:{9000 + node_id}", swarm_id)


@given(
    swarm_of=st.lists(st.sampled_from([None, 1, 2]), min_size=1, max_size=8), me=st.integers(0, 8)
)
def test_network_view__own_swarm_and_peers_are_what_its_swarms_say(swarm_of, me):
    nodes = [node(i, swarm) for i, swarm in enumerate(swarm_of)]
    own_key = nodes[me].ed25519 if me < len(nodes) else b"\x01" * 32
    view = static_view(nodes, own_key)
    own = next((n for n in nodes if n.ed25519 == own_key), None)
    expected_swarm = own.swarm_id if own else None
    assert view.own_swarm == expected_swarm
    assert view.peers() == [
        n
        for n in sorted(nodes, key=lambda n: n.node_id)
        if expected_swarm is not None and n.swarm_id == expected_swarm and n is not own
    ]
    # A copy each time: whoever changes it changes nothing in the view.
    view.peers().clear()
    assert len(view.peers()) == sum(
        1 for n in nodes if expected_swarm is not None and n.swarm_id == expected_swarm
    ) - (1 if own is not None and expected_swarm is not None else 0)
