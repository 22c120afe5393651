"""Drives `MockStakingEvents` on an anvil with web3: node registrations with real Ed25519
keys, contributions, activations, exits, Pro subscriptions — and the events a bridge
should see from them.

Shared by the node tests and `bench/bridge.py`. When the real staking contract lands, a
driver with the same methods over it replaces this one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from web3 import Web3

from sesh.rules.events import EVENTS_CONTRACT

ROOT = Path(__file__).resolve().parents[2]
# The contract that emits the events (sesh.rules.events.EVENTS_CONTRACT), wherever it lives.
MOCK_SOURCE = next((ROOT / "contracts").rglob(f"{EVENTS_CONTRACT}.vy"))
BATCH = 100  # registrations per transaction (well inside the block gas limit)


def compile_mock() -> tuple[list[dict], str]:
    """ABI and bytecode of the events contract, compiled with the venv's vyper."""
    out = subprocess.run(
        [sys.executable, "-m", "vyper", "-f", "abi,bytecode", str(MOCK_SOURCE)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return json.loads(out[0]), out[1].strip()


@dataclass(frozen=True)
class NodeKeys:
    """A node's Ed25519 key and (stand-in) BLS key, derived from a label."""

    signing_key: SigningKey
    bls_pubkey: bytes

    @classmethod
    def derive(cls, label: str) -> NodeKeys:
        seed = hashlib.sha256(f"ed25519:{label}".encode()).digest()
        bls = b"".join(hashlib.sha256(f"bls:{label}:{i}".encode()).digest() for i in range(4))
        return cls(SigningKey(seed), bls)

    @property
    def ed25519_pubkey(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    def registration_sig(self) -> bytes:
        return self.signing_key.sign(self.ed25519_pubkey + self.bls_pubkey).signature


def registration(
    node_id: int,
    operator: str,
    keys: NodeKeys | None = None,
    stake: int = 25_000 * 10**9,
    fee_bps: int = 500,
    endpoint: str | None = None,
    bad_signature: bool = False,
) -> tuple:
    """A `Registration` struct for `register` / `register_many`."""
    keys = keys or NodeKeys.derive(f"node-{node_id}")
    sig = keys.registration_sig()
    if bad_signature:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return (
        node_id,
        operator,
        keys.ed25519_pubkey,
        sig,
        keys.bls_pubkey,
        endpoint or f"10.{node_id >> 16 & 255}.{node_id >> 8 & 255}.{node_id & 255}:22021",
        fee_bps,
        stake,
    )


class EventsDriver:
    """Sends transactions to the events contract from anvil's unlocked accounts."""

    def __init__(self, w3: Web3, address: str, abi: list[dict]):
        self.w3 = w3
        self.contract = w3.eth.contract(address=address, abi=abi)
        self.accounts = w3.eth.accounts
        self.sender = self.accounts[0]

    @classmethod
    def deploy(cls, url: str, abi: list[dict] | None = None, bytecode: str | None = None):
        if abi is None or bytecode is None:
            abi, bytecode = compile_mock()
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        tx = (
            w3.eth.contract(abi=abi, bytecode=bytecode)
            .constructor()
            .transact({"from": w3.eth.accounts[0]})
        )
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        return cls(w3, receipt["contractAddress"], abi), receipt["blockNumber"]

    @property
    def address(self) -> str:
        return self.contract.address

    def send(self, call: Any) -> dict:
        tx = call.transact({"from": self.sender, "gas": 29_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError("transaction reverted")
        return receipt

    def operator(self, node_id: int) -> str:
        return self.accounts[node_id % len(self.accounts)]

    # ----- one event (or a registration's two) per call

    def register(self, node_id: int, **kwargs: Any) -> dict:
        return self.send(
            self.contract.functions.register(
                registration(node_id, self.operator(node_id), **kwargs)
            )
        )

    def contribute(self, node_id: int, contributor: str, amount: int, total: int) -> dict:
        return self.send(self.contract.functions.contribute(node_id, contributor, amount, total))

    def withdraw(self, node_id: int, contributor: str, amount: int) -> dict:
        return self.send(
            self.contract.functions.withdraw_contribution(node_id, contributor, amount)
        )

    def activate(self, node_id: int) -> dict:
        return self.send(self.contract.functions.activate(node_id))

    def request_exit(self, node_id: int, unlock_time: int = 2_000_000_000) -> dict:
        return self.send(
            self.contract.functions.request_exit(node_id, self.operator(node_id), unlock_time)
        )

    def exit(self, node_id: int, reason: int = 0) -> dict:
        return self.send(self.contract.functions.exit_node(node_id, reason))

    def update_endpoint(self, node_id: int, endpoint: str) -> dict:
        return self.send(self.contract.functions.update_endpoint(node_id, endpoint))

    def subscribe(self, pro_pubkey: bytes, expiry: int, plan_id: int = 1) -> dict:
        sub = (pro_pubkey, self.sender, plan_id, self.sender, 10**9, expiry)
        return self.send(self.contract.functions.subscribe(sub))

    def grant(self, pro_pubkey: bytes, receipt_id: bytes, duration: int, expiry: int) -> dict:
        return self.send(self.contract.functions.grant(pro_pubkey, receipt_id, duration, expiry))

    def revoke(self, pro_pubkey: bytes, receipt_id: bytes, expiry: int) -> dict:
        return self.send(self.contract.functions.revoke(pro_pubkey, receipt_id, expiry))

    def emit_raw(self, topics: list[bytes], data: bytes) -> dict:
        return self.send(self.contract.functions.emit_raw(topics, data))

    # ----- many per transaction

    def register_many(self, node_ids: list[int], activate: bool = True) -> None:
        for i in range(0, len(node_ids), BATCH):
            chunk = [registration(n, self.operator(n)) for n in node_ids[i : i + BATCH]]
            self.send(self.contract.functions.register_many(chunk, activate))

    def activate_many(self, node_ids: list[int]) -> None:
        for i in range(0, len(node_ids), 250):
            self.send(self.contract.functions.activate_many(node_ids[i : i + 250]))

    def exit_many(self, node_ids: list[int], reason: int = 0) -> None:
        for i in range(0, len(node_ids), 250):
            self.send(self.contract.functions.exit_many(node_ids[i : i + 250], reason))

    def contribute_many(self, contributions: list[tuple[int, str, int, int]]) -> None:
        for i in range(0, len(contributions), 200):
            self.send(self.contract.functions.contribute_many(contributions[i : i + 200]))

    def claim_many(self, claims: list[tuple[int, str, int, int]]) -> None:
        for i in range(0, len(claims), 250):
            self.send(self.contract.functions.claim_many(claims[i : i + 250]))

    def distribute(self, amount: int, active_nodes: int) -> dict:
        return self.send(
            self.contract.functions.distribute(amount, active_nodes, amount // max(active_nodes, 1))
        )

    def subscribe_many(self, pubkeys: list[bytes], expiry: int) -> None:
        subs = [(pk, self.sender, 1, self.sender, 10**9, expiry) for pk in pubkeys]
        for i in range(0, len(subs), 200):
            self.send(self.contract.functions.subscribe_many(subs[i : i + 200]))

    def events_emitted(self) -> int:
        return self.contract.functions.events_emitted().call()

    def mine(self, blocks: int = 1) -> None:
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])
