"""The deployed suite of one chain, found through its manifest."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from sesh.contracts import abis
from sesh.contracts.base import ContractError
from sesh.contracts.names import Names
from sesh.contracts.pool import RewardPool
from sesh.contracts.pro import Pro
from sesh.contracts.rpc import RpcContract
from sesh.contracts.staking import Staking
from sesh.contracts.token import Token
from sesh.deploy.manifest import DEFAULT_DIRECTORY, Manifest, ManifestError
from sesh.deploy.migration import CONVERTER, MERKLE_CLAIM, VESTING_FACTORY
from sesh.deploy.suite import BRIDGED_TOKEN, NAMES, POOL, PRO, STAKING, TOKEN


class Suite:
    """Typed wrappers over the contracts recorded in a manifest (of the connected chain)."""

    def __init__(self, manifest: Manifest, w3: Any = None):
        self.manifest = manifest
        # Reads go through this web3 (plain JSON-RPC, `sesh.contracts.rpc`) when given,
        # else through Ape's connected provider.
        self.w3 = w3
        # Passed to the token: told each permit's fields before it is signed.
        self.on_permit: Any = None

    @classmethod
    def load(
        cls,
        manifest_path: Path | str | None = None,
        directory: Path | str | None = None,
        w3: Any = None,
    ):
        """The suite of the connected chain (Ape's, or `w3`'s for plain JSON-RPC reads):
        from `manifest_path` (refused if it is for another chain), else
        `<directory>/<chain_id>.json`."""
        if w3 is not None:
            chain_id = _chain_id(w3)
        else:
            from ape import chain

            chain_id = chain.chain_id
        try:
            if manifest_path is not None:
                manifest = Manifest.read(manifest_path, expected_chain_id=chain_id)
            else:
                manifest = Manifest.load(chain_id, directory or DEFAULT_DIRECTORY)
                if not manifest.path.exists():
                    raise ManifestError(
                        f"no deployment of chain {chain_id} in {manifest.path}; deploy with "
                        "`ape run deploy all`, or pass --manifest / --deployments-dir"
                    )
        except ManifestError as exc:
            raise ContractError(str(exc)) from None
        return cls(manifest, w3)

    def contract(self, name: str) -> Any:
        entry = self.manifest.contracts.get(name)
        if entry is None:
            raise ContractError(
                f"{name} is not in {self.manifest.path}; deploy it with `ape run deploy all`"
            )
        if self.w3 is not None:
            code = self.w3.eth.get_code(entry.address)
        else:
            from ape import chain

            code = chain.provider.get_code(entry.address)
        if not code:
            raise ContractError(
                f"{name} is recorded at {entry.address} in {self.manifest.path}, but that "
                "address holds no code on the connected chain (a stale manifest?)"
            )
        if self.w3 is not None:
            abi = abis.shipped_abi(entry.contract_type)
            if abi is None:
                raise ContractError(f"the SDK ships no ABI for {entry.contract_type}")
            return RpcContract(self.w3, entry.address, entry.contract_type, abi)
        return abis.instance(entry.contract_type, entry.address)

    def block_of(self, name: str) -> int:
        entry = self.manifest.contracts.get(name)
        return entry.block if entry else 0

    @cached_property
    def token(self) -> Token:
        name = TOKEN if TOKEN in self.manifest.contracts else BRIDGED_TOKEN
        token = Token(self.contract(name))
        token.on_permit = self.on_permit
        return token

    @cached_property
    def pool(self) -> RewardPool:
        return RewardPool(self.contract(POOL), self.token.contract)

    @cached_property
    def staking(self) -> Staking:
        return Staking(self.contract(STAKING), self.token)

    @cached_property
    def names(self) -> Names:
        return Names(self.contract(NAMES), self.token)

    @cached_property
    def pro(self) -> Pro:
        return Pro(self.contract(PRO), self.token)

    # --------------------------------------------- the move (docs/migration.md)

    @cached_property
    def converter(self):
        from sesh.contracts.migration import Converter

        return Converter(self.contract(CONVERTER), self.token.contract)

    @cached_property
    def merkle_claims(self):
        from sesh.contracts.migration import MerkleClaims

        return MerkleClaims(self.contract(MERKLE_CLAIM), self.token.contract)

    @cached_property
    def vesting_factory(self):
        from sesh.contracts.migration import VestingFactory

        return VestingFactory(self.contract(VESTING_FACTORY), self.token.contract)

    def vesting(self, address: str):
        """The allocation at `address`; refused unless the suite's factory made it."""
        from sesh.contracts.migration import Vesting

        if not self.vesting_factory.is_vesting(address):
            raise ContractError(f"vesting: {address} was not made by the suite's VestingFactory")
        return Vesting(abis.instance("VestingStaking", address), self.token.contract)


def _chain_id(w3: Any) -> int:
    """The chain id over JSON-RPC; an unreachable node is a one-line `ContractError`."""
    from requests.exceptions import RequestException

    try:
        return int(w3.eth.chain_id)
    except (RequestException, OSError) as exc:
        url = getattr(w3.provider, "endpoint_uri", "the RPC node")
        raise ContractError(
            f"cannot reach the RPC node at {url} ({type(exc).__name__}); is the chain "
            "running, and is --network / SESH_NETWORK right?"
        ) from None
