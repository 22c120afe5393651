"""Service-node staking: registration from node keys, contributions, exits, rewards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from sesh.contracts.base import ContractError, Tx, Wrapper, indexed_ids
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


class Staking(Wrapper):
    """ServiceNodeStaking: views unpacked, transactions as `Tx`."""

    # ----------------------------------------------------------------- views

    def requirement(self) -> Decimal:
        return from_units(int(self.contract.staking_requirement()))

    def node(self, node_id: int) -> NodeInfo:
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
        slots = [(account, to_units(amount)) for account, amount in reserved]
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

    def contribute(self, node_id: int, amount: Decimal | str | int, contributor: Any) -> Tx:
        units = to_units(amount)
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
        return Tx(self.contract, "set_endpoint", (node_id, endpoint), operator)

    def distribute(self, sender: Any) -> Tx:
        return Tx(self.contract, "distribute", (), sender)

    def claim(self, node_ids: list[int], sender: Any) -> Tx:
        if len(node_ids) == 1:
            return Tx(self.contract, "claim", (node_ids[0],), sender)
        return Tx(self.contract, "claim_many", (list(node_ids),), sender)
