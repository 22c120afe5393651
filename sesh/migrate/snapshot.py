"""A snapshot of the old network's service nodes, checked off chain, as `seed_nodes` batches.

The snapshot is JSON in the shape of oxend's `get_service_nodes` answer, plus what the
move adds for each node and operator:

    {
      "eth_addresses": {"<old-chain address>": "0x<Ethereum address>", ...},
      "service_node_states": [
        {
          "service_node_pubkey": "<hex, 32 bytes>",     # the node's Ed25519 key
          "pubkey_ed25519": "<hex, 32 bytes>",          # the same key
          "pubkey_bls": "<hex: 48-byte compressed or 128-byte EIP-2537 G1>",
          "pop_bls": "<hex: 96-byte compressed or 256-byte EIP-2537 G2>",   # added
          "ed25519_signature": "<hex, 64 bytes>",       # added: signs ed25519 || bls
          "operator_address": "<old-chain address>",
          "operator_fee": 1000,                         # basis points (0..10000)
          "public_ip": "203.0.113.7", "storage_port": 22021,
          "staking_requirement": 25000000000000,        # atomic units (9 decimals)
          "contributors": [                             # the operator first
            {"address": "<old-chain address>", "amount": 6250000000000, "reserved": 0},
            ...
          ]
        }, ...
      ]
    }

A contributor with `amount` 0 and a `reserved` amount holds a reserved slot not yet
filled. Amounts are SESH atomic units (the old chain's have the same 9 decimals).
`pop_bls` is the node's proof of possession for *this* deployment (chain id, staking
address and its operator's Ethereum address), made after the staking contract is
deployed (`sesh node keys pop`-style tooling on each node; docs/migration.md).

`check_snapshot` reports every problem, naming the node, and returns nothing to send if
there is any; `batches` orders the nodes as the contract requires (ascending keccak256 of
the BLS key) and cuts them into batches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

from sesh.crypto import bls
from sesh.crypto.node_keys import verify_registration_signature

BPS = 10_000
MAX_CONTRIBUTORS = 10
# Nodes per `seed_nodes` call (the contract allows 100): about 30 M gas... see
# bench/results/seeding.json; 60 keep each transaction well under Arbitrum's 32 M.
DEFAULT_BATCH = 60
_ETH_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class SeedStake:
    """A contributor other than the operator: its stake (0 for a reserved slot not yet
    filled) and its reservation."""

    account: str
    amount: int
    reserved: int = 0

    def args(self) -> tuple:
        return (self.account, self.amount, self.reserved)


@dataclass(frozen=True)
class SeedNode:
    """One node as `seed_nodes` takes it (`IServiceNodeStaking.SeedNode`)."""

    name: str  # the old network's `service_node_pubkey`, for reports
    operator: str
    ed25519_pubkey: bytes
    ed25519_sig: bytes
    bls_pubkey: bytes  # EIP-2537
    bls_pop: bytes  # EIP-2537
    endpoint: str
    fee_bps: int
    operator_stake: int
    contributors: tuple[SeedStake, ...] = ()

    @property
    def order(self) -> int:
        """The contract's seeding order: keccak256 of the BLS key."""
        return int.from_bytes(keccak(self.bls_pubkey), "big")

    @property
    def stake(self) -> int:
        """The SESH this node's seeding pulls from the owner."""
        return self.operator_stake + sum(c.amount for c in self.contributors)

    @property
    def unfilled(self) -> int:
        return sum(c.reserved for c in self.contributors if c.amount == 0)

    def args(self) -> tuple:
        return (
            self.operator,
            self.ed25519_pubkey,
            self.ed25519_sig,
            self.bls_pubkey,
            self.bls_pop,
            self.endpoint,
            self.fee_bps,
            self.operator_stake,
            [c.args() for c in self.contributors],
        )


@dataclass
class Report:
    """What `check_snapshot` found: the nodes to seed, or the problems by node."""

    nodes: list[SeedNode] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        return [f"node {name}: {problem}" for name, problem in self.problems]


class SnapshotError(ValueError):
    """The snapshot file is not a snapshot at all (no per-node report possible)."""


def read_snapshot(path: Path | str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("service_node_states"), list):
        raise SnapshotError(f"{path}: no `service_node_states` list (oxend get_service_nodes)")
    if not isinstance(data.get("eth_addresses", {}), dict):
        raise SnapshotError(f"{path}: `eth_addresses` must map old addresses to 0x addresses")
    return data


