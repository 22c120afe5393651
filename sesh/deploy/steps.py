"""Deployment steps shared by `scripts/deploy.py`, `scripts/devnet.py` and the tests.

Every step is idempotent: a contract already recorded in the manifest (and present on
the chain) is reused, never deployed twice, so a deployment interrupted at any point
continues where it stopped when run again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sesh.deploy.manifest import DeployedContract, Manifest

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# Networks whose state nobody else relies on: deploying there needs no confirmation.
LOCAL_NETWORK_NAMES = frozenset({"local", "devnet"})


class DeployError(Exception):
    """A deployment that cannot go on; the message says what to do."""


def is_local_network(network_name: str) -> bool:
    return network_name in LOCAL_NETWORK_NAMES


@dataclass
class Deployer:
    """Deploys contracts and sends wiring transactions from `account`, recording each in
    `manifest` as it lands.

    Every transaction is signed first and recorded as pending (hash and nonce) before it
    is broadcast; a later run that finds a pending record waits for that transaction or
    adopts its result instead of sending again. So a run killed at any instant, even
    between broadcast and receipt, never deploys or funds twice.
    """

    account: Any
    manifest: Manifest
    echo: Callable[[str], None] = print
    deployed_now: list[str] = field(default_factory=list)
    # How long to wait for a pending transaction found in the mempool.
    receipt_timeout: int = 600

    def contract(self, name: str, contract_type: str, *args: Any) -> Any:
        """The instance of `name`: reused from the manifest, or deployed and recorded."""
        from ape import chain, project

        container = project.get_contract(contract_type)
        existing = self.manifest.contracts.get(name)
        if existing is not None:
            if existing.contract_type != contract_type:
                raise DeployError(
                    f"{self.manifest.path} records {name} as a {existing.contract_type}, "
                    f"not a {contract_type}"
                )
            if not chain.provider.get_code(existing.address):
                raise DeployError(
                    f"{name} is recorded at {existing.address} in {self.manifest.path}, but "
                    "that address holds no code on this chain; move the stale manifest away"
                )
            self.echo(f"  {name:<22} {existing.address}  (already deployed)")
            return container.at(existing.address)

        receipt = self._resume(name)
        if receipt is None:
            receipt = self._send(name, container(*args))
        address = receipt.contract_address
        if not address:
            raise DeployError(f"the deployment of {name} ({receipt.txn_hash}) created no contract")
        self.manifest.pending.pop(name, None)
        self.manifest.record(
            name,
            DeployedContract(
                address=str(address),
                contract_type=contract_type,
                tx_hash=_hex(receipt.txn_hash),
                block=int(receipt.block_number),
                args=[_jsonable(a) for a in args],
            ),
        )
        self.deployed_now.append(name)
        self.echo(f"  {name:<22} {address}  (deployed)")
        return container.at(address)

    def blueprint(self, name: str, contract_type: str) -> Any:
        """An EIP-5202 blueprint of `contract_type` (code to copy, never called), reused
        from the manifest or deployed and recorded."""
        from ape import chain, project

        container = project.get_contract(contract_type)
        existing = self.manifest.contracts.get(name)
        if existing is not None:
            self.echo(f"  {name:<22} {existing.address}  (already deployed)")
            return existing.address
        receipt = self._resume(name)
        if receipt is None:
            txn = chain.provider.network.ecosystem.encode_contract_blueprint(
                container.contract_type
            )
            receipt = self._send(name, txn)
        address = receipt.contract_address
        if not address:
            raise DeployError(f"the blueprint {name} ({receipt.txn_hash}) created no contract")
        self.manifest.pending.pop(name, None)
        self.manifest.record(
            name,
            DeployedContract(
                address=str(address),
                contract_type=contract_type,
                tx_hash=_hex(receipt.txn_hash),
                block=int(receipt.block_number),
                args=["blueprint"],
            ),
        )
        self.deployed_now.append(name)
        self.echo(f"  {name:<22} {address}  (blueprint deployed)")
        return str(address)

    def adopt(self, name: str, contract_type: str, address: str) -> Any:
        """Record a contract this deployment did not create (an existing token)."""
        from ape import chain, project

        if not chain.provider.get_code(address):
            raise DeployError(f"{name} at {address} holds no code on this chain")
        existing = self.manifest.contracts.get(name)
        if existing is None or existing.address != address:
            self.manifest.record(
                name, DeployedContract(address=address, contract_type=contract_type)
            )
            self.echo(f"  {name:<22} {address}  (existing, recorded)")
        else:
            self.echo(f"  {name:<22} {address}  (existing)")
        return project.get_contract(contract_type).at(address)

    def step(self, key: str, title: str, is_done: Callable[[], bool], make_txn: Callable) -> bool:
        """Run a wiring step: send `make_txn()` unless the chain shows it is done.

        Returns whether a transaction was sent. The chain, not the manifest, is the judge
        of "done"; the manifest only keeps the order of finished steps.
        """
        resumed = self._resume(key)
        if resumed is None and is_done():
            self.manifest.mark_done(key)
            self.echo(f"  {title}  (already done)")
            return False
        if resumed is None:
            self._send(key, make_txn())
        self.manifest.pending.pop(key, None)
        if not is_done():
            raise DeployError(f"{title}: the transaction went through but the chain disagrees")
        self.manifest.mark_done(key)
        self.echo(f"  {title}  (done)")
        return resumed is None

    def _send(self, key: str, txn: Any) -> Any:
        from ape import chain

        txn.sender = self.account.address
        txn.gas_limit = self._gas_limit(txn)
        txn = self.account.prepare_transaction(txn)
        signed = self.account.sign_transaction(txn)
        if signed is None:
            raise DeployError(f"{key}: the account refused to sign")
        self.manifest.set_pending(key, {"tx_hash": _hex(signed.txn_hash), "nonce": int(txn.nonce)})
        try:
            return chain.provider.send_transaction(signed)
        except Exception:
            # A reverted or refused transaction: drop its pending record (kept if it may
            # still be mined) so that the next run sends it again.
            with contextlib.suppress(Exception):
                self._resume(key)
            raise

    def _gas_limit(self, txn: Any) -> int:
        """The node's estimate plus a quarter (estimates ignore the 63/64 rule of calls
        that forward gas); a refusal here is the contract's revert reason."""
        from ape import chain

        call = {"from": str(self.account.address), "data": "0x" + bytes(txn.data).hex()}
        if txn.receiver:
            call["to"] = str(txn.receiver)
        return chain.provider.web3.eth.estimate_gas(call) * 125 // 100

    def _resume(self, key: str) -> Any | None:
        """The receipt of a transaction a killed run sent for `key`, or None to send anew."""
        from ape import chain
        from web3.exceptions import TimeExhausted, TransactionNotFound

        pending = self.manifest.pending.get(key)
        if pending is None:
            return None
        web3 = chain.provider.web3
        tx_hash = pending["tx_hash"]
        try:
            web3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            if web3.eth.get_transaction_count(self.account.address) > pending["nonce"]:
                raise DeployError(
                    f"{key}: transaction {tx_hash} recorded as pending in {self.manifest.path} "
                    f"is unknown, and nonce {pending['nonce']} is already used; check the "
                    "account's transactions, then remove that pending entry"
                ) from None
            # Signed but never broadcast: forget it and send again.
            self.manifest.clear_pending(key)
            return None
        self.echo(f"  {key}: waiting for transaction {tx_hash} sent by an earlier run")
        try:
            web3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout)
        except TimeExhausted:
            raise DeployError(f"{key}: transaction {tx_hash} is still not mined") from None
        receipt = chain.provider.get_receipt(tx_hash)
        if receipt.failed:
            self.manifest.clear_pending(key)
            return None
        return receipt


