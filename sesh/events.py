"""The staking and Pro events the node bridge consumes: their ABI, in one place, and a decoder.

`docs/interfaces.md` fixes these events (names, types, indexing); this module is their only
Python description. Everything that reads logs (the chain tracker, the tests, the
benchmarks) decodes through `decode_log`, and a test checks that the ABI of the contract
that emits them (`EVENTS_CONTRACT`) has exactly these events.

Addresses decode to lower-case hex (`0x` + 40 digits): one canonical spelling, so the
registry compares and stores them as plain strings.

The decoder is strict: a log whose topics or data do not match its event's ABI exactly
(wrong topic count, short or overlong data, non-zero padding, an offset out of range, a
byte string longer than the contract's bound, invalid UTF-8) raises `LogDecodeError`
with the reason, and is never half-decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak

# The contract whose ABI must hold exactly these events (checked by tests/node/test_events.py).
# The staking contract does not exist yet: until it lands, its stand-in emits the events.
EVENTS_CONTRACT = "MockStakingEvents"


@dataclass(frozen=True)
class Field:
    """One event parameter: its name, ABI type, whether it is indexed, and for `bytes`
    and `string` the bound the contract declares (Vyper `Bytes[N]` / `String[N]`)."""

    name: str
    type: str
    indexed: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class EventSpec:
    """An event: name and fields in declaration order."""

    name: str
    fields: tuple[Field, ...]
    source: str  # "staking" or "pro": which contract emits it

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(f.type for f in self.fields)})"

    @property
    def topic0(self) -> bytes:
        return keccak(self.signature.encode())

    @property
    def indexed(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.indexed)

    @property
    def unindexed(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.indexed)

    def abi(self) -> dict[str, Any]:
        """The event's JSON ABI entry, as compilers write it."""
        return {
            "type": "event",
            "name": self.name,
            "anonymous": False,
            "inputs": [{"name": f.name, "type": f.type, "indexed": f.indexed} for f in self.fields],
        }


def _event(name: str, source: str, *fields: Field) -> EventSpec:
    return EventSpec(name=name, fields=tuple(fields), source=source)


def _idx(name: str, type_: str) -> Field:
    return Field(name, type_, indexed=True)


STAKING_EVENTS: tuple[EventSpec, ...] = (
    _event(
        "NodeRegistered",
        "staking",
        _idx("node_id", "uint64"),
        _idx("operator", "address"),
        Field("ed25519_pubkey", "bytes32"),
        Field("ed25519_sig", "bytes", max_length=64),
        Field("bls_pubkey", "bytes", max_length=128),
        Field("endpoint", "string", max_length=64),
        Field("fee_bps", "uint16"),
    ),
    _event(
        "Contributed",
        "staking",
        _idx("node_id", "uint64"),
        _idx("contributor", "address"),
        Field("amount", "uint256"),
        Field("total", "uint256"),
    ),
    _event(
        "ContributionWithdrawn",
        "staking",
        _idx("node_id", "uint64"),
        _idx("contributor", "address"),
        Field("amount", "uint256"),
    ),
    _event("NodeActivated", "staking", _idx("node_id", "uint64")),
    _event(
        "ExitRequested",
        "staking",
        _idx("node_id", "uint64"),
        _idx("requester", "address"),
        Field("unlock_time", "uint256"),
    ),
    _event("NodeExited", "staking", _idx("node_id", "uint64"), Field("reason", "uint8")),
    _event(
        "EndpointUpdated",
        "staking",
        _idx("node_id", "uint64"),
        Field("endpoint", "string", max_length=64),
    ),
    _event(
        "RewardsDistributed",
        "staking",
        Field("amount", "uint256"),
        Field("active_nodes", "uint256"),
        Field("reward_per_node", "uint256"),
    ),
    _event(
        "Claimed",
        "staking",
        _idx("node_id", "uint64"),
        _idx("account", "address"),
        Field("rewards", "uint256"),
        Field("stake", "uint256"),
    ),
    _event("StakingRequirementUpdated", "staking", Field("amount", "uint256")),
)

PRO_EVENTS: tuple[EventSpec, ...] = (
    _event(
        "ProSubscribed",
        "pro",
        _idx("pro_pubkey", "bytes32"),
        _idx("payer", "address"),
        Field("plan_id", "uint256"),
        Field("token", "address"),
        Field("amount", "uint256"),
        Field("expiry", "uint256"),
    ),
    _event(
        "ProGranted",
        "pro",
        _idx("pro_pubkey", "bytes32"),
        _idx("receipt_id", "bytes32"),
        Field("duration", "uint256"),
        Field("expiry", "uint256"),
    ),
    _event(
        "ProRevoked",
        "pro",
        _idx("pro_pubkey", "bytes32"),
        _idx("receipt_id", "bytes32"),
        Field("expiry", "uint256"),
    ),
)

ALL_EVENTS: tuple[EventSpec, ...] = STAKING_EVENTS + PRO_EVENTS
EVENTS_BY_NAME: dict[str, EventSpec] = {e.name: e for e in ALL_EVENTS}
EVENTS_BY_TOPIC: dict[bytes, EventSpec] = {e.topic0: e for e in ALL_EVENTS}


def event_abi(events: Iterable[EventSpec] = ALL_EVENTS) -> list[dict[str, Any]]:
    """The JSON ABI entries of `events` (all of them by default)."""
    return [e.abi() for e in events]


class LogDecodeError(ValueError):
    """A log that is not a well-formed instance of a known event; the message says why."""


@dataclass(slots=True)
class Event:
    """A decoded log: the event's name and arguments, and where it sits in the chain."""

    name: str
    args: Mapping[str, Any]
    address: str
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int
    source: str = "staking"

    @property
    def position(self) -> tuple[int, int]:
        """(block number, log index): the order events are applied in."""
        return (self.block_number, self.log_index)


