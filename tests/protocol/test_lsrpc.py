"""Requests to servers through onion paths (sesh/protocol/lsrpc.py, bencode.py): the v4
encoding with the examples Session's file server documents, libsession's parser vectors
opened as a server opens them, a request built for a server peeled hop by hop, and broken
input refused with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.bindings import crypto_box_keypair

from sesh.protocol import bencode
from sesh.protocol.lsrpc import (
    LsrpcError,
    V4Request,
    V4Response,
    decode_request,
    decode_response,
    open_server_request,
    server_url,
    target_allowed,
)
from sesh.protocol.onion import (
    AES_GCM,
    XCHACHA20,
    Hop,
    OnionError,
    OnionRequest,
    Relay,
    Server,
    ToServer,
    build_onion_to_server,
    open_reply,
    parse_request,
    peel,
    seal,
    unseal,
)
from tests.node.localnet import identity_for
from tests.protocol.session_builders import client_key
from tests.protocol.test_onion import (
    PARSER_CLIENT_PUB,
    PARSER_CLIENT_SEC,
    PARSER_GCM,
    PARSER_NODE_PUB,
    PARSER_NODE_SEC,
    PARSER_XCHACHA,
)

# session-file-server, fileserver/onion_req.py (handle_v4_onion_request's docstring).
FS_GET = b'l79:{"method":"GET","endpoint":"/room/some-room","headers":{"Some-Header":"12345"}}e'
FS_POST = (
    b'l72:{"method":"POST","endpoint":"/some/thing","headers":{"Some-Header":"a"}}'
    b"14:post body heree"
)
FS_ANSWER = b'l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}e'


def test_lsrpc__session_file_server_examples_decode_and_ours_encode_the_same_bytes():
    get = decode_request(FS_GET)
    assert get == V4Request("GET", "/room/some-room", {"Some-Header": "12345"}, None)
    assert get.encode() == FS_GET
    post = decode_request(FS_POST)
    assert post == V4Request("POST", "/some/thing", {"Some-Header": "a"}, b"post body here")
    assert post.encode() == FS_POST
    answer = decode_response(FS_ANSWER)
    assert answer == V4Response(200, {"content-type": "application/json"}, b'{"id": 123}')
    assert answer.encode() == FS_ANSWER
    assert answer.json() == {"id": 123}


def v4(*parts: bytes) -> bytes:
    return b"l" + b"".join(b"%d:%s" % (len(p), p) for p in parts) + b"e"


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "bencoded list"),
        (b"d1:ae", "bencoded list"),
        (b"le", "1 or 2 parts"),
        (b"l2:{}2:{}2:{}e", "1 or 2 parts"),
        (b"l9:{}e", "runs past the end"),
        (v4(b"[]"), "not a JSON object"),
        (v4(b"{x}"), "not JSON"),
        (v4(b'{"method":"GET"}'), "method and endpoint"),
        (v4(b'{"method":"GET","endpoint":"x"}'), "start with /"),
        (v4(b'{"method":"GET","endpoint":"/x"}', b"b"), "must not carry a body"),
        (v4(b'{"method":"GET","endpoint":"/x","headers":[1]}'), "headers"),
    ],
)
def test_lsrpc__a_malformed_v4_request_is_refused_with_its_reason(blob, reason):
    with pytest.raises(LsrpcError, match=reason):
        decode_request(blob)


def test_lsrpc__a_v4_response_without_an_integer_code_is_refused():
    for blob in (v4(b'{"code":1}')[:-1], v4(b'{"code":"1"}'), v4(b'{"code":true}')):
        with pytest.raises(LsrpcError):
            decode_response(blob)


@pytest.mark.parametrize(
    ("envelope", "enc_type", "reply_overhead"),
    [(PARSER_GCM, AES_GCM, 12 + 16), (PARSER_XCHACHA, XCHACHA20, 24 + 16)],
)
def test_lsrpc__libsession_parser_vectors_open_as_a_server_and_the_reply_reaches_the_client(
    envelope, enc_type, reply_overhead
):
    opened = open_server_request(envelope, PARSER_NODE_SEC, PARSER_NODE_PUB)
    assert opened.payload == b"Hello world"
    assert opened.ephemeral_key == PARSER_CLIENT_PUB
    reply = opened.encrypt_reply(b"Goodbye world")
    assert len(reply) == reply_overhead + 13
    client = client_key(enc_type, PARSER_CLIENT_SEC, PARSER_CLIENT_PUB, PARSER_NODE_PUB)
    assert unseal(enc_type, client, reply) == b"Goodbye world"


def test_lsrpc__a_server_request_under_another_key_is_refused():
    other_pub, other_sec = crypto_box_keypair()
    with pytest.raises(OnionError, match="Invalid ciphertext"):
        open_server_request(PARSER_XCHACHA, other_sec, other_pub)


@pytest.mark.parametrize("enc_type", [AES_GCM, XCHACHA20])
def test_lsrpc__a_request_built_for_a_server_peels_to_the_envelope_the_server_opens(enc_type):
    nodes = [identity_for(i) for i in range(3)]
    server_pub, server_sec = crypto_box_keypair()
    server = Server("files.example", 8080, server_pub, "http")
    request = V4Request("POST", "/file", {"content-type": "application/octet-stream"}, b"x" * 99)
    hops = [Hop(n.ed25519_pubkey, n.x25519_pubkey) for n in nodes]
    built = build_onion_to_server(hops, server, request.encode(), enc_type)
    body = built.body
    for i, node in enumerate(nodes):
        step = peel(parse_request(body), node.x25519_secret, node.x25519_pubkey).step
        if i < 2:
            assert isinstance(step, Relay) and step.destination == nodes[i + 1].ed25519_pubkey
            body = step.envelope(i + 1)
    assert isinstance(step, ToServer)
    assert (step.host, step.port, step.protocol, step.target) == (
        "files.example",
        8080,
        "http",
        "/oxen/v4/lsrpc",
    )
    opened = open_server_request(step.payload, server_sec, server_pub)
    assert decode_request(opened.payload) == request
    answer = V4Response(200, {"content-type": "application/json"}, b'{"id":"1"}')
    assert decode_response(open_reply(built, opened.encrypt_reply(answer.encode()))) == answer


def test_lsrpc__only_session_targets_and_default_ports_shape_the_url():
    assert target_allowed("/oxen/v4/lsrpc") and target_allowed("/loki/v3/lsrpc")
    for bad in ("/file", "/oxen/v4/lsrpc?x=1", "/other/v4/lsrpc", "/oxen/v4/lsrpc/", ""):
        assert not target_allowed(bad)
    assert server_url("https", "a.b", 443, "/oxen/v4/lsrpc") == "https://a.b/oxen/v4/lsrpc"
    assert server_url("http", "a.b", 80, "oxen/v4/lsrpc") == "http://a.b/oxen/v4/lsrpc"
    assert server_url("http", "::1", 81, "/oxen/v4/lsrpc") == "http://[::1]:81/oxen/v4/lsrpc"


def test_bencode__values_round_trip_and_dict_keys_are_sorted():
    value = {"b": [1, -2, b"x"], "a": {"nested": b""}}
    assert bencode.encode(value) == b"d1:ad6:nested0:e1:bli1ei-2e1:xee"
    assert bencode.decode(bencode.encode(value)) == {
        b"a": {b"nested": b""},
        b"b": [1, -2, b"x"],
    }


@pytest.mark.parametrize(
    "blob", [b"", b"i01e", b"i-0e", b"ie", b"03:abc", b"4:abc", b"l", b"d1:b0:1:a0:e", b"i1ei2e"]
)
def test_bencode__non_canonical_or_truncated_input_is_refused(blob):
    with pytest.raises(bencode.BencodeError):
        bencode.decode(blob)


@given(st.binary(max_size=64))
def test_bencode__arbitrary_bytes_decode_or_are_refused(blob):
    try:
        value = bencode.decode(blob)
    except bencode.BencodeError:
        return
    assert bencode.encode(value) == blob


@given(st.binary(max_size=200))
def test_lsrpc__arbitrary_bytes_are_a_v4_request_or_refused(blob):
    try:
        request = decode_request(blob)
    except LsrpcError:
        return
    assert request.endpoint.startswith("/")


# session-storage-server, unit_test/onion_requests.cpp: the same inner layers ("ciphertext"
# behind a 10-byte length prefix, then the routing JSON as the test writes it).
SSS_PREFIX = b"\x0a\x00\x00\x00ciphertext"


def inner_step(plaintext: bytes):
    node = identity_for("sss")
    public, secret = crypto_box_keypair()
    key = client_key(XCHACHA20, secret, public, node.x25519_pubkey)
    request = OnionRequest(seal(XCHACHA20, key, plaintext), public, XCHACHA20, 0)
    return peel(request, node.x25519_secret, node.x25519_pubkey).step


def test_lsrpc__session_storage_server_relay_cases_parse_to_the_same_relay():
    legacy = SSS_PREFIX + b'{\n        "host": "host",\n        "target": "target"\n    }'
    step = inner_step(legacy)
    assert isinstance(step, ToServer)
    assert (step.host, step.port, step.protocol, step.target, step.payload) == (
        "host",
        443,
        "https",
        "target",
        legacy,
    )
    explicit = SSS_PREFIX + b'{"host": "host", "target": "target", "port": 80, "protocol": "http"}'
    step = inner_step(explicit)
    assert (step.port, step.protocol, step.payload) == (80, "http", explicit)
    for allowed in ("/loki/v3/lsrpc", "/loki/oxen/v4/lsrpc", "/oxen/v3/lsrpc"):
        assert target_allowed(allowed)
    for refused in ("/not_loki/v3/lsrpc", "/loki/v3", "/loki/v3/lsrpc?foo=bar"):
        assert not target_allowed(refused)
