"""How the storage RPC writes its answers (sesh/node/storage_requests.Response,
sesh/node/storage.retrieve_json): the JSON a handler writes directly is, byte for byte,
what the JSON encoder writes for the same answer, over HTTP and inside onion replies."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from sesh.node.storage import retrieve_json
from sesh.node.storage_requests import Response, compact_json

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
    }


@given(value=JSON_VALUES)
def test_compact_json__writes_what_json_dumps_writes_with_compact_separators(value):
    assert compact_json(value) == json.dumps(value, separators=(",", ":"))


@given(found=MESSAGES, more=st.booleans(), now=st.integers(min_value=0, max_value=2**63 - 1))
def test_retrieve_json__is_the_encoders_text_for_the_same_messages(found, more, now):
    assert retrieve_json(found, more, now) == compact_json(retrieve_dict(found, more, now))


def test_retrieve_json__of_no_messages_is_an_empty_list():
    assert json.loads(retrieve_json([], False, 17)) == {"messages": [], "more": False, "t": 17}


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
    assert json.loads(sent.body) == {"messages": [], "more": True, "t": 5}
    assert json.loads(answer.onion_reply(False))["body"] == '{"messages":[],"more":true,"t":5}'


@pytest.mark.parametrize("both", [True, False])
def test_response__needs_exactly_one_of_a_body_and_its_json_text(both):
    with pytest.raises(ValueError, match="a body or its JSON text"):
        Response(200, {"t": 1}, json_text='{"t":1}') if both else Response(200)
