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

# The contract whose ABI must hold exactly these events (checked by tests/rules/test_events.py).
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
    """A log as an RPC returns it, checked for shape: topics stay `0x`-prefixed lower-case
    hex strings of 32 bytes (decoding reads them as text), data and hashes are bytes."""

    address: str
    topics: tuple[str, ...]
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
    topics = log.topics
    if not topics:
        raise LogDecodeError("anonymous log (no topic)")
    entry = _BY_TOPIC0.get(topics[0])
    if entry is None:
        raise LogDecodeError(f"unknown event topic {topics[0]}")
    decode, name, source = entry
    # Positional: this runs for every log of a catch-up, and keywords cost a fifth of it.
    return Event(
        name,
        decode(topics, log.data),
        log.address,
        log.block_number,
        log.block_hash,
        log.transaction_hash,
        log.log_index,
        source,
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


def topics_hex(topics: Iterable[bytes]) -> tuple[str, ...]:
    """Topics as an RPC spells them (and `RawLog` holds them)."""
    return tuple("0x" + t.hex() for t in topics)


class _Decoder:
    """The decoder of one event, prepared once from its ABI.

    The ABI is turned into the source of one straight-line Python function per event
    (`source` shows it): every catch-up decodes tens of thousands of logs, and a generic
    loop over the fields costs several times more than the unrolled checks.
    """

    def __init__(self, spec: EventSpec):
        self.spec = spec
        self.source = _decoder_source(spec)
        namespace: dict[str, Any] = {
            "LogDecodeError": LogDecodeError,
            "_dynamic": _dynamic,
            "_ZERO_HIGH": _ZERO_HIGH,
            "_ZERO_HIGH_HEX": _ZERO_HIGH_HEX,
            "from_bytes": int.from_bytes,
            "fromhex": bytes.fromhex,
        }
        exec(compile(self.source, f"<decoder of {spec.name}>", "exec"), namespace)  # noqa: S102
        self.decode = namespace["decode"]


def _decoder_source(spec: EventSpec) -> str:
    """The source of `decode(topics, data) -> dict` for `spec` (see `_Decoder`)."""
    name = spec.name
    indexed, unindexed = spec.indexed, spec.unindexed
    lines = [
        "def decode(topics, data):",
        f"    if len(topics) != {1 + len(indexed)}:",
        "        raise LogDecodeError(",
        f'            f"{name} has {len(indexed)} indexed fields but the log has "',
        '            f"{len(topics) - 1} topics"',
        "        )",
    ]
    for i, f in enumerate(indexed, start=1):
        where = f"{name}.{f.name}"
        lines += [
            f"    t = topics[{i}]",
            "    if len(t) != 66:",
            f'        raise LogDecodeError("{where}: topic is not 32 bytes of hex")',
        ]
        if f.type == "address":
            lines += [
                "    if t[2:26] != _ZERO_HIGH_HEX:",
                f'        raise LogDecodeError("{where}: address with non-zero high bytes")',
                f'    v_{f.name} = "0x" + t[26:]',
            ]
        elif f.type.startswith("uint"):
            lines += [f"    v_{f.name} = int(t, 16)", *_fits(f, where)]
        elif f.type == "bytes32":
            lines.append(f"    v_{f.name} = fromhex(t[2:])")
        else:
            raise ValueError(f"{where}: indexed {f.type} is not supported by the decoder")
    head = 32 * len(unindexed)
    dynamic = any(f.type in ("bytes", "string") for f in unindexed)
    if dynamic:
        short = f"{name}: data is {{len(data)}} bytes, the head needs {head}"
        lines += [
            f"    if len(data) < {head}:",
            f'        raise LogDecodeError(f"{short}")',
            f"    end = {head}",
        ]
    else:
        lines += [
            f"    if len(data) != {head}:",
            f'        raise LogDecodeError(f"{name}: data is {{len(data)}} bytes, not {head}")',
        ]
    for i, f in enumerate(unindexed):
        where = f"{name}.{f.name}"
        word = f"data[{32 * i}:{32 * i + 32}]"
        if f.type in ("bytes", "string"):
            lines.append(
                f'    v_{f.name}, end = _dynamic(data, {32 * i}, end, {f.max_length}, "{where}", '
                f"{f.type == 'string'})"
            )
        elif f.type == "address":
            lines += [
                f"    if data[{32 * i}:{32 * i + 12}] != _ZERO_HIGH:",
                f'        raise LogDecodeError("{where}: address with non-zero high bytes")',
                f'    v_{f.name} = "0x" + data[{32 * i + 12}:{32 * i + 32}].hex()',
            ]
        elif f.type.startswith("uint"):
            lines.append(f'    v_{f.name} = from_bytes({word}, "big")')
            if f.type != "uint256":
                lines += _fits(f, where)
        elif f.type == "bytes32":
            lines.append(f"    v_{f.name} = {word}")
        elif f.type == "bool":
            lines += [
                f'    v_{f.name} = from_bytes({word}, "big")',
                f"    if v_{f.name} > 1:",
                f'        raise LogDecodeError(f"{where}: {{v_{f.name}}} is not a bool")',
                f"    v_{f.name} = v_{f.name} == 1",
            ]
        else:
            raise ValueError(f"{where}: type {f.type} is not supported by the decoder")
    if dynamic:
        trailing = f"{name}: {{len(data) - end}} bytes of data after the last field"
        lines += ["    if end != len(data):", f'        raise LogDecodeError(f"{trailing}")']
    fields = ", ".join(f'"{f.name}": v_{f.name}' for f in spec.fields)
    lines.append(f"    return {{{fields}}}")
    return "\n".join(lines) + "\n"


def _fits(f: Field, where: str) -> list[str]:
    """Source lines refusing a value of `f` (already in `v_<name>`) too large for its type."""
    message = f"{where}: {{v_{f.name}}} does not fit in {f.type}"
    return [
        f"    if v_{f.name} >> {int(f.type[4:])}:",
        f'        raise LogDecodeError(f"{message}")',
    ]


def _dynamic(
    data: bytes, head_at: int, expected: int, bound: int | None, where: str, text: bool
) -> tuple[Any, int]:
    """The `bytes`/`string` whose offset word is at `head_at`, and where the next one must
    start. The encoding must be canonical: the value starts exactly at `expected` (nothing
    before, between or after the dynamic values) and its padding is zero."""
    offset = int.from_bytes(data[head_at : head_at + 32], "big")
    if offset != expected:
        raise LogDecodeError(f"{where}: offset {offset} where {expected} was expected")
    if offset + 32 > len(data):
        raise LogDecodeError(f"{where}: length word past the end of the data")
    length = int.from_bytes(data[offset : offset + 32], "big")
    if bound is not None and length > bound:
        raise LogDecodeError(f"{where}: {length} bytes, more than the bound {bound}")
    start = offset + 32
    padded = (length + 31) // 32 * 32
    if start + padded > len(data):
        raise LogDecodeError(f"{where}: value runs past the end of the data")
    if data[start + length : start + padded].strip(b"\0"):
        raise LogDecodeError(f"{where}: non-zero padding")
    value = data[start : start + length]
    if text:
        try:
            return value.decode("utf-8"), start + padded
        except UnicodeDecodeError:
            raise LogDecodeError(f"{where}: not UTF-8") from None
    return value, start + padded


_ZERO_HIGH = bytes(12)
_ZERO_HIGH_HEX = "0" * 24
_DECODERS: dict[str, _Decoder] = {"0x" + e.topic0.hex(): _Decoder(e) for e in ALL_EVENTS}
# topic 0 (as text) -> (decode, event name, source), what `decode_log` needs of a decoder.
_BY_TOPIC0 = {t: (d.decode, d.spec.name, d.spec.source) for t, d in _DECODERS.items()}
