"""The ABIs of the contracts the SDK talks to, shipped with it (`sesh/contracts/abi/`).

A command that reads or sends to a deployed contract needs only its ABI. Loading Ape's
compiled project for it (6 MB of JSON with every contract's bytecode, source maps and
ASTs, and a check that the sources have not changed) cost about 1.5 s of every `sesh`
command, and needs the repository; the ABIs alone load in milliseconds, anywhere the
package is installed. `tests/contracts/test_abis.py` checks that every shipped ABI equals
the compiled contract's, so an interface change fails there first; after one, rewrite them
with `make abis`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

ABI_DIRECTORY = Path(__file__).with_name("abi")

# Every contract type a deployment manifest may name that the SDK or the CLI opens.
SHIPPED = (
    "SessionToken",
    "SessionTokenL2",
    "RewardRatePool",
    "ServiceNodeStaking",
    # Its extension: the owner's setters, `sweep` and the seeding phase (docs/migration.md),
    # all called at the staking contract's address.
    "ServiceNodeStakingExtension",
    "SessionNameService",
    "SessionPro",
    # The testnet SESH/USD feed `sesh feeds push` keeps fresh.
    "KeeperAggregator",
    # The move from the old chain (docs/migration.md).
    "TokenConverter",
    "MerkleClaim",
    "VestingFactory",
    "VestingStaking",
)


@functools.cache
def shipped_abi(contract_type: str) -> list[dict[str, Any]] | None:
    """The shipped ABI of `contract_type`, or None when the SDK ships none for it."""
    path = ABI_DIRECTORY / f"{contract_type}.json"
    if contract_type not in SHIPPED or not path.is_file():
        return None
    return json.loads(path.read_text())


# Contracts whose address also answers another contract's calls (by `delegatecall` from
# their fallback): `instance` adds that contract's state-changing functions and events.
# Its views are left out: the fallback returns no data.
EXTENDED_BY = {"ServiceNodeStaking": "ServiceNodeStakingExtension"}


def address_abi(contract_type: str, abi: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`abi` with the functions and events the contract's extension adds at its address."""
    extension = EXTENDED_BY.get(contract_type)
    if extension is None:
        return abi
    extra = shipped_abi(extension) or compiled_abi(extension)
    names = {(e.get("type"), e.get("name")) for e in abi}
    added = [
        e
        for e in extra
        if e.get("type") in ("function", "event")
        and e.get("stateMutability") not in ("view", "pure")
        and (e.get("type"), e.get("name")) not in names
    ]
    return abi + added


def compiled_abi(contract_type: str) -> list[dict[str, Any]]:
    """The ABI of the contract as Ape compiles it from `contracts/` (in the repository)."""
    from ape import project

    abi = project.get_contract(contract_type).contract_type.abi
    return [entry.model_dump(mode="json", by_alias=True, exclude_none=True) for entry in abi]


def instance(contract_type: str, address: str) -> Any:
    """The contract at `address`, typed by its shipped ABI when there is one, else by the
    compiled project (contracts the SDK does not ship, e.g. test mocks)."""
    from ape.contracts.base import ContractInstance
    from ethpm_types import ContractType

    abi = shipped_abi(contract_type)
    if abi is None:
        from ape import project

        return project.get_contract(contract_type).at(address)
    typed = ContractType.model_validate(
        {"contractName": contract_type, "abi": address_abi(contract_type, abi)}
    )
    return ContractInstance(address, typed)


def write() -> None:
    ABI_DIRECTORY.mkdir(exist_ok=True)
    for name in SHIPPED:
        text = json.dumps(compiled_abi(name), indent=1, sort_keys=True) + "\n"
        (ABI_DIRECTORY / f"{name}.json").write_text(text)
        print(f"wrote {ABI_DIRECTORY / name}.json")
