"""What the votes need from the chain beyond the events: the chain's clock, the staking
contract's view of a node, simulations, and sending the network-signed transactions —
over the bridge's own RPC pool (failover included), without Ape.

Senders (`votes.submitter` in node.toml):

- `unlocked`: an account the RPC node holds unlocked (anvil's test accounts), sent with
  `eth_sendTransaction`. Dev chains only.
- `ape`: an Ape account (`ape accounts import <alias>`): its encrypted keyfile
  (`$APE_DATA_FOLDER/accounts/<alias>.json`, `~/.ape` by default) is opened with the
  passphrase from an environment variable, and transactions are signed here and sent with
  `eth_sendRawTransaction`. The key stays in memory; it is never logged or printed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from sesh.node.chain.rpc import RpcError, RpcPool, parse_quantity
from sesh.node.config import SubmitterConfig
from sesh.node.votes.rules import CONTRACT_FUNCTIONS

log = logging.getLogger("sesh.node.votes.chain_tx")

# Gas limit = the estimate plus a quarter (estimates ignore the 63/64 rule of calls).
GAS_MARGIN_PERCENT = 125
RECEIPT_POLL = 0.25
STATUS_NAMES = {0: "none", 1: "open", 2: "active", 3: "exiting", 4: "exited", 5: "cancelled"}
# The ABI type of `node(uint64)`'s answer (the NodeView struct).
NODE_VIEW_TYPE = "(address,uint8,uint16,uint8,uint256,uint256,uint256,uint256,uint256,uint256,uint16,uint256,bytes)"  # noqa: E501
_ERROR_SELECTOR = bytes.fromhex("08c379a0")


class ChainTxError(Exception):
    """A chain call or transaction of the votes failed; the message says why."""


class Refused(ChainTxError):
    """The contract refuses the call; `reason` is its revert reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def action_calldata(
    action: str, node_id: int, timestamp: int, signature: bytes, non_signers: list[int]
) -> bytes:
    """`<action>_with_signature(node_id, timestamp, signature, non_signers)` calldata."""
    name = CONTRACT_FUNCTIONS[action]
    return selector(f"{name}(uint64,uint256,bytes,uint64[])") + abi_encode(
        ["uint64", "uint256", "bytes", "uint64[]"], [node_id, timestamp, signature, non_signers]
    )


def revert_reason(error: Any) -> str:
    """The reason string of a JSON-RPC error answer for a reverted call."""
    if isinstance(error, dict):
        data = error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            raw = bytes.fromhex(data[2:])
            if raw[:4] == _ERROR_SELECTOR:
                try:
                    return abi_decode(["string"], raw[4:])[0]
                except Exception:  # malformed revert data: fall back to the message  # noqa: BLE001
                    pass
        message = str(error.get("message", error))
        return message.removeprefix("execution reverted: ").removeprefix("execution reverted")
    return str(error)


@dataclass(frozen=True)
class NodeOnChain:
    status: str
    activated_at: int
    exit_requested_at: int


class ChainClock:
    """The chain's time as this node estimates it: the latest block's timestamp carried
    forward by this machine's clock, but never behind this machine's clock (an idle dev
    chain's last block may be old; a dev chain whose time was advanced runs ahead)."""

    def __init__(self, pool: RpcPool, wall: Callable[[], float] = time.time):
        self.pool = pool
        self.wall = wall
        self._block_time: int | None = None
        self._seen_at = 0.0

    async def refresh(self) -> int:
        block = await self.pool.call(
            "eth_getBlockByNumber", ["latest", False], lambda b: parse_quantity(b["timestamp"])
        )
        self._block_time, self._seen_at = block, self.wall()
        return self.now()

    def now(self) -> int:
        wall = self.wall()
        if self._block_time is None:
            return int(wall)
        return int(max(wall, self._block_time + (wall - self._seen_at)))


class Sender(Protocol):
    address: str

    async def send(self, chain: StakingChain, data: bytes, gas: int) -> str: ...