def deploy_token(
    deployer: Deployer,
    genesis_receiver: str | None = None,
    l1_custom_gateway: str = ZERO_ADDRESS,
    l1_router: str = ZERO_ADDRESS,
) -> Any:
    """Deploy SESH (`SessionToken`), minting the whole supply to `genesis_receiver`
    (the deploying account by default)."""
    receiver = genesis_receiver or str(deployer.account.address)
    return deployer.contract("SessionToken", "SessionToken", receiver, l1_custom_gateway, l1_router)


def deploy_bridged_token(deployer: Deployer, l2_gateway: str, l1_token: str) -> Any:
    """Deploy SESH as an Arbitrum custom-gateway token (`SessionTokenL2`)."""
    return deployer.contract("SessionTokenL2", "SessionTokenL2", l2_gateway, l1_token)


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if hasattr(value, "address"):
        return str(value.address)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def set_aside_if_from_an_earlier_chain(manifest: Manifest, echo: Callable[[str], None]) -> bool:
    """On a local chain: when none of the manifest's contracts has code here, the manifest
    belongs to an earlier chain (Ape starts a new anvil for every `arbitrum:local:foundry`
    command). Keep it as `<chain_id>.previous.json` and start afresh; True if it did."""
    from ape import chain

    addresses = [c.address for c in manifest.contracts.values()]
    if not addresses or any(chain.provider.get_code(a) for a in addresses):
        return False
    kept = manifest.path.with_name(f"{manifest.path.stem}.previous.json")
    manifest.path.replace(kept)
    manifest.forget()
    echo(
        f"a fresh local chain: none of the recorded contracts is on it; the old manifest "
        f"is kept as {kept}, starting a new one"
    )
    return True
