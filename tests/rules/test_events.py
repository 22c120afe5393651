"""The event ABI in `sesh.rules.events` is the contract's, and the decoder is strict: every
well-formed log decodes to what was encoded, every malformed one is refused with why."""

import pytest
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from sesh.rules.events import (
    ALL_EVENTS,
    EVENTS_BY_NAME,
    EVENTS_CONTRACT,
    PRO_EVENTS,
    LogDecodeError,
    RawLog,
    decode_log,
    encode_data,
    encode_topics,
    event_abi,
    topics_hex,
)


def raw(topics, data, block=7, index=0) -> RawLog:
    """A log with `topics` given as bytes (as the contract computes them)."""
    return RawLog(
        address="0x" + "ab" * 20,
        topics=topics_hex(t if isinstance(t, bytes) else bytes.fromhex(t[2:]) for t in topics),
        data=data,
        block_number=block,
        block_hash=b"\x01" * 32,
        transaction_hash=b"\x02" * 32,
        log_index=index,
    )


def log_of(name, **args) -> RawLog:
    spec = EVENTS_BY_NAME[name]
    return raw(encode_topics(spec, args), encode_data(spec, args))


REGISTERED = dict(
    node_id=7,
    operator="0x" + "11" * 20,
    ed25519_pubkey=b"\x33" * 32,
    ed25519_sig=b"\x44" * 64,
    bls_pubkey=b"\x55" * 128,
    endpoint="node.example:22021",
    fee_bps=500,
)


def contract_events(project, name):
    return [
        entry.model_dump(mode="json", by_alias=True)
        for entry in getattr(project, name).contract_type.abi
        if entry.type == "event"
    ]


def canonical(entries):
    return sorted(
        (e["name"], tuple((i["name"], i["type"], i["indexed"]) for i in e["inputs"]))
        for e in entries
    )


def test_abi__matches_the_events_of_the_contract_that_emits_them(project):
    assert canonical(contract_events(project, EVENTS_CONTRACT)) == canonical(event_abi())


def test_abi__pro_events_are_those_of_session_pro(project):
    if "SessionPro" not in project.contracts:
        pytest.skip("SessionPro.vy is not in this tree yet")
    pro_events = {e["name"] for e in event_abi(PRO_EVENTS)}
    emitted = [e for e in contract_events(project, "SessionPro") if e["name"] in pro_events]
    assert canonical(emitted) == canonical(event_abi(PRO_EVENTS))


def test_abi__topic0_is_the_keccak_of_the_signature():
    from eth_utils import keccak

    for spec in ALL_EVENTS:
        assert spec.topic0 == keccak(text=spec.signature)
    assert EVENTS_BY_NAME["NodeRegistered"].signature == (
        "NodeRegistered(uint64,address,bytes32,bytes,bytes,string,uint16)"
    )


def test_decode__a_registration_gives_back_every_field():
    event = decode_log(log_of("NodeRegistered", **REGISTERED))
    assert event.name == "NodeRegistered"
    assert dict(event.args) == REGISTERED
    assert (event.block_number, event.log_index) == (7, 0)


@given(
    node_id=st.integers(0, 2**64 - 1),
    operator=st.binary(min_size=20, max_size=20),
    sig=st.binary(max_size=64),
    bls=st.binary(max_size=128),
    endpoint=st.text(max_size=16),
    fee=st.integers(0, 2**16 - 1),
)
def test_decode__any_valid_registration_round_trips(node_id, operator, sig, bls, endpoint, fee):
    if len(endpoint.encode()) > 64:
        return
    args = dict(
        node_id=node_id,
        operator="0x" + operator.hex(),
        ed25519_pubkey=b"\x01" * 32,
        ed25519_sig=sig,
        bls_pubkey=bls,
        endpoint=endpoint,
        fee_bps=fee,
    )
    assert dict(decode_log(log_of("NodeRegistered", **args)).args) == args


@pytest.mark.parametrize("spec", ALL_EVENTS, ids=lambda s: s.name)
def test_decode__every_event_round_trips(spec):
    samples = {
        "uint64": 2**64 - 1,
        "uint256": 2**256 - 1,
        "uint16": 65535,
        "uint8": 4,
        "address": "0x" + "9f" * 20,
        "bytes32": b"\x07" * 32,
        "bytes": b"\x08" * 5,
        "string": "host:1",
    }
    args = {f.name: samples[f.type] for f in spec.fields}
    assert dict(decode_log(log_of(spec.name, **args)).args) == args


def test_decode__refuses_an_unknown_topic_and_an_anonymous_log():
    with pytest.raises(LogDecodeError, match="unknown event topic"):
        decode_log(raw([b"\x99" * 32], b""))
    with pytest.raises(LogDecodeError, match="anonymous"):
        decode_log(raw([], b""))


def test_decode__refuses_a_wrong_number_of_topics():
    good = log_of("NodeActivated", node_id=3)
    with pytest.raises(LogDecodeError, match="1 indexed fields but the log has 2"):
        decode_log(raw([*good.topics, "0x" + "00" * 32], good.data))


def corrupt(name, mutate, **args):
    good = log_of(name, **args)
    data = bytearray(good.data)
    mutate(data)
    return raw(good.topics, bytes(data))


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda d: d.__delitem__(slice(-32, None)), "past the end|runs past"),
        (lambda d: d.extend(b"\x00" * 32), "after the last field"),
        (lambda d: d.__setitem__(slice(32, 64), (0x200).to_bytes(32, "big")), "offset"),
        (lambda d: d.__setitem__(-1, 1), "non-zero padding"),
    ],
    ids=["short", "trailing", "offset", "padding"],
)
def test_decode__refuses_malformed_registration_data(mutate, reason):
    with pytest.raises(LogDecodeError, match=reason):
        decode_log(corrupt("NodeRegistered", mutate, **REGISTERED))


def test_decode__refuses_a_byte_string_longer_than_the_contract_bound():
    spec = EVENTS_BY_NAME["NodeRegistered"]
    args = dict(REGISTERED, ed25519_sig=b"\x01" * 65)
    with pytest.raises(LogDecodeError, match="more than the bound 64"):
        decode_log(raw(encode_topics(spec, args), encode_data(spec, args)))


def test_decode__refuses_invalid_utf8_and_out_of_range_integers_and_addresses():
    spec = EVENTS_BY_NAME["EndpointUpdated"]
    topics = encode_topics(spec, {"node_id": 1})
    with pytest.raises(LogDecodeError, match="not UTF-8"):
        decode_log(raw(topics, encode(["bytes"], [b"\xff\xfe"])))
    exited = EVENTS_BY_NAME["NodeExited"]
    with pytest.raises(LogDecodeError, match="does not fit in uint8"):
        decode_log(raw(encode_topics(exited, {"node_id": 1}), encode(["uint256"], [256])))
    with pytest.raises(LogDecodeError, match="does not fit in uint64"):
        decode_log(raw([exited.topic0, (2**64).to_bytes(32, "big")], encode(["uint8"], [0])))
    contributed = EVENTS_BY_NAME["Contributed"]
    with pytest.raises(LogDecodeError, match="non-zero high bytes"):
        decode_log(
            raw(
                [contributed.topic0, (1).to_bytes(32, "big"), b"\x01" * 32],
                encode(["uint256", "uint256"], [1, 1]),
            )
        )
