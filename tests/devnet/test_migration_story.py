"""The token side of the migrated devnet story on anvil: `deploy all` (local config, no
[migration] tables), then run_token_migration deploys the converter, the Merkle claim and
the vesting factory through the optional deploy steps and runs a conversion, a claim and
a vested node that claims rewards. A second run reuses the recorded contracts."""

from pathlib import Path

from sesh.deploy.config import load_config
from sesh.deploy.manifest import Manifest
from sesh.deploy.migration import CONVERTER, MERKLE_CLAIM, VESTING_BLUEPRINT, VESTING_FACTORY
from sesh.deploy.steps import Deployer
from sesh.deploy.suite import SuiteDeployment
from sesh.devnet.migration_story import run_token_migration

ROOT = Path(__file__).resolve().parents[2]


def test_run_token_migration__converts_claims_and_stakes_a_vested_allocation(
    accounts, chain, tmp_path
):
    manifest = Manifest.load(chain.chain_id, tmp_path)
    deployer = Deployer(account=accounts[0], manifest=manifest, echo=lambda _: None)
    deployment = SuiteDeployment(deployer, load_config(ROOT / "deploy" / "local.toml"))
    deployment.run()
    result = run_token_migration(
        deployment,
        converter_holder=accounts[3],
        claim_holders=[accounts[4], accounts[5]],
        beneficiary=accounts[6],
        echo=lambda _: None,
    )
    # 1:1 between two 9-decimal tokens: 4,321 old tokens and 7 units buy as many SESH units.
    assert result.converted_sesh == result.converted_old_units == 4_321 * 10**9 + 7
    assert result.claimed_sesh > 0 and result.vesting_rewards > 0
    recorded = Manifest.load(chain.chain_id, tmp_path).contracts
    for name in (CONVERTER, MERKLE_CLAIM, VESTING_BLUEPRINT, VESTING_FACTORY):
        assert name in recorded
    checks = deployment.check_wires()
    assert all(check.ok for check in checks), [c for c in checks if not c.ok]


def test_devnet_step__runs_from_the_devnets_migration_context(accounts, chain, tmp_path):
    from types import SimpleNamespace

    from sesh.devnet.migration_story import devnet_step

    manifest = Manifest.load(chain.chain_id, tmp_path)
    deployer = Deployer(account=accounts[0], manifest=manifest, echo=lambda _: None)
    SuiteDeployment(deployer, load_config(ROOT / "deploy" / "local.toml")).run()
    printed = []
    context = SimpleNamespace(
        console=SimpleNamespace(print=printed.append),
        accounts=list(accounts),
        manifest=manifest,
    )
    result = devnet_step(context)
    assert result.vesting_rewards > 0 and result.claimed_sesh > 0
    assert any("converted" in str(line) for line in printed)
