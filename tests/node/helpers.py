"""Building events by hand (through the real encoder and decoder) for the pure tests."""

from __future__ import annotations

import hashlib
from typing import Any

from sesh.rules.events import (
    EVENTS_BY_NAME,
    Event,
    RawLog,
    decode_log,
    encode_data,
    encode_topics,
    topics_hex,
)
from tests.node.driver import NodeKeys

OPERATOR = "0x" + "0a" * 20
DELEGATOR = "0x" + "0d" * 20


def block_hash(number: int, fork: str = "") -> bytes:
    return hashlib.sha256(f"block {number} {fork}".encode()).digest()


def event(name: str, block: int, index: int = 0, fork: str = "", **args: Any) -> Event:
    spec = EVENTS_BY_NAME[name]
    return decode_log(
        RawLog(
            address="0x" + "ab" * 20,
            topics=topics_hex(encode_topics(spec, args)),
            data=encode_data(spec, args),
            block_number=block,
            block_hash=block_hash(block, fork),
            transaction_hash=hashlib.sha256(f"tx {block} {index}".encode()).digest(),
            log_index=index,
        )
    )


def registered(
    node_id: int,
    block: int,
    index: int = 0,
    keys: NodeKeys | None = None,
    bad_signature: bool = False,
    endpoint: str = "10.0.0.1:22021",
) -> Event:
    keys = keys or NodeKeys.derive(f"node-{node_id}")
    sig = keys.registration_sig()
    if bad_signature:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return event(
        "NodeRegistered",
        block,
        index,
        node_id=node_id,
        operator=OPERATOR,
        ed25519_pubkey=keys.ed25519_pubkey,
        ed25519_sig=sig,
        bls_pubkey=keys.bls_pubkey,
        endpoint=endpoint,
        fee_bps=500,
    )


def full_node(node_id: int, block: int, stake: int = 100, **kwargs: Any) -> list[Event]:
    """Registration, the operator's contribution and activation, in one block."""
    return [
        registered(node_id, block, 0, **kwargs),
        event(
            "Contributed",
            block,
            1,
            node_id=node_id,
            contributor=OPERATOR,
            amount=stake,
            total=stake,
        ),
        event("NodeActivated", block, 2, node_id=node_id),
    ]
