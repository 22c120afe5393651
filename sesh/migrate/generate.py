"""Made-up old-network snapshots (devnet, tests, benchmarks): N nodes with real keys,
proofs of possession for one deployment, operators and delegators.

Deterministic for a given `seed`: the same snapshot, keys and proofs every time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from sesh.crypto.node_keys import NodeKeys


@dataclass(frozen=True)
class OldNetwork:
    """The snapshot (JSON-ready), each node's keys by `service_node_pubkey`, and the
    Ethereum accounts (private keys) of its operators and delegators by address."""

    snapshot: dict[str, Any]
    keys: dict[str, NodeKeys]
    accounts: dict[str, str]


def _derive(seed: str, *parts: object) -> bytes:
    return hashlib.sha256("/".join([seed, *map(str, parts)]).encode()).digest()


def old_network(
    count: int,
    chain_id: int,
    staking: str,
    requirement: int,
    seed: str = "old-network",
    operators: int | None = None,
    delegators: int = 8,
    open_only: bool = False,
) -> OldNetwork:
    """`count` nodes: most staked by their operator alone, every fourth shared with
    delegators, every tenth open with a reserved slot not yet filled (it activates when
    its delegator and others contribute after `start`). With `open_only`, every node is
    open that way (nodes that join no swarm until they fill)."""
    operators = operators or max(1, count // 4)
    accounts: dict[str, str] = {}
    eth: dict[str, str] = {}

    def account(kind: str, i: int) -> str:
        private = _derive(seed, kind, i)
        address = Account.from_key(private).address
        accounts[address] = "0x" + private.hex()
        eth[f"old-{kind}-{i}"] = address
        return f"old-{kind}-{i}"

    states = []
    keys: dict[str, NodeKeys] = {}
    quarter = requirement // 4
    for i in range(count):
        node_keys = NodeKeys.from_seeds(
            _derive(seed, "ed", i),
            (int.from_bytes(_derive(seed, "bls", i)) % (2**250) + 1).to_bytes(32),
        )
        operator_old = account("operator", i % operators)
        operator = eth[operator_old]
        if open_only or i % 10 == 9:
            contributors = [
                {"address": operator_old, "amount": quarter, "reserved": 0},
                {"address": account("delegator", i % delegators), "amount": 0, "reserved": quarter},
            ]
        elif i % 4 == 3:
            rest = requirement - quarter
            contributors = [
                {"address": operator_old, "amount": quarter, "reserved": 0},
                {
                    "address": account("delegator", i % delegators),
                    "amount": rest // 2,
                    "reserved": 0,
                },
                {
                    "address": account("delegator", (i + 1) % delegators),
                    "amount": rest - rest // 2,
                    "reserved": rest - rest // 2,
                },
            ]
        else:
            contributors = [{"address": operator_old, "amount": requirement, "reserved": 0}]
        name = node_keys.ed25519_pubkey.hex()
        keys[name] = node_keys
        states.append(
            {
                "service_node_pubkey": name,
                "pubkey_ed25519": name,
                "pubkey_bls": node_keys.bls_pubkey.to_compressed().hex(),
                "pop_bls": node_keys.proof_of_possession(chain_id, staking, operator).hex(),
                "ed25519_signature": node_keys.registration_signature().hex(),
                "operator_address": operator_old,
                "operator_fee": (i * 37) % 1_500,
                "public_ip": f"10.{(i >> 8) & 255}.{i & 255}.1",
                "storage_port": 22021,
                "staking_requirement": requirement,
                "contributors": contributors,
            }
        )
    return OldNetwork({"eth_addresses": eth, "service_node_states": states}, keys, accounts)
