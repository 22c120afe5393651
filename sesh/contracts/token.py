"""SESH: balances and allowances in `Decimal` SESH, transfers, and paying a contract with
an allowance already given or else with an EIP-2612 permit (one transaction)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sesh.contracts.base import ContractError, Tx
from sesh.contracts.inputs import check_address
from sesh.contracts.permit import PermitSignature, sign_permit
from sesh.rules.units import format_sesh, from_units, to_units

# A permit's validity: long enough for a slow wallet, short enough to be useless later.
PERMIT_LIFETIME = 3600


class Token:
    def __init__(self, contract: Any):
        self.contract = contract
        # Told each permit's fields before it is signed (the CLI prints them, so the
        # wallet's prompt is never the first a user sees of it).
        self.on_permit: Callable[[str], None] | None = None

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def balance_units(self, account: Any) -> int:
        return int(self.contract.balanceOf(account))

    def balance(self, account: Any) -> Decimal:
        return from_units(self.balance_units(account))

    def allowance(self, owner: Any, spender: Any) -> Decimal:
        return from_units(int(self.contract.allowance(owner, spender)))

    def transfer(self, to: str, amount: Decimal | str | int, sender: Any) -> Tx:
        to = check_address(str(to), "recipient")
        units = to_units(amount)
        self.require_balance(sender, units, "send")
        return Tx(self.contract, "transfer", (to, units), sender)

    def approve(self, spender: str, amount: Decimal | str | int, sender: Any) -> Tx:
        spender = check_address(str(spender), "spender")
        return Tx(self.contract, "approve", (spender, to_units(amount)), sender)

    def require_balance(self, account: Any, units: int, purpose: str) -> None:
        """Refuse, before anything is signed, to spend more SESH than `account` holds."""
        held = self.balance_units(account)
        if held < units:
            raise ContractError(
                f"insufficient balance: {account.address} holds {format_sesh(held)}, "
                f"and {purpose} needs {format_sesh(units)}"
            )

    def payment(self, payer: Any, spender: str, units: int, purpose: str) -> PermitSignature | None:
        """How `payer` pays `units` to `spender`: None if the allowance already covers it,
        else a fresh permit for exactly that amount (for the `*_with_permit` function)."""
        from ape import chain

        self.require_balance(payer, units, purpose)
        if int(self.contract.allowance(payer, spender)) >= units:
            return None
        # The chain's clock, not this machine's: a devnet's clock may run ahead.
        now = max(chain.blocks.head.timestamp, chain.pending_timestamp)
        deadline = now + PERMIT_LIFETIME
        if self.on_permit is not None:
            self.on_permit(describe_permit(spender, units, deadline, purpose))
        return sign_permit(payer, self.contract, spender, units, deadline)


def describe_permit(spender: str, units: int, deadline: int, purpose: str) -> str:
    """A permit as its signer should read it: who may pull how much, until when."""
    from datetime import UTC, datetime

    until = datetime.fromtimestamp(deadline, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"permit to sign (EIP-2612, for {purpose}): spender {spender}, amount "
        f"{format_sesh(units)} ({units} base units), deadline {until}"
    )
