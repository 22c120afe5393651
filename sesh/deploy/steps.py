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
        address = self._record_created(
            name, contract_type, receipt, [_jsonable(a) for a in args], "deployment of", "deployed"
        )
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
        return self._record_created(
            name, contract_type, receipt, ["blueprint"], "blueprint", "blueprint deployed"
        )

    def _record_created(
        self, name: str, contract_type: str, receipt: Any, args: list, what: str, done: str
    ) -> str:
        """Record the contract `receipt` created as `name` (no longer pending) and say so;
        its address. `what` names the transaction in the error if it created none."""
        address = receipt.contract_address
        if not address:
            raise DeployError(f"the {what} {name} ({receipt.txn_hash}) created no contract")
        self.manifest.pending.pop(name, None)
        self.manifest.record(
            name,
            DeployedContract(
                address=str(address),
                contract_type=contract_type,
                tx_hash=_hex(receipt.txn_hash),
                block=int(receipt.block_number),
                args=args,
            ),
        )
        self.deployed_now.append(name)
        self.echo(f"  {name:<22} {address}  ({done})")
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
        if getattr(txn, "value", 0):
            call["value"] = hex(int(txn.value))
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


@dataclass(frozen=True)
class L2Tickets:
    """The two retryable tickets `registerTokenOnL2` pays (the gateway's and the router's),
    as the Arbitrum SDK's `registerCustomToken` estimates them; each ticket's value is its
    submission cost plus its gas at the bid."""

    max_submission_cost_for_gateway: int
    max_submission_cost_for_router: int
    max_gas_for_gateway: int
    max_gas_for_router: int
    gas_price_bid: int

    @property
    def value_for_gateway(self) -> int:
        return self.max_submission_cost_for_gateway + self.max_gas_for_gateway * self.gas_price_bid

    @property
    def value_for_router(self) -> int:
        return self.max_submission_cost_for_router + self.max_gas_for_router * self.gas_price_bid


def _call_address(w3: Any, to: str, signature: str, *args: str) -> str | None:
    """`to.<signature>(args)` answering one address over JSON-RPC, or None if the call
    fails or the answer is not one ABI-encoded address."""
    from eth_abi import encode
    from eth_utils import keccak, to_checksum_address

    types = signature[signature.index("(") + 1 : -1].split(",") if args else []
    data = keccak(text=signature)[:4] + encode(types, list(args))
    try:
        answer = bytes(w3.eth.call({"to": to, "data": "0x" + data.hex()}))
    except Exception:  # a revert, a missing function: no usable answer
        return None
    if len(answer) != 32 or any(answer[:12]):
        return None
    return to_checksum_address(answer[12:])


def check_l2_counterpart(l1_token: str, l2_token: str, l2_w3: Any) -> None:
    """Refuse (`DeployError`) unless `l2_token`, on the chain `l2_w3` reads, is a deployed
    contract whose `l1Address()` is `l1_token`.

    Arbitrum's L1 custom gateway makes a token's first registration permanent (a second
    one to another address reverts `NO_UPDATE_TO_DIFFERENT_ADDR`), and its L2 gateway
    sends every deposit back when the L2 token names another L1 token: a pairing made
    with a wrong address cannot be repaired, so it is checked on L2 before anything is
    signed on L1."""
    from eth_utils import to_checksum_address

    l1, l2 = to_checksum_address(l1_token), to_checksum_address(l2_token)
    try:
        chain_id = int(l2_w3.eth.chain_id)
        code = l2_w3.eth.get_code(l2)
    except Exception as exc:
        raise DeployError(f"cannot read the L2 chain to check {l2}: {exc}") from None
    if not code:
        raise DeployError(
            f"no contract at {l2} on the L2 chain (chain id {chain_id}); deploy it first with "
            f"`ape run deploy l2-token --l1-token {l1}` and register that address"
        )
    answered = _call_address(l2_w3, l2, "l1Address()")
    if answered is None:
        raise DeployError(
            f"{l2} on the L2 chain (chain id {chain_id}) has no l1Address(): not a bridged "
            "token; registering it would pair SESH with it for good"
        )
    if answered != l1:
        raise DeployError(
            f"{l2} on the L2 chain (chain id {chain_id}) answers l1Address() = {answered}, not "
            f"this token {l1}: the gateway would pair them for good and send every deposit "
            f"back; deploy the L2 token with --l1-token {l1}"
        )


def register_token_on_l2(
    deployer: Deployer, l1_token: Any, l2_token: str, l2_w3: Any, tickets: L2Tickets
) -> bool:
    """Register `l2_token` as the L1 token's bridged twin (`registerTokenOnL2`, owner only),
    after checking its `l1Address()` on L2; done when the token's gateway reports that L2
    address, refused when the gateway already holds another. Returns whether it sent."""
    from eth_utils import to_checksum_address

    from sesh.contracts.rpc import web3_of

    l2 = to_checksum_address(l2_token)
    l1 = str(l1_token.address)
    gateway = str(l1_token.L1_CUSTOM_GATEWAY())
    if int(gateway, 16) == 0:
        raise DeployError(f"{l1} was deployed without an L1 gateway: it cannot be bridged")
    l1_w3 = web3_of(l1_token)

    def registered() -> str | None:
        found = _call_address(l1_w3, gateway, "calculateL2TokenAddress(address)", l1)
        return None if found is None or int(found, 16) == 0 else found

    current = registered()
    if current is not None and current != l2:
        raise DeployError(
            f"{l1} is already registered with the gateway {gateway} to {current}; the gateway "
            f"never changes it, so {l2} cannot be registered"
        )
    if current is None:
        check_l2_counterpart(l1, l2, l2_w3)
    total = tickets.value_for_gateway + tickets.value_for_router
    return deployer.step(
        "token.registered_on_l2",
        f"registerTokenOnL2({l2}) with the gateway {gateway} (tickets: {total} wei)",
        lambda: registered() == l2,
        lambda: l1_token.registerTokenOnL2.as_transaction(
            l2,
            tickets.max_submission_cost_for_gateway,
            tickets.max_submission_cost_for_router,
            tickets.max_gas_for_gateway,
            tickets.max_gas_for_router,
            tickets.gas_price_bid,
            tickets.value_for_gateway,
            tickets.value_for_router,
            str(deployer.account.address),
            value=total,
            sender=deployer.account,
        ),
    )
