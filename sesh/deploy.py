"""Deployment steps shared by `scripts/deploy.py`, `scripts/devnet.py` and the tests.

Every step is idempotent: a contract already recorded in the manifest (and present on
the chain) is reused, never deployed twice, so a deployment interrupted at any point
continues where it stopped when run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sesh.deployments import DeployedContract, Manifest

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# Networks whose state nobody else relies on: deploying there needs no confirmation.
LOCAL_NETWORK_NAMES = frozenset({"local"})


class DeployError(Exception):
    """A deployment that cannot go on; the message says what to do."""


def is_local_network(network_name: str) -> bool:
    return network_name in LOCAL_NETWORK_NAMES


@dataclass
class Deployer:
    """Deploys contracts from `account`, recording each in `manifest` as it lands."""

    account: Any
    manifest: Manifest
    echo: Callable[[str], None] = print
    deployed_now: list[str] = field(default_factory=list)

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

        instance = self.account.deploy(container, *args)
        tx_hash = getattr(instance, "txn_hash", None) or ""
        receipt = chain.get_receipt(tx_hash) if tx_hash else None
        self.manifest.record(
            name,
            DeployedContract(
                address=str(instance.address),
                contract_type=contract_type,
                tx_hash=str(tx_hash),
                block=int(getattr(receipt, "block_number", 0) or 0),
                args=[_jsonable(a) for a in args],
            ),
        )
        self.deployed_now.append(name)
        self.echo(f"  {name:<22} {instance.address}  (deployed)")
        return instance


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