@dataclass(slots=True)
class RawLog:
    """A log as an RPC returns it, with hex fields already turned into bytes/ints."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int
    removed: bool = False

    def where(self) -> str:
        return (
            f"block {self.block_number} tx 0x{self.transaction_hash.hex()} "
            f"log {self.log_index} (address {self.address})"
        )


def decode_log(log: RawLog) -> Event:
    """Decode `log` by its event's ABI, or raise `LogDecodeError` saying why it cannot be."""
    if not log.topics:
        raise LogDecodeError("anonymous log (no topic)")
    decoder = _DECODERS.get(log.topics[0])
    if decoder is None:
        raise LogDecodeError(f"unknown event topic 0x{log.topics[0].hex()}")
    spec = decoder.spec
    return Event(
        name=spec.name,
        args=decoder.decode(log.topics, log.data),
        address=log.address,
        block_number=log.block_number,
        block_hash=log.block_hash,
        transaction_hash=log.transaction_hash,
        log_index=log.log_index,
        source=spec.source,
    )


def encode_data(spec: EventSpec, args: Mapping[str, Any]) -> bytes:
    """ABI-encode the unindexed fields of `spec` (what a contract puts in a log's data).

    Used by tests and tools that build logs by hand; the contracts do this on chain.
    """
    from eth_abi import encode

    fields = spec.unindexed
    return encode([f.type for f in fields], [args[f.name] for f in fields])


def encode_topics(spec: EventSpec, args: Mapping[str, Any]) -> list[bytes]:
    """The topics of a log of `spec` with `args` (topic 0, then the indexed fields)."""
    from eth_abi import encode

    return [spec.topic0] + [encode([f.type], [args[f.name]]) for f in spec.indexed]


class _Decoder:
    """The decoder of one event, prepared once from its ABI."""

    def __init__(self, spec: EventSpec):
        self.spec = spec
        self.topic_fields = [(f.name, _static_decoder(spec.name, f)) for f in spec.indexed]
        self.data_fields = [
            (f, None if f.type in ("bytes", "string") else _static_decoder(spec.name, f))
            for f in spec.unindexed
        ]
        self.head_size = 32 * len(self.data_fields)

    def decode(self, topics: tuple[bytes, ...], data: bytes) -> dict[str, Any]:
        name = self.spec.name
        if len(topics) != 1 + len(self.topic_fields):
            raise LogDecodeError(
                f"{name} has {len(self.topic_fields)} indexed fields but the log has "
                f"{len(topics) - 1} topics"
            )
        out: dict[str, Any] = {}
        for (field_name, decode), topic in zip(self.topic_fields, topics[1:], strict=True):
            if len(topic) != 32:
                raise LogDecodeError(f"{name}.{field_name}: topic is {len(topic)} bytes, not 32")
            out[field_name] = decode(topic)
        head_size = self.head_size
        if len(data) < head_size:
            raise LogDecodeError(f"{name}: data is {len(data)} bytes, the head needs {head_size}")
        # The tail must be exactly the dynamic values, in order, with nothing before,
        # between or after them: a canonical encoding is the only one we accept.
        expected_offset = head_size
        for i, (f, decode) in enumerate(self.data_fields):
            word = data[32 * i : 32 * i + 32]
            if decode is not None:
                out[f.name] = decode(word)
                continue
            offset = int.from_bytes(word, "big")
            if offset != expected_offset:
                raise LogDecodeError(
                    f"{name}.{f.name}: offset {offset} where {expected_offset} was expected"
                )
            if offset + 32 > len(data):
                raise LogDecodeError(f"{name}.{f.name}: length word past the end of the data")
            length = int.from_bytes(data[offset : offset + 32], "big")
            if f.max_length is not None and length > f.max_length:
                raise LogDecodeError(
                    f"{name}.{f.name}: {length} bytes, more than the bound {f.max_length}"
                )
            start = offset + 32
            padded = (length + 31) // 32 * 32
            if start + padded > len(data):
                raise LogDecodeError(f"{name}.{f.name}: value runs past the end of the data")
            value = data[start : start + length]
            if data[start + length : start + padded].strip(b"\0"):
                raise LogDecodeError(f"{name}.{f.name}: non-zero padding")
            if f.type == "string":
                try:
                    out[f.name] = value.decode("utf-8")
                except UnicodeDecodeError:
                    raise LogDecodeError(f"{name}.{f.name}: not UTF-8") from None
            else:
                out[f.name] = value
            expected_offset = start + padded
        if expected_offset != len(data):
            raise LogDecodeError(
                f"{name}: {len(data) - expected_offset} bytes of data after the last field"
            )
        return out


_ZERO_HIGH = bytes(12)


def _static_decoder(event: str, f: Field) -> Any:
    """A function from one 32-byte word to the value of a static field."""
    t = f.type
    where = f"{event}.{f.name}"
    if t == "bytes32":
        return bytes
    if t == "address":

        def address(word: bytes) -> str:
            if word[:12] != _ZERO_HIGH:
                raise LogDecodeError(f"{where}: address with non-zero high bytes")
            return "0x" + word[12:].hex()

        return address
    if t.startswith("uint"):
        limit = 1 << int(t[4:])

        def uint(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >= limit:
                raise LogDecodeError(f"{where}: {value} does not fit in {t}")
            return value

        return uint
    if t == "bool":

        def boolean(word: bytes) -> bool:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise LogDecodeError(f"{where}: {value} is not a bool")
            return bool(value)

        return boolean
    raise ValueError(f"{where}: type {t} is not supported by the decoder")


_DECODERS: dict[bytes, _Decoder] = {e.topic0: _Decoder(e) for e in ALL_EVENTS}