class StakingChain:
    """The staking contract, read and written through the bridge's RPC pool."""

    def __init__(self, pool: RpcPool, staking: str, chain_id: int):
        self.pool = pool
        self.staking = to_checksum_address(staking)
        self.chain_id = chain_id

    async def _call(self, data: bytes, block: str = "latest", sender: str | None = None) -> bytes:
        params: dict[str, Any] = {"to": self.staking, "data": "0x" + data.hex()}
        if sender:
            params["from"] = sender
        try:
            result = await self.pool.call(
                "eth_call", [params, block], _parse_bytes, return_error_answers=True
            )
        except RpcError as exc:
            raise Refused(revert_reason(exc.error)) from None
        return result

    async def node(self, node_id: int, block: str = "latest") -> NodeOnChain:
        raw = await self._call(selector("node(uint64)") + abi_encode(["uint64"], [node_id]), block)
        (view,) = abi_decode([NODE_VIEW_TYPE], raw)
        return NodeOnChain(STATUS_NAMES.get(view[1], str(view[1])), view[7], view[8])

    async def active_nodes(self, block: str = "latest") -> int:
        raw = await self._call(selector("active_nodes()"), block)
        return abi_decode(["uint256"], raw)[0]

    async def simulate(self, sender: str, data: bytes) -> None:
        """Run `data` against the pending state (transactions already sent included);
        raises `Refused` with the contract's reason."""
        await self._call(data, "pending", sender)

    async def estimate_gas(self, sender: str, data: bytes) -> int:
        params = {"from": sender, "to": self.staking, "data": "0x" + data.hex()}
        try:
            gas = await self.pool.call(
                "eth_estimateGas", [params], parse_quantity, return_error_answers=True
            )
        except RpcError as exc:
            raise Refused(revert_reason(exc.error)) from None
        return gas * GAS_MARGIN_PERCENT // 100

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        return await self.pool.call("eth_getTransactionReceipt", [tx_hash], _parse_receipt)

    async def wait_receipt(self, tx_hash: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            receipt = await self.receipt(tx_hash)
            if receipt is not None or time.monotonic() > deadline:
                return receipt
            await asyncio.sleep(RECEIPT_POLL)


class UnlockedSender:
    """An account unlocked on the RPC node (dev chains): `eth_sendTransaction`."""

    def __init__(self, address: str):
        self.address = to_checksum_address(address)

    async def send(self, chain: StakingChain, data: bytes, gas: int) -> str:
        tx = {"from": self.address, "to": chain.staking, "data": "0x" + data.hex(), "gas": hex(gas)}
        try:
            return await chain.pool.call(
                "eth_sendTransaction", [tx], _parse_hash, return_error_answers=True
            )
        except RpcError as exc:
            raise ChainTxError(f"eth_sendTransaction refused: {revert_reason(exc.error)}") from None


class KeySender:
    """An account whose key this process holds (an opened Ape keyfile): EIP-1559
    transactions signed here, sent with `eth_sendRawTransaction`."""

    def __init__(self, account: Any):
        self._account = account
        self.address = to_checksum_address(account.address)

    def __repr__(self) -> str:
        return f"KeySender({self.address})"

    async def send(self, chain: StakingChain, data: bytes, gas: int) -> str:
        pool = chain.pool
        nonce = await pool.call(
            "eth_getTransactionCount", [self.address, "pending"], parse_quantity
        )
        base_fee = await pool.call(
            "eth_getBlockByNumber",
            ["latest", False],
            lambda b: parse_quantity(b.get("baseFeePerGas", "0x0")),
        )
        try:
            tip = await pool.call(
                "eth_maxPriorityFeePerGas", [], parse_quantity, return_error_answers=True
            )
        except RpcError:
            tip = 0
        tx = {
            "type": 2,
            "chainId": chain.chain_id,
            "nonce": nonce,
            "to": chain.staking,
            "data": "0x" + data.hex(),
            "gas": gas,
            "value": 0,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 2 * base_fee + tip,
        }
        signed = self._account.sign_transaction(tx)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        try:
            return await pool.call(
                "eth_sendRawTransaction", [raw], _parse_hash, return_error_answers=True
            )
        except RpcError as exc:
            raise ChainTxError(
                f"eth_sendRawTransaction refused: {revert_reason(exc.error)}"
            ) from None


def ape_keyfile(alias: str) -> Path:
    """Where Ape keeps an account's encrypted keyfile."""
    folder = Path(os.environ.get("APE_DATA_FOLDER", Path.home() / ".ape"))
    return folder / "accounts" / f"{alias}.json"


def load_sender(config: SubmitterConfig | None) -> Sender | None:
    """The configured submitter, or None. Raises ChainTxError naming what to fix."""
    if config is None:
        return None
    if config.kind == "unlocked":
        assert config.address is not None
        return UnlockedSender(config.address)
    from eth_account import Account

    assert config.alias is not None and config.passphrase_env is not None
    path = ape_keyfile(config.alias)
    try:
        keyfile = json.loads(path.read_text())
    except FileNotFoundError:
        raise ChainTxError(
            f"votes.submitter: no Ape account {config.alias!r} ({path}); add it with "
            f"`ape accounts import {config.alias}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ChainTxError(f"votes.submitter: cannot read {path}: {exc}") from None
    passphrase = os.environ.get(config.passphrase_env)
    if not passphrase:
        raise ChainTxError(
            f"votes.submitter: set {config.passphrase_env} to the passphrase of {config.alias!r}"
        )
    try:
        key = Account.decrypt(keyfile, passphrase)
    except ValueError:
        raise ChainTxError(
            f"votes.submitter: wrong passphrase for {config.alias!r} (from {config.passphrase_env})"
        ) from None
    return KeySender(Account.from_key(key))


def _parse_bytes(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("not hex data")
    return bytes.fromhex(value[2:])


def _parse_hash(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError("not a transaction hash")
    return value


def _parse_receipt(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("receipt is not an object")
    return {
        "status": parse_quantity(value["status"]),
        "block": parse_quantity(value["blockNumber"]),
        "gas_used": parse_quantity(value["gasUsed"]),
        "from": str(value["from"]).lower(),
    }
