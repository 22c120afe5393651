"""The move from the old chain: the token converter, the Merkle claims and the vesting
allocations that stake (docs/migration.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sesh.contracts.base import ContractError, Tx, Wrapper
from sesh.rules.units import from_units


class Converter(Wrapper):
    """TokenConverter: old token in, SESH out at the fixed rate."""

    def old_token(self) -> str:
        return str(self.contract.OLD_TOKEN())

    def rate(self) -> tuple[int, int]:
        return int(self.contract.RATE_NUMERATOR()), int(self.contract.RATE_DENOMINATOR())

    def preview(self, old_units: int) -> tuple[int, int]:
        """(old units taken, SESH units paid) for `old_units` offered."""
        taken, paid = self.contract.preview(old_units)
        return int(taken), int(paid)

    def available(self) -> Decimal:
        return from_units(int(self.contract.available()))

    def convert(self, old_units: int, receiver: str, sender: Any) -> Tx:
        taken, paid = self.preview(old_units)
        if paid == 0:
            raise ContractError("converter: amount too small")
        tx = Tx(self.contract, "convert", (old_units, receiver), sender)
        tx.notes.append(f"takes {taken} old units, pays {from_units(paid)} SESH to {receiver}")
        return tx


class MerkleClaims(Wrapper):
    """MerkleClaim: the snapshot of the old chain's balances, claimed with proofs."""

    def is_claimed(self, index: int) -> bool:
        return bool(self.contract.is_claimed(index))

    def root(self) -> bytes:
        return bytes(self.contract.MERKLE_ROOT())

    def deadline(self) -> int:
        return int(self.contract.DEADLINE())

    def fund(self, sender: Any) -> Tx:
        return Tx(self.contract, "fund", (), sender)

    def claim(self, entry: dict[str, Any], sender: Any) -> Tx:
        """`entry`: one item of the proofs file `sesh migrate tokens build` writes."""
        proof = [bytes.fromhex(p.removeprefix("0x")) for p in entry["proof"]]
        args = (
            int(entry["index"]),
            bytes.fromhex(entry["old_account"].removeprefix("0x")),
            entry["claimant"],
            int(entry["amount"]),
            proof,
        )
        tx = Tx(self.contract, "claim", args, sender)
        tx.notes.append(f"pays {from_units(int(entry['amount']))} SESH to {entry['claimant']}")
        return tx

    def sweep(self, sender: Any) -> Tx:
        return Tx(self.contract, "sweep", (), sender)


@dataclass(frozen=True)
class VestingState:
    address: str
    beneficiary: str
    revoker: str
    start: int
    cliff: int
    end: int
    transferable: bool
    total: int
    vested: int
    released: int
    releasable: int
    staked: int
    on_hand: int
    rewards_paid: int
    revoked_at: int


class Vesting(Wrapper):
    """One VestingStaking allocation."""

    def state(self) -> VestingState:
        c = self.contract
        return VestingState(
            address=self.address,
            beneficiary=str(c.beneficiary()),
            revoker=str(c.revoker()),
            start=int(c.START()),
            cliff=int(c.CLIFF()),
            end=int(c.END()),
            transferable=bool(c.TRANSFERABLE()),
            total=int(c.total_allocation()),
            vested=int(c.vested()),
            released=int(c.released()),
            releasable=int(c.releasable()),
            staked=int(c.staked()),
            on_hand=int(self.token.balanceOf(c)),
            rewards_paid=int(c.rewards_paid()),
            revoked_at=int(c.revoked_at()),
        )

    def release(self, sender: Any) -> Tx:
        return Tx(self.contract, "release", (), sender)

    def register_node(self, registration: tuple, endpoint: str, fee_bps: int, stake: int, sender):
        """`registration`: (ed25519_pubkey, ed25519_sig, bls_pubkey, bls_pop), the proof of
        possession made for this vesting contract as the operator."""
        args = (*registration, endpoint, fee_bps, stake, [])
        return Tx(self.contract, "register_node", args, sender)

    def contribute(self, node_id: int, amount: int, sender: Any) -> Tx:
        return Tx(self.contract, "contribute", (node_id, amount), sender)

    def withdraw_contribution(self, node_id: int, sender: Any) -> Tx:
        return Tx(self.contract, "withdraw_contribution", (node_id,), sender)

    def request_exit(self, node_id: int, sender: Any) -> Tx:
        return Tx(self.contract, "request_exit", (node_id,), sender)

    def claim(self, node_id: int, sender: Any) -> Tx:
        return Tx(self.contract, "claim", (node_id,), sender)

    def revoke(self, sender: Any) -> Tx:
        return Tx(self.contract, "revoke", (), sender)

    def recover(self, sender: Any) -> Tx:
        return Tx(self.contract, "recover", (), sender)


class VestingFactory(Wrapper):
    """VestingFactory: makes and funds allocations; knows which are genuine."""

    def is_vesting(self, address: str) -> bool:
        return bool(self.contract.is_vesting(address))

    def create(self, beneficiary, revoker, start, cliff, end, transferable, amount, sender) -> Tx:
        args = (beneficiary, revoker, start, cliff, end, transferable, amount)
        return Tx(self.contract, "create_vesting", args, sender)
