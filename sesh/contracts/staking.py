"""Service-node staking: registration from node keys, contributions, exits, rewards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from sesh.contracts.base import ContractError, Tx, Wrapper, indexed_ids
from sesh.contracts.inputs import check_address, check_endpoint, check_node_id, is_local_chain
from sesh.crypto.node_keys import NodeKeys
from sesh.rules.units import format_sesh, from_units, to_units

BPS = 10_000
MAX_RESERVATIONS = 9


class NodeStatus(IntEnum):
    NONE = 0
    OPEN = 1
    ACTIVE = 2
    EXITING = 3
    EXITED = 4
    CANCELLED = 5


EXIT_REASONS = {
    0: "exit finalized",
    1: "network exit",
    2: "removed",
    3: "liquidated",
    4: "cancelled",
}


@dataclass(frozen=True)
class Contributor:
    account: str
    stake: Decimal
    reserved: Decimal
    contributed_at: int


@dataclass(frozen=True)
class NodeInfo:
    node_id: int
    operator: str
    status: NodeStatus
    fee_bps: int
    exit_reason: int
    requirement: Decimal
    total_stake: Decimal
    contributors: int
    activated_at: int
    exit_requested_at: int
    unlock_time: int
    accrued_rewards: Decimal


@dataclass(frozen=True)
class Registration:
    """One `NodeRegistered` event: the keys a node id was registered with."""

    node_id: int
    operator: str
    ed25519_pubkey: bytes
    bls_pubkey: bytes
    endpoint: str


class Staking(Wrapper):
    """ServiceNodeStaking: views unpacked, transactions as `Tx`."""

    # ----------------------------------------------------------------- views

    def requirement(self) -> Decimal:
        return from_units(int(self.contract.staking_requirement()))

    def node(self, node_id: int) -> NodeInfo:
        check_node_id(node_id)
        view = self.contract.node(node_id)
        if int(view.status) == NodeStatus.NONE:
            raise ContractError(f"staking: unknown node {node_id}")
        return NodeInfo(
            node_id=node_id,
            operator=str(view.operator),
            status=NodeStatus(int(view.status)),
            fee_bps=int(view.fee_bps),
            exit_reason=int(view.exit_reason),
            requirement=from_units(int(view.requirement)),
            total_stake=from_units(int(view.total_stake)),
            contributors=int(view.contributors),
            activated_at=int(view.activated_at),
            exit_requested_at=int(view.exit_requested_at),
            unlock_time=int(view.unlock_time),
            accrued_rewards=from_units(int(view.accrued_rewards)),
        )

    def contributors(self, node_id: int) -> list[Contributor]:
        result = []
        for account in self.contract.contributors(node_id):
            part = self.contract.contribution(node_id, account)
            result.append(
                Contributor(
                    account=str(account),
                    stake=from_units(int(part.stake)),
                    reserved=from_units(int(part.reserved)),
                    contributed_at=int(part.contributed_at),
                )
            )
        return result

    def claimable(self, node_id: int, account: Any) -> tuple[Decimal, Decimal]:
        """(rewards, stake) `claim(node_id)` would pay `account` now."""
        rewards, stake = self.contract.claimable(node_id, account)
        return from_units(int(rewards)), from_units(int(stake))

    def min_contribution(self, node_id: int) -> Decimal:
        return from_units(int(self.contract.min_contribution(node_id)))

    def registrations(self, from_block: int = 0) -> list[Registration]:
        """Every node ever registered, in id order (from the `NodeRegistered` events),
        decoded with the bridge's event ABI (sesh.rules.events): one eth_getLogs, without
        Ape's query machinery, which costs seconds per command."""
        from sesh.contracts.rpc import web3_of
        from sesh.rules.events import EVENTS_BY_NAME, RawLog, decode_log

        spec = EVENTS_BY_NAME["NodeRegistered"]
        logs = web3_of(self.contract).eth.get_logs(
            {
                "address": self.address,
                "fromBlock": from_block,
                "toBlock": "latest",
                "topics": ["0x" + spec.topic0.hex()],
            }
        )
        found = []
        for log in logs:
            event = decode_log(
                RawLog(
                    address=str(log["address"]),
                    topics=tuple("0x" + bytes(t).hex() for t in log["topics"]),
                    data=bytes(log["data"]),
                    block_number=int(log["blockNumber"]),
                    block_hash=bytes(log["blockHash"]),
                    transaction_hash=bytes(log["transactionHash"]),
                    log_index=int(log["logIndex"]),
                )
            )
            args = event.args
            found.append(
                Registration(
                    node_id=int(args["node_id"]),
                    operator=str(args["operator"]),
                    ed25519_pubkey=bytes(args["ed25519_pubkey"]),
                    bls_pubkey=bytes(args["bls_pubkey"]),
                    endpoint=str(args["endpoint"]),
                )
            )
        return sorted(found, key=lambda r: r.node_id)

    def key_holders(self, ed25519: bytes, bls: bytes, from_block: int = 0) -> list[str]:
        """The nodes on chain holding either key (`bls` in EIP-2537 form), one line each
        ("node 14 has this Ed25519 key"). Bridges keep a second node with a held Ed25519
        key out of every swarm."""
        held = []
        for registration in self.registrations(from_block):
            if registration.ed25519_pubkey == ed25519:
                held.append(f"node {registration.node_id} has this Ed25519 key")
            if registration.bls_pubkey == bls:
                held.append(f"node {registration.node_id} has this BLS key")
        return held

    def nodes_of(self, account: Any, from_block: int = 0) -> list[int]:
        """Ids of the nodes `account` ever staked in (its `Contributed` events)."""
        address = str(getattr(account, "address", account))
        topic = "0x" + bytes(12).hex() + address[2:].lower()
        return indexed_ids(self.contract, "Contributed", from_block, [topic])

    # ---------------------------------------------------------- transactions

    def register(
        self,
        keys: NodeKeys,
        endpoint: str,
        fee_bps: int,
        stake: Decimal | str | int,
        operator: Any,
        reserved: list[tuple[str, Decimal]] = (),  # type: ignore[assignment]
    ) -> Tx:
        """`register_node` (or its permit twin when the allowance is short) with the Ed25519
        signature and BLS proof of possession built from `keys`."""
        from ape import chain

        endpoint = check_endpoint(endpoint, is_local_chain(chain.chain_id))
        if not 0 <= fee_bps <= BPS:
            raise ContractError("staking: fee above 100 %")
        if len(reserved) > MAX_RESERVATIONS:
            raise ContractError(f"at most {MAX_RESERVATIONS} reserved slots")
        units = to_units(stake)
        requirement = int(self.contract.staking_requirement())
        if units * 4 < requirement:
            raise ContractError(
                f"staking: operator stake < 25% (the requirement is {format_sesh(requirement)}, "
                f"so at least {format_sesh(-(-requirement // 4))})"
            )
        slots = [
            (check_address(str(account), "reserved address"), to_units(amount))
            for account, amount in reserved
        ]
        args = (
            *keys.registration_args(chain.chain_id, self.address, str(operator.address)),
            endpoint,
            fee_bps,
            units,
            slots,
        )
        permit = self.token.payment(operator, self.address, units, "the operator stake")
        if permit is None:
            return Tx(self.contract, "register_node", args, operator)
        return Tx(
            self.contract,
            "register_node_with_permit",
            (*args, *permit.as_args()),
            operator,
            [f"permit: the staking contract may pull {format_sesh(units)}"],
        )

    def check_contribution(self, node_id: int, units: int, contributor: Any) -> None:
        """The contract's refusals of `contribute`, with the numbers that explain them, before
        anything is signed (the transaction is simulated too, so this is an explanation,
        not the only guard)."""
        info = self.node(node_id)
        if info.status != NodeStatus.OPEN:
            raise ContractError(
                f"staking: node not open (node {node_id} is {info.status.name.lower()})"
            )
        if units == 0:
            raise ContractError("staking: zero amount")
        who = str(getattr(contributor, "address", contributor))
        parts = self.contributors(node_id)
        outstanding = sum(to_units(c.reserved) for c in parts if c.reserved and not c.stake)
        left = to_units(info.requirement) - to_units(info.total_stake) - outstanding
        mine = next((c for c in parts if c.account == who), None)
        if mine is not None and mine.reserved and not mine.stake:
            if units < to_units(mine.reserved):
                raise ContractError(
                    f"staking: below reserved amount: {format_sesh(to_units(mine.reserved))} "
                    f"is reserved for {who}"
                )
            units -= to_units(mine.reserved)
        elif mine is None:
            minimum = to_units(self.min_contribution(node_id))
            if units < minimum:
                raise ContractError(f"staking: below min contribution: {format_sesh(minimum)}")
        if units > left:
            raise ContractError(f"staking: above what is left: {format_sesh(max(left, 0))}")

    def contribute(self, node_id: int, amount: Decimal | str | int, contributor: Any) -> Tx:
        check_node_id(node_id)
        units = to_units(amount)
        self.check_contribution(node_id, units, contributor)
        permit = self.token.payment(contributor, self.address, units, "the contribution")
        if permit is None:
            return Tx(self.contract, "contribute", (node_id, units), contributor)
        return Tx(
            self.contract,
            "contribute_with_permit",
            (node_id, units, *permit.as_args()),
            contributor,
            [f"permit: the staking contract may pull {format_sesh(units)}"],
        )

    def withdraw(self, node_id: int, contributor: Any) -> Tx:
        return Tx(self.contract, "withdraw_contribution", (node_id,), contributor)

    def cancel(self, node_id: int, operator: Any) -> Tx:
        return Tx(self.contract, "cancel_node", (node_id,), operator)

    def request_exit(self, node_id: int, sender: Any) -> Tx:
        return Tx(self.contract, "request_exit", (node_id,), sender)

    def finalize_exit(self, node_id: int, sender: Any) -> Tx:
        return Tx(self.contract, "finalize_exit", (node_id,), sender)

    def set_endpoint(self, node_id: int, endpoint: str, operator: Any) -> Tx:
        from ape import chain

        check_node_id(node_id)
        endpoint = check_endpoint(endpoint, is_local_chain(chain.chain_id))
        return Tx(self.contract, "set_endpoint", (node_id, endpoint), operator)

    def distribute(self, sender: Any) -> Tx:
        return Tx(self.contract, "distribute", (), sender)

    def claim(self, node_ids: list[int], sender: Any) -> Tx:
        if len(node_ids) == 1:
            return Tx(self.contract, "claim", (node_ids[0],), sender)
        return Tx(self.contract, "claim_many", (list(node_ids),), sender)
