"""titanoboa helpers for the property suites: compile each contract once per session."""

from functools import cache
from pathlib import Path

import boa

ROOT = Path(__file__).resolve().parents[2]


@cache
def deployer_for(contract_path: str):
    """A `VyperDeployer` for `contracts/<contract_path>`, compiled once per session."""
    return boa.load_partial(str(ROOT / "contracts" / contract_path))