def check_snapshot(data: dict[str, Any], chain_id: int, staking: str, requirement: int) -> Report:
    """Every node of `data` checked as the contract and the network will check it, and
    more (Ed25519 signatures, which the contract cannot check, and unknown addresses).
    A node is refused for any problem; the report names each node and each problem."""
    report = Report()
    eth = {str(k): v for k, v in data.get("eth_addresses", {}).items()}
    seen_bls: dict[str, str] = {}
    seen_ed: dict[str, str] = {}
    for index, entry in enumerate(data["service_node_states"]):
        name = (
            str(entry.get("service_node_pubkey") or f"#{index}")
            if isinstance(entry, dict)
            else f"#{index}"
        )
        problems: list[str] = []
        node = _check_node(entry, chain_id, staking, requirement, eth, problems)
        if isinstance(entry, dict):
            # Keys compared as given (lower-case hex), whatever else is wrong with the node.
            for key, table, what in (
                (_normal_key(entry.get("pubkey_bls")), seen_bls, "BLS key"),
                (str(entry.get("pubkey_ed25519", "")).lower(), seen_ed, "Ed25519 key"),
            ):
                if not key:
                    continue
                if key in table:
                    problems.append(f"duplicate {what}: also node {table[key]}")
                else:
                    table[key] = name
        report.problems += [(name, p) for p in problems]
        if node is not None and not problems:
            report.nodes.append(node)
    if report.problems:
        report.nodes = []
    return report


def _check_node(
    entry: Any,
    chain_id: int,
    staking: str,
    requirement: int,
    eth: dict[str, str],
    problems: list[str],
) -> SeedNode | None:
    if not isinstance(entry, dict):
        problems.append("not a JSON object")
        return None
    ed25519 = _hex(entry.get("pubkey_ed25519"), (32,), "pubkey_ed25519", problems)
    name = entry.get("service_node_pubkey")
    if ed25519 is not None and name is not None and str(name).lower() != ed25519.hex():
        problems.append("service_node_pubkey differs from pubkey_ed25519")
    key_bytes = _hex(entry.get("pubkey_bls"), (48, 128), "pubkey_bls", problems)
    pop_bytes = _hex(entry.get("pop_bls"), (96, 256), "pop_bls", problems)
    signature = _hex(entry.get("ed25519_signature"), (64,), "ed25519_signature", problems)
    public_key = _bls_point(bls.PublicKey, key_bytes, 48, "pubkey_bls", problems)
    proof = _bls_point(bls.Signature, pop_bytes, 96, "pop_bls", problems)
    operator = _eth_address(entry.get("operator_address"), eth, "operator", problems)
    fee = entry.get("operator_fee")
    if not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= BPS:
        problems.append(f"operator_fee {fee!r} is not basis points in [0, {BPS}]")
    endpoint = f"{entry.get('public_ip', '')}:{entry.get('storage_port', '')}"
    if not entry.get("public_ip") or not entry.get("storage_port") or len(endpoint) > 64:
        problems.append(f"no usable endpoint from public_ip/storage_port ({endpoint!r})")
    if entry.get("staking_requirement") != requirement:
        problems.append(
            f"staking_requirement {entry.get('staking_requirement')!r} is not the "
            f"contract's {requirement}"
        )
    stakes = _check_contributors(entry.get("contributors"), entry, eth, requirement, problems)
    keys_known = public_key is not None and ed25519 is not None
    if (
        keys_known
        and signature is not None
        and not verify_registration_signature(ed25519, public_key.to_eip2537(), signature)
    ):
        problems.append("ed25519_signature does not sign pubkey_ed25519 || pubkey_bls")
    if (
        keys_known
        and proof is not None
        and operator
        and not bls.verify_possession(public_key, proof, chain_id, staking, operator, ed25519)
    ):
        problems.append(
            "pop_bls is not a proof of possession of pubkey_bls for this operator, "
            "chain and staking contract"
        )
    if problems or stakes is None:
        return None
    operator_stake, others = stakes
    return SeedNode(
        name=str(name or ed25519.hex()),
        operator=operator,
        ed25519_pubkey=ed25519,
        ed25519_sig=signature,
        bls_pubkey=public_key.to_eip2537(),
        bls_pop=proof.to_eip2537(),
        endpoint=endpoint,
        fee_bps=fee,
        operator_stake=operator_stake,
        contributors=tuple(others),
    )


