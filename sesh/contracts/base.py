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


ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
# Gas limit = the node's estimate plus a quarter.
GAS_MARGIN_PERCENT = 125


def decode_revert(data: Any) -> str | None:
    """The reason string of `Error(string)` revert data, or None."""
    from eth_abi import decode

    if isinstance(data, str):
        try:
            data = bytes.fromhex(data.removeprefix("0x"))
        except ValueError:
            return None
    if not isinstance(data, (bytes, bytearray)) or bytes(data[:4]) != ERROR_SELECTOR:
        return None
    try:
        return decode(["string"], bytes(data[4:]))[0]
    except Exception:  # malformed revert data: no reason to show
        return None


def reason_of(exc: Exception) -> str:
    """The one-line reason of an Ape/web3 error: the contract's whole revert string
    (Ape keeps only what follows the last colon, dropping "staking:")."""
    for error in (exc, getattr(exc, "base_err", None)):
        if error is None:
            continue
        reason = decode_revert(getattr(error, "data", None))
        if reason:
            return " ".join(reason.split())
        message = getattr(error, "message", None)
        if isinstance(message, str) and message.startswith("execution reverted: "):
            return " ".join(message.removeprefix("execution reverted: ").split())
    message = getattr(exc, "revert_message", None) or str(exc) or "reverted without a reason"
    return " ".join(str(message).split())


def view(contract: Any, method: str, *args: Any) -> Any:
    """`contract.method(*args)`, a view that may revert (prices read from oracles): the
    refusal is a `ContractError` with the contract's whole reason."""
    from sesh.contracts.rpc import RpcContract, web3_of

    handler = getattr(contract, method)
    if isinstance(contract, RpcContract):
        return handler(*args)  # refusals are already `ContractError`s
    from ape.exceptions import ContractLogicError, VirtualMachineError
    from web3.exceptions import ContractLogicError as Web3Revert

    try:
        return handler(*args)
    except (ContractLogicError, VirtualMachineError) as exc:
        data = "0x" + bytes(handler.encode_input(*args)).hex()
        try:
            web3_of(contract).eth.call({"to": str(contract.address), "data": data})
        except Web3Revert as raw:
            raise ContractError(reason_of(raw)) from None
        raise ContractError(reason_of(exc)) from None


def indexed_ids(contract: Any, event: str, from_block: int, topics: list[Any] | None = None):
    """The first indexed argument (an id) of every `event` log of `contract` since
    `from_block`; `topics` filter the next indexed arguments."""
    from eth_utils import keccak

    from sesh.contracts.rpc import web3_of

    [abi] = [e for e in contract.contract_type.events if e.name == event]
    selector = "0x" + keccak(text=abi.selector).hex()
    logs = web3_of(contract).eth.get_logs(
        {
            "address": str(contract.address),
            "fromBlock": from_block,
            "toBlock": "latest",
            "topics": [selector, None, *(topics or [])],
        }
    )
    return sorted({int.from_bytes(bytes(log["topics"][1]), "big") for log in logs})


@contextmanager
def reverts_as_errors() -> Iterator[None]:
    """Turn a revert (of a call, an estimate or a transaction) into `ContractError`."""
    from ape.exceptions import ContractLogicError, VirtualMachineError

    try:
        yield
    except (ContractLogicError, VirtualMachineError) as exc:
        raise ContractError(reason_of(exc)) from None


# Arguments that are SESH amounts (in base units on chain): shown in SESH with the units.
AMOUNT_ARGUMENTS = frozenset({"amount", "operator_stake", "value", "max_cost", "max_amount"})
WEI_PER_ETH = 10**18


@dataclass(frozen=True)
class Cost:
    """A transaction's gas limit and what it may cost at the current gas price."""

    gas: int
    gas_price: int
    balance: int

    @property
    def max_wei(self) -> int:
        return self.gas * self.gas_price

    def describe(self) -> str:
        return (
            f"gas limit {self.gas:,} at {self.gas_price / 10**9:.4g} gwei: at most "
            f"{_eth(self.max_wei)} (the sender holds {_eth(self.balance)})"
        )


