"""Onion layers (sesh/protocol/onion.py): Session's published test vectors, round trips of both
ciphers, requests laid out exactly as Session's clients lay them out, tampering with every
field, and fuzzing of the parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.bindings import crypto_box_keypair, crypto_scalarmult_base

from sesh.protocol.onion import (
    AES_GCM,
    XCHACHA20,
    Deliver,
    Hop,
    OnionError,
    OnionRequest,
    Relay,
    ToServer,
    Unreadable,
    build_onion,
    encrypt_reply,
    layer_key,
    open_layer,
    open_reply,
    pack,
    parse_request,
    peel,
    seal,
    shared_secret,
    unpack,
    unseal,
)
from tests.node.localnet import identity_for
from tests.protocol.session_builders import client_key, desktop_build, libsession_build

H = bytes.fromhex

# oxen-io/libsession-util tests/test_onionreq.cpp, "Onion request encryption": a client key
# (A, a), a node key (B, b), "Hello world" encrypted by the client for the node, and copies
# with one byte changed.
ENC_CLIENT_PUB = H("bbdfc83022d0aff084a6f0c529a93d1c4d728bf7e41199afed0e01ae70d20540")
ENC_CLIENT_SEC = H("ccc335912da8939e2b44816728a5a4773063efa82bf7ae2d42a0abfa2caa452d")
ENC_NODE_PUB = H("caea52c5b0c316d85ffb53ea536826618b13dee40685f166f632653114526a78")
ENC_NODE_SEC = H("8fcd8ad3a15c76f76f1c56dff0c529999f8c59b4acda79e05666e54d5727dca1")
ENC_GCM = H("1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61")
ENC_GCM_BROKEN = [
    H("1eb6ae1cd72f60999486365759bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b61"),
    H("1eb6ae1cd72f60999486365749bd5dc15cc0b6a2a44d7d063daa5e93722f0c025fd00306403b69"),
]
ENC_XCHACHA = H(
    "9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b28"
    "7d1638d765db75de02b032"
)
ENC_XCHACHA_BROKEN = [
    H(
        "9e1a3abe60eff3ea5c23556cc7e225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b28"
        "7d1638d765db75de02b033"
    ),
    H(
        "9e1a3abe60eff3ea5c23556ccfe225b6f94355315f7281f66ecf4dbb06e7899a52b863e03cde3b28"
        "7d1638d765db75de02b032"
    ),
]

# Same file, "Onion request parser": complete request bodies (u32 length ‖ ciphertext ‖
# JSON) as a node receives them, for node key (B, b), from client key (A, a).
PARSER_CLIENT_PUB = H("8167e97672005c669a48858c69895f395ca235219ac3f7a4210022b1f910e652")
PARSER_CLIENT_SEC = H("d2ee09e1a557a077d385fcb69a11ffb6909ecdcc8348def3e0e4172c8a1431c1")
PARSER_NODE_PUB = H("8388de69bc0d4b6196133233ad9a46ba0473474bc67718aad96a3a33c257f726")
PARSER_NODE_SEC = H("2f4d1c0d28e137777ec0a316e9f4f763e3e66662a6c51994c6315c9ef34b6deb")
PARSER_GCM = H(
    "270000009525d587d188c92a966eef0e7162bef99a6171a124575b998072a8ee7eb265e0b6f0930ed96504"
    "7b22656e635f74797065223a20226165732d67636d222c2022657068656d6572616c5f6b6579223a202238"
    "31363765393736373230303563363639613438383538633639383935663339356361323335323139616333"
    "6637613432313030323262316639313065363532227d"
)
PARSER_XCHACHA = H(
    "33000000e440bc244ddcafd947b86fc5a964aa58de54a6d75cc0f0f3840db14b6c1176a8e2e0a04d5fbdf9"
    "8f23adee1edc8362ab99b10b7b22656e635f74797065223a2022786368616368613230222c202265706865"
    "6d6572616c5f6b6579223a2022383136376539373637323030356336363961343838353863363938393566"
    "33393563613233353231396163336637613432313030323262316639313065363532227d"
)

CIPHERS = [AES_GCM, XCHACHA20]


def node_key(enc_type: str, client_pub: bytes, node_sec: bytes, node_pub: bytes) -> bytes:
    return layer_key(enc_type, shared_secret(node_sec, client_pub), client_pub, node_pub)


def test_onion__libsession_test_keys_are_x25519_pairs():
    assert crypto_scalarmult_base(ENC_CLIENT_SEC) == ENC_CLIENT_PUB
    assert crypto_scalarmult_base(ENC_NODE_SEC) == ENC_NODE_PUB
    assert crypto_scalarmult_base(PARSER_CLIENT_SEC) == PARSER_CLIENT_PUB
    assert crypto_scalarmult_base(PARSER_NODE_SEC) == PARSER_NODE_PUB


@pytest.mark.parametrize(
    "enc_type, good, broken",
    [(AES_GCM, ENC_GCM, ENC_GCM_BROKEN), (XCHACHA20, ENC_XCHACHA, ENC_XCHACHA_BROKEN)],
)
def test_onion__libsession_layer_vectors_decrypt_and_their_altered_copies_are_refused(
    enc_type, good, broken
):
    key = node_key(enc_type, ENC_CLIENT_PUB, ENC_NODE_SEC, ENC_NODE_PUB)
    assert unseal(enc_type, key, good) == b"Hello world"
    for altered in broken:
        with pytest.raises(OnionError) as refused:
            unseal(enc_type, key, altered)
        assert refused.value.status == 400
    # libsession also checks that the xchacha20 copies do not pass as aes-gcm.
    gcm_key = node_key(AES_GCM, ENC_CLIENT_PUB, ENC_NODE_SEC, ENC_NODE_PUB)
    for altered in ENC_XCHACHA_BROKEN:
        with pytest.raises(OnionError):
            unseal(AES_GCM, gcm_key, altered)


@pytest.mark.parametrize(
    "enc_type, body, reply_size",
    [(AES_GCM, PARSER_GCM, 12 + 13 + 16), (XCHACHA20, PARSER_XCHACHA, 24 + 13 + 16)],
)
def test_onion__libsession_request_vectors_parse_decrypt_and_get_a_reply_the_client_reads(
    enc_type, body, reply_size
):
    request = parse_request(body)
    assert request.enc_type == enc_type
    assert request.ephemeral_key == PARSER_CLIENT_PUB
    assert request.hop_no == 0
    plaintext, key = open_layer(request, PARSER_NODE_SEC, PARSER_NODE_PUB)
    assert plaintext == b"Hello world"
    # "Hello world" is not a layer: peeling it says so (and keeps the reply key).
    peeled = peel(request, PARSER_NODE_SEC, PARSER_NODE_PUB)
    assert isinstance(peeled.step, Unreadable) and peeled.reply_key == key
    reply = encrypt_reply(peeled, b"Goodbye world")
    assert len(reply) == reply_size
    client = client_key(enc_type, PARSER_CLIENT_SEC, PARSER_CLIENT_PUB, PARSER_NODE_PUB)
    assert unseal(enc_type, client, reply) == b"Goodbye world"


NODES = [identity_for(f"onion-{i}") for i in range(4)]
HOPS = [Hop(n.ed25519_pubkey, n.x25519_pubkey) for n in NODES]


def peel_all(body: bytes) -> tuple[list, object]:
    """Peel a 3-hop onion node by node; (the steps, the target's peeled layer)."""
    steps = []
    for position, node in enumerate(NODES):
        request = parse_request(body)
        assert request.hop_no == position
        peeled = peel(request, node.x25519_secret, node.x25519_pubkey)
        steps.append(peeled.step)
        if isinstance(peeled.step, Relay):
            body = peeled.step.envelope(request.hop_no + 1)
        else:
            return steps, peeled
    raise AssertionError("no target reached")


@pytest.mark.parametrize("enc_type", CIPHERS)
def test_onion__three_hops_peel_to_the_payload_and_the_reply_reaches_the_client(enc_type):
    payload = json.dumps({"method": "info", "params": {}}).encode()
    built = build_onion(HOPS[:3], HOPS[3], payload, enc_type)
    steps, target = peel_all(built.body)
    assert [type(s) for s in steps] == [Relay, Relay, Relay, Deliver]
    assert [s.destination for s in steps[:3]] == [h.ed25519 for h in HOPS[1:]]
    assert steps[3] == Deliver(payload, json_body=False, base64_reply=True)
    reply = encrypt_reply(target, b'{"status":200,"body":"ok"}')
    assert open_reply(built, reply) == b'{"status":200,"body":"ok"}'


def test_onion__every_layer_has_a_fresh_ephemeral_key_and_no_two_builds_are_alike():
    seen = []

    def recording_keypair():
        pair = crypto_box_keypair()
        seen.append(pair[0])
        return pair

    first = build_onion(HOPS[:3], HOPS[3], b"same", XCHACHA20, recording_keypair)
    second = build_onion(HOPS[:3], HOPS[3], b"same", XCHACHA20, recording_keypair)
    assert len(seen) == 8 and len(set(seen)) == 8
    assert first.body != second.body and first.reply_key != second.reply_key


def json_tail(envelope: bytes) -> bytes:
    return envelope[4 + int.from_bytes(envelope[:4], "little") :]


@pytest.mark.parametrize("enc_type", CIPHERS)
def test_onion__a_request_built_as_libsession_builds_it_peels_and_ours_has_its_exact_layout(
    enc_type,
):
    keypairs = [crypto_box_keypair() for _ in range(4)]
    payload = b'{"method":"info","params":{}}'
    theirs, reply_key = libsession_build(HOPS[:3], HOPS[3], payload, enc_type, keypairs)
    steps, target = peel_all(theirs)
    assert steps[3] == Deliver(payload) and target.reply_key == reply_key

    ours = build_onion(HOPS[:3], HOPS[3], payload, enc_type, iter(keypairs).__next__)
    # The outer JSON is byte for byte libsession's; nonces are random, so the layers are
    # compared by what each node decrypts: byte for byte the same too.
    body_a, body_b = theirs, ours.body
    assert json_tail(body_a) == json_tail(body_b)
    for node in NODES:
        req_a, req_b = parse_request(body_a), parse_request(body_b)
        plain_a, _ = open_layer(req_a, node.x25519_secret, node.x25519_pubkey)
        plain_b, _ = open_layer(req_b, node.x25519_secret, node.x25519_pubkey)
        inner_a, meta_a = unpack(plain_a)
        inner_b, meta_b = unpack(plain_b)
        assert meta_a == meta_b
        assert plain_a[4 + len(inner_a) :] == plain_b[4 + len(inner_b) :]
        if "headers" in meta_a:
            assert inner_a == inner_b == payload
            break
        body_a = pack(inner_a, {"ephemeral_key": meta_a["ephemeral_key"], "enc_type": enc_type})
        body_b = pack(inner_b, {"ephemeral_key": meta_b["ephemeral_key"], "enc_type": enc_type})
    assert ours.reply_key == reply_key


def test_onion__a_request_built_as_session_desktop_builds_it_peels_to_its_body():
    text = '{"method":"retrieve","params":{"pubkey":"05' + "ab" * 32 + '"}}'
    body, reply_key = desktop_build(HOPS[:3], HOPS[3], text)
    steps, target = peel_all(body)
    assert [type(s) for s in steps] == [Relay, Relay, Relay, Deliver]
    assert steps[3].body == text.encode() and target.enc_type == AES_GCM
    assert unseal(AES_GCM, reply_key, encrypt_reply(target, b"x")) == b"x"


def test_onion__inner_flags_and_server_relays_are_read_as_session_defines_them():
    key_pair = crypto_box_keypair()
    node = NODES[0]

    def one_layer(routing: dict) -> object:
        key = client_key(XCHACHA20, key_pair[1], key_pair[0], node.x25519_pubkey)
        ciphertext = seal(XCHACHA20, key, pack(b"inner", routing))
        request = OnionRequest(ciphertext, key_pair[0], XCHACHA20, 0)
        return peel(request, node.x25519_secret, node.x25519_pubkey).step

    assert one_layer({"headers": "", "json": True, "base64": False}) == Deliver(
        b"inner", True, False
    )
    to_server = one_layer({"host": "example.org", "target": "/oxen/v4/lsrpc"})
    assert isinstance(to_server, ToServer)
    assert (to_server.host, to_server.target, to_server.port, to_server.protocol) == (
        "example.org",
        "/oxen/v4/lsrpc",
        443,
        "https",
    )
    # The server gets the whole decrypted envelope (its JSON carries its ephemeral key).
    assert to_server.payload.startswith(len(b"inner").to_bytes(4, "little") + b"inner")
    for routing, reason in [
        ({"headers": "", "json": "yes"}, "booleans"),
        ({"host": 1, "target": "/x"}, "strings"),
        ({"host": "h", "target": "/x", "port": "80"}, "port"),
        ({"host": "h", "target": "/x", "port": 70000}, "port"),
        ({"host": "h", "target": "/x", "protocol": 1}, "protocol"),
        ({"nothing": 1}, "no headers, host or destination"),
        ({"destination": "zz" * 32, "ephemeral_key": "00" * 32}, "not hexadecimal"),
        ({"destination": "ab" * 31, "ephemeral_key": "00" * 32}, "64 hex digits"),
        ({"destination": "ab" * 32}, "ephemeral_key must be"),
        ({"destination": "ab" * 32, "ephemeral_key": "00" * 32, "enc_type": "rot13"}, "enc_type"),
    ]:
        step = one_layer(routing)
        assert isinstance(step, Unreadable) and reason in step.reason


# ----- tampering: every field of a valid request, each refused with its reason


def valid_body(enc_type: str = XCHACHA20) -> bytes:
    return build_onion(HOPS[:1], HOPS[1], b"payload", enc_type).body


def refusal(body: bytes) -> str:
    node = NODES[0]
    with pytest.raises(OnionError) as refused:
        peel(parse_request(body), node.x25519_secret, node.x25519_pubkey)
    assert refused.value.status == 400
    return refused.value.message


def split(body: bytes) -> tuple[bytes, dict]:
    size = int.from_bytes(body[:4], "little")
    return body[4 : 4 + size], json.loads(body[4 + size :])


def rejoin(ciphertext: bytes, metadata: dict, size: int | None = None) -> bytes:
    size = len(ciphertext) if size is None else size
    return size.to_bytes(4, "little") + ciphertext + json.dumps(metadata).encode()


@pytest.mark.parametrize("enc_type", CIPHERS)
def test_onion__a_changed_byte_anywhere_in_the_ciphertext_is_refused(enc_type):
    ciphertext, metadata = split(valid_body(enc_type))
    # nonce/IV, first and last byte of the encrypted data, the tag.
    for position in (0, 11, 24, len(ciphertext) // 2, len(ciphertext) - 17, len(ciphertext) - 1):
        altered = bytearray(ciphertext)
        altered[position] ^= 0x01
        assert refusal(rejoin(bytes(altered), metadata)) == "Invalid ciphertext"
    assert "too short" in refusal(rejoin(ciphertext[:10], metadata))


def test_onion__a_wrong_length_prefix_is_refused():
    ciphertext, metadata = split(valid_body())
    assert "length prefix says" in refusal(rejoin(ciphertext, metadata, size=0xFFFFFFFF))
    # One byte more: the JSON loses its opening brace.
    assert "not valid JSON" in refusal(rejoin(ciphertext, metadata, size=len(ciphertext) + 1))
    assert "too short for its length prefix" in refusal(b"\x05\x00")


@pytest.mark.parametrize(
    ("last", "reason"),
    [(b"x", "not valid JSON"), (b"{", "not valid JSON")]
    + [(space, "Invalid ciphertext") for space in (b" ", b"\t", b"\n", b"\r")],
)
def test_onion__a_length_prefix_one_short_is_refused_whatever_the_last_ciphertext_byte(
    last, reason
):
    """One byte less: the ciphertext's last byte goes to the JSON. JSON whitespace there
    still parses, so the refusal is the ciphertext's, one byte short (this test used to
    expect "not valid JSON" always, and failed for the random ciphertexts ending in a
    space)."""
    ciphertext, metadata = split(valid_body())
    changed = ciphertext[:-1] + last
    assert reason in refusal(rejoin(changed, metadata, size=len(changed) - 1))


def test_onion__a_changed_ephemeral_key_or_enc_type_is_refused():
    ciphertext, metadata = split(valid_body(XCHACHA20))
    key = metadata["ephemeral_key"]
    other = ("0" if key[0] != "0" else "1") + key[1:]
    cases = [
        ({**metadata, "ephemeral_key": other}, "Invalid ciphertext"),
        ({**metadata, "ephemeral_key": "zz" + key[2:]}, "not hexadecimal"),
        ({**metadata, "ephemeral_key": key[:-2]}, "64 hex digits"),
        ({**metadata, "ephemeral_key": 7}, "64 hex digits"),
        ({"enc_type": XCHACHA20}, "missing ephemeral_key"),
        ({**metadata, "ephemeral_key": "00" * 32}, "low-order"),
        ({**metadata, "enc_type": AES_GCM}, "Invalid ciphertext"),
        ({**metadata, "enc_type": "aes-cbc"}, "invalid enc_type"),
        ({**metadata, "enc_type": None}, "invalid enc_type"),
        ({**metadata, "hop_no": "1"}, "hop_no must be an integer"),
    ]
    for changed, reason in cases:
        assert reason in refusal(rejoin(ciphertext, changed)), changed


def test_onion__broken_json_after_the_ciphertext_is_refused():
    ciphertext, metadata = split(valid_body())
    prefix = len(ciphertext).to_bytes(4, "little") + ciphertext
    assert "not valid JSON" in refusal(prefix + json.dumps(metadata).encode()[:-1])
    assert "not valid JSON" in refusal(prefix + b"\xff\xfe{}")
    assert "not an object" in refusal(prefix + b"[1, 2]")
    assert "not valid JSON" in refusal(prefix)


def test_onion__a_tampered_inner_layer_is_refused_by_the_next_hop():
    built = build_onion(HOPS[:3], HOPS[3], b"payload", AES_GCM)
    first = peel(parse_request(built.body), NODES[0].x25519_secret, NODES[0].x25519_pubkey)
    relay = first.step
    assert isinstance(relay, Relay)
    altered = bytearray(relay.ciphertext)
    altered[len(altered) // 2] ^= 0x80
    forged = Relay(relay.destination, bytes(altered), relay.ephemeral_key, relay.enc_type)
    with pytest.raises(OnionError, match="Invalid ciphertext"):
        peel(parse_request(forged.envelope(1)), NODES[1].x25519_secret, NODES[1].x25519_pubkey)
    # The untouched copy goes through.
    assert isinstance(
        peel(parse_request(relay.envelope(1)), NODES[1].x25519_secret, NODES[1].x25519_pubkey).step,
        Relay,
    )


# ----- fuzzing the parser


@given(st.binary(max_size=400))
def test_onion__arbitrary_bytes_are_parsed_or_refused_with_a_reason(blob):
    try:
        request = parse_request(blob)
    except OnionError as exc:
        assert exc.status == 400 and exc.message
        return
    try:
        peel(request, NODES[0].x25519_secret, NODES[0].x25519_pubkey)
    except OnionError as exc:
        assert exc.status == 400


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=15), inner),
    max_leaves=8,
)