def _check_contributors(
    contributors: Any,
    entry: dict[str, Any],
    eth: dict[str, str],
    requirement: int,
    problems: list[str],
) -> tuple[int, list[SeedStake]] | None:
    if not isinstance(contributors, list) or not contributors:
        problems.append("no contributors (the operator comes first)")
        return None
    if len(contributors) > MAX_CONTRIBUTORS:
        problems.append(f"{len(contributors)} contributors, at most {MAX_CONTRIBUTORS}")
        return None
    first = contributors[0] if isinstance(contributors[0], dict) else {}
    if first.get("address") != entry.get("operator_address"):
        problems.append("the first contributor is not operator_address")
    amounts: list[tuple[str | None, int, int]] = []
    for i, c in enumerate(contributors):
        if not isinstance(c, dict):
            problems.append(f"contributor {i} is not a JSON object")
            return None
        amount, reserved = c.get("amount", 0), c.get("reserved", 0)
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (amount, reserved)
        ):
            problems.append(f"contributor {i}: amount and reserved must be whole units >= 0")
            return None
        account = _eth_address(c.get("address"), eth, f"contributor {i}", problems)
        if i > 0 and amount == 0 and reserved == 0:
            problems.append(f"contributor {i}: neither a stake nor a reservation")
        if amount != 0 and amount < reserved:
            problems.append(f"contributor {i}: stake {amount} below its reservation {reserved}")
        amounts.append((account, amount, reserved))
    accounts = [a for a, _, _ in amounts if a]
    if len({a.lower() for a in accounts}) != len(accounts):
        problems.append("an Ethereum address contributes twice")
    operator_stake = amounts[0][1]
    if operator_stake * 4 < requirement:
        problems.append(f"operator stake {operator_stake} below a quarter of {requirement}")
    total = sum(a for _, a, _ in amounts)
    unfilled = sum(r for _, a, r in amounts if a == 0)
    if total + unfilled > requirement:
        problems.append(
            f"stake above requirement: {total} staked + {unfilled} reserved > {requirement}"
        )
    elif len(amounts) == MAX_CONTRIBUTORS and total + unfilled != requirement:
        problems.append("ten contributors that leave the stake unfillable")
    if any(a is None for a, _, _ in amounts):
        return None
    return operator_stake, [SeedStake(a, amount, r) for a, amount, r in amounts[1:]]


def _normal_key(value: Any) -> str:
    """A BLS key's compressed hex whichever form it is given in ("" if it does not parse)."""
    try:
        data = bytes.fromhex(str(value).removeprefix("0x"))
        key = (
            bls.PublicKey.from_compressed(data)
            if len(data) == 48
            else bls.PublicKey.from_eip2537(data)
        )
    except (ValueError, bls.BlsError):
        return ""
    return key.to_compressed().hex()


def _bls_point(kind: type, data: bytes | None, compressed: int, field: str, problems: list):
    """A key or signature from its compressed (`compressed` bytes) or EIP-2537 form; None,
    with the reason in `problems`, if it is not one."""
    if data is None:
        return None
    try:
        return kind.from_compressed(data) if len(data) == compressed else kind.from_eip2537(data)
    except bls.BlsError as exc:
        problems.append(f"{field}: {exc}")
        return None


def _eth_address(old: Any, eth: dict[str, str], who: str, problems: list[str]) -> str | None:
    if isinstance(old, str) and _ETH_ADDRESS.match(old):
        return old
    mapped = eth.get(str(old)) if old is not None else None
    if not isinstance(mapped, str) or not _ETH_ADDRESS.match(mapped):
        problems.append(f"{who} address {old!r} has no Ethereum address in eth_addresses")
        return None
    return mapped


def _hex(value: Any, sizes: tuple[int, ...], what: str, problems: list[str]) -> bytes | None:
    try:
        data = bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        problems.append(f"{what} is not hex")
        return None
    if value is None or len(data) not in sizes:
        problems.append(f"{what} must be {' or '.join(map(str, sizes))} bytes")
        return None
    return data


def ordered(nodes: Iterable[SeedNode]) -> list[SeedNode]:
    """The contract's seeding order: ascending keccak256 of the BLS key."""
    return sorted(nodes, key=lambda n: n.order)


def batches(nodes: Sequence[SeedNode], size: int = DEFAULT_BATCH) -> list[list[SeedNode]]:
    """`nodes` (already ordered) in batches of at most `size`."""
    if not 1 <= size <= 100:
        raise ValueError("a batch holds 1 to 100 nodes")
    return [list(nodes[i : i + size]) for i in range(0, len(nodes), size)]
