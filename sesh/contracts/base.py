"""What every wrapper shares: one error type carrying the contract's reason, and
transactions that can be described, simulated or sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Extra words for reasons whose fix is not obvious from the reason alone.
HINTS = {
    "price_feed: answer is stale": "the SESH/USD price feed has not updated within its "
    "heartbeat; try again once it has",
    "price_feed: sequencer down": "Arbitrum's sequencer is down; prices are refused until "
    "it is back",
    "price_feed: sequencer back up less than an hour ago": "prices are refused for an hour "
    "after the sequencer comes back",
}


class ContractError(Exception):
    """A call or transaction the contracts refuse, or would refuse; `reason` is the
    contract's revert reason (``"staking: node not open"``) or the SDK's own check."""

    def __init__(self, reason: str):
        hint = HINTS.get(reason)
        super().__init__(f"{reason} ({hint})" if hint else reason)
        self.reason = reason


def reason_of(exc: Exception) -> str:
    """The one-line reason of an Ape/web3 error: the revert string when there is one."""
    message = getattr(exc, "revert_message", None) or getattr(exc, "message", None)
    text = str(message or exc or type(exc).__name__)
    return " ".join(text.split())


@contextmanager
def reverts_as_errors() -> Iterator[None]:
    """Turn a revert (of a call, an estimate or a transaction) into `ContractError`."""
    from ape.exceptions import ContractLogicError, VirtualMachineError

    try:
        yield
    except (ContractLogicError, VirtualMachineError) as exc:
        raise ContractError(reason_of(exc)) from None


@dataclass
class Tx:
    """One transaction to send: `contract.method(*args)` from `sender`."""

    contract: Any
    method: str
    args: tuple[Any, ...]
    sender: Any
    # Human lines printed with a dry run (amounts in SESH, what a permit covers ...).
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, str]:
        """The transaction as a dry run prints it."""
        handler = getattr(self.contract, self.method)
        txn = handler.as_transaction(*self.args, sender=self.sender)
        return {
            "from": str(self.sender.address),
            "to": f"{self.contract.address} ({self.contract.contract_type.name})",
            "call": f"{self.method}({', '.join(_show(a) for a in self.args)})",
            "data": "0x" + bytes(txn.data).hex(),
        }

    def simulate(self) -> Any:
        """The call's result, run against the current state without sending; raises
        `ContractError` with the reason the transaction would revert with."""
        handler = getattr(self.contract, self.method)
        with reverts_as_errors():
            return handler.call(*self.args, sender=self.sender)

    def send(self) -> Any:
        """Send and wait for the receipt; raises `ContractError` on a revert."""
        self.simulate()
        handler = getattr(self.contract, self.method)
        with reverts_as_errors():
            return handler(*self.args, sender=self.sender)


def _show(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        return "0x" + (data.hex() if len(data) <= 40 else f"{data[:20].hex()}…({len(data)} bytes)")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value) if not value.startswith("0x") else value
    return str(value)
