"""titanoboa helpers for the property suites: compile each contract once per session."""

from functools import cache
from pathlib import Path

import boa

ROOT = Path(__file__).resolve().parents[2]


@cache
def deployer_for(contract_path: str):
    """A `VyperDeployer` for `contracts/<contract_path>`, compiled once per session."""
    return boa.load_partial(str(ROOT / "contracts" / contract_path))


def deploy_staking(token, pool, verifier, seeding: bool = False):
    """The staking extension for `token`, `pool` and `verifier` (contracts), and a
    `ServiceNodeStaking` using it, live or in its seeding phase: (extension, staking)."""
    suite = (token.address, pool.address, verifier.address)
    extension = deployer_for("ServiceNodeStakingExtension.vy").deploy(*suite)
    staking = deployer_for("ServiceNodeStaking.vy").deploy(*suite, extension.address, seeding)
    return extension, staking