def _eth(wei: int) -> str:
    return f"{wei / WEI_PER_ETH:.8f}".rstrip("0").rstrip(".") + " ETH"


@dataclass
class Tx:
    """One transaction to send: `contract.method(*args)` from `sender`."""

    contract: Any
    method: str
    args: tuple[Any, ...]
    sender: Any
    # Human lines printed with a dry run (amounts in SESH, what a permit covers ...).
    notes: list[str] = field(default_factory=list)

    def data(self) -> bytes:
        return bytes(getattr(self.contract, self.method).encode_input(*self.args))

    def describe(self) -> dict[str, str]:
        """The transaction as a dry run prints it: arguments by name, amounts in SESH."""
        try:
            methods = self.contract.contract_type.mutable_methods
            [abi] = [a for a in methods if a.name == self.method]
            names = [i.name or "" for i in abi.inputs]
        except ValueError:  # overloaded: positions only
            names = [""] * len(self.args)
        shown = ", ".join(
            f"{name}={_show(arg, name)}" if name else _show(arg)
            for name, arg in zip(names, self.args, strict=False)
        )
        return {
            "from": str(self.sender.address),
            "to": f"{self.contract.address} ({self.contract.contract_type.name})",
            "call": f"{self.method}({shown})",
            "data": "0x" + self.data().hex(),
        }

    def cost(self) -> Cost:
        """The gas limit, the price and the sender's ETH; refuses (`ContractError`) when the
        sender cannot pay the gas, before anything is signed or sent."""
        from ape import chain

        gas = self.gas_limit()
        price = int(chain.provider.gas_price)
        balance = int(chain.provider.get_balance(self.sender.address))
        cost = Cost(gas, price, balance)
        if balance < cost.max_wei:
            raise ContractError(
                f"insufficient ETH for gas: {self.sender.address} holds {_eth(balance)}, the "
                f"transaction may cost {_eth(cost.max_wei)} ({cost.gas:,} gas)"
            )
        return cost

    def _call(self) -> dict[str, str]:
        return {
            "from": str(self.sender.address),
            "to": str(self.contract.address),
            "data": "0x" + self.data().hex(),
        }

    def simulate(self) -> bytes:
        """Run the transaction against the current state without sending it (eth_call);
        raises `ContractError` with the reason it would revert with."""
        from ape import chain
        from web3.exceptions import ContractLogicError as Web3Revert

        try:
            return bytes(chain.provider.web3.eth.call(self._call()))
        except Web3Revert as exc:
            raise ContractError(reason_of(exc)) from None

    def gas_limit(self) -> int:
        """The node's estimate plus a margin: estimates ignore the 63/64 rule of calls
        that forward gas (the pool's release, token pulls) and can fall just short."""
        from ape import chain
        from web3.exceptions import ContractLogicError as Web3Revert

        try:
            estimate = chain.provider.web3.eth.estimate_gas(self._call())
        except Web3Revert as exc:
            raise ContractError(reason_of(exc)) from None
        return estimate * GAS_MARGIN_PERCENT // 100

    def send(self, gas: int | None = None) -> Any:
        """Send and wait for the receipt; raises `ContractError` on a revert. Without a
        `gas` limit, simulates and estimates first."""
        if gas is None:
            self.simulate()
            gas = self.gas_limit()
        handler = getattr(self.contract, self.method)
        with reverts_as_errors():
            return handler(*self.args, sender=self.sender, gas=gas)


class Wrapper:
    """A typed wrapper over one deployed contract that takes payments in SESH."""

    def __init__(self, contract: Any, token: Any):
        self.contract = contract
        self.token = token

    @property
    def address(self) -> str:
        return str(self.contract.address)


def _show(value: Any, name: str = "") -> str:
    if name in AMOUNT_ARGUMENTS and isinstance(value, int):
        from sesh.rules.units import format_sesh

        return f"{format_sesh(value)} ({value} base units)"
    if name == "deadline" and isinstance(value, int):
        from datetime import UTC, datetime

        return f"{datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC"
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        return "0x" + (data.hex() if len(data) <= 40 else f"{data[:20].hex()}…({len(data)} bytes)")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value) if not value.startswith("0x") else value
    return str(value)