@given(
    metadata=st.dictionaries(
        st.sampled_from(["ephemeral_key", "enc_type", "hop_no", "destination", "headers"]),
        JSON_VALUES,
    ),
    ciphertext=st.binary(max_size=120),
)
def test_onion__arbitrary_metadata_is_parsed_or_refused_with_a_reason(metadata, ciphertext):
    try:
        request = parse_request(pack(ciphertext, metadata))
        peel(request, NODES[0].x25519_secret, NODES[0].x25519_pubkey)
    except OnionError as exc:
        assert exc.status == 400 and exc.message


BODY = build_onion(HOPS[:1], HOPS[1], b"the payload", XCHACHA20).body


@given(position=st.integers(0, len(BODY) - 1), flip=st.integers(1, 255))
def test_onion__a_mutated_request_never_delivers_anything_but_the_original(position, flip):
    altered = bytearray(BODY)
    altered[position] ^= flip
    steps = []
    try:
        body = bytes(altered)
        for node in NODES[:2]:
            peeled = peel(parse_request(body), node.x25519_secret, node.x25519_pubkey)
            steps.append(peeled.step)
            if not isinstance(peeled.step, Relay):
                break
            body = peeled.step.envelope(1)
    except OnionError as exc:
        assert exc.status == 400
        return
    # A change in the outer JSON that keeps it valid (e.g. in whitespace-free text, a
    # case change of a hex digit) is harmless: the layers still authenticate the payload.
    assert isinstance(steps[-1], Deliver) and steps[-1].body == b"the payload"
