"""`deploy all` on anvil: from scratch, again (nothing sent), and interrupted at every
point where a run can die, then resumed: the same manifest and no extra contract."""

import json
from pathlib import Path

import pytest

from sesh.deploy.config import ConfigError, load_config
from sesh.deploy.manifest import Manifest
from sesh.deploy.steps import Deployer, DeployError
from sesh.deploy.suite import POOL, STAKING, SuiteDeployment

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CONFIG = ROOT / "deploy" / "local.toml"


class Interrupted(BaseException):
    """The process dies here (BaseException, like KeyboardInterrupt or SIGKILL: no
    `except Exception` in the deploy code sees it)."""


def _deploy(account, directory, chain_id):
    manifest = Manifest.load(chain_id, directory)
    deployer = Deployer(account=account, manifest=manifest, echo=lambda _: None)
    suite = SuiteDeployment(deployer, load_config(LOCAL_CONFIG))
    suite.run()
    return suite


def _manifest_text(directory, chain_id) -> str:
    return Manifest.path_for(chain_id, directory).read_text()


@pytest.fixture
def deployer_account(accounts):
    return accounts[0]


def test_deploy_all__from_scratch__deploys_wires_funds_and_checks(
    deployer_account, tmp_path, chain
):
    suite = _deploy(deployer_account, tmp_path, chain.chain_id)
    checks = suite.check_wires()
    assert checks and all(check.ok for check in checks), [c for c in checks if not c.ok]
    manifest = Manifest.load(chain.chain_id, tmp_path)
    assert manifest.pending == {}
    assert {POOL, STAKING, "SessionToken", "SessionNameService", "SessionPro"} <= set(
        manifest.contracts
    )
    assert "pool.beneficiary" in manifest.steps and "pool.funding" in manifest.steps


def test_deploy_all__run_again__sends_nothing_and_keeps_the_manifest(
    deployer_account, tmp_path, chain
):
    _deploy(deployer_account, tmp_path, chain.chain_id)
    before = _manifest_text(tmp_path, chain.chain_id)
    nonce = deployer_account.nonce
    _deploy(deployer_account, tmp_path, chain.chain_id)
    assert deployer_account.nonce == nonce, "a second run must not send a transaction"
    assert _manifest_text(tmp_path, chain.chain_id) == before


def test_deploy_all__interrupted_at_every_write__resumes_to_the_same_manifest(
    deployer_account, tmp_path, chain, monkeypatch
):
    """Each run dies at the n-th manifest write: before a transaction is broadcast (its
    pending record unwritten) or after it was mined (its result unrecorded). The resumed
    run must end with exactly the manifest of an uninterrupted run, transaction hashes
    and blocks included, so no transaction was sent twice and no contract is extra."""
    start = chain.snapshot()
    reference_dir = tmp_path / "reference"
    _deploy(deployer_account, reference_dir, chain.chain_id)
    reference = _manifest_text(reference_dir, chain.chain_id)
    final_nonce = deployer_account.nonce
    writes = 0
    original_save = Manifest.save

    def counting_save(self):
        nonlocal writes
        writes += 1
        original_save(self)

    monkeypatch.setattr(Manifest, "save", counting_save)
    chain.restore(start)
    start = chain.snapshot()
    _deploy(deployer_account, tmp_path / "count", chain.chain_id)
    total_writes = writes
    assert total_writes > 30

    for die_at in range(1, total_writes + 1):
        chain.restore(start)
        start = chain.snapshot()
        directory = tmp_path / f"die-at-{die_at}"
        calls = 0

        def dying_save(self, die_at=die_at):
            nonlocal calls
            calls += 1
            if calls == die_at:
                raise Interrupted
            original_save(self)

        monkeypatch.setattr(Manifest, "save", dying_save)
        with pytest.raises(Interrupted):
            _deploy(deployer_account, directory, chain.chain_id)
        monkeypatch.setattr(Manifest, "save", original_save)
        _deploy(deployer_account, directory, chain.chain_id)
        assert _manifest_text(directory, chain.chain_id) == reference, f"died at write {die_at}"
        assert deployer_account.nonce == final_nonce, f"died at write {die_at}: extra tx"


def test_deploy_all__pool_with_another_beneficiary__refuses_with_what_to_do(
    deployer_account, accounts, tmp_path, chain
):
    suite = _deploy(deployer_account, tmp_path, chain.chain_id)
    manifest = Manifest.load(chain.chain_id, tmp_path)
    # A new staking contract, with the old pool whose beneficiary is fixed forever.
    del manifest.contracts[STAKING]
    manifest.save()
    deployer = Deployer(account=deployer_account, manifest=manifest, echo=lambda _: None)
    again = SuiteDeployment(deployer, suite.config)
    with pytest.raises(DeployError, match="beneficiary is already .* it can never change"):
        again.run()


def test_config__for_another_chain__is_refused_before_anything_is_sent(tmp_path):
    config_path = tmp_path / "other.toml"
    config_path.write_text(LOCAL_CONFIG.read_text().replace("[31337, 412346]", "[412346]"))
    config = load_config(config_path)
    with pytest.raises(ConfigError, match="is for chain id 412346, but the connected chain is 1"):
        config.check_chain(1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("ids = [31337, 412346]", "ids = []"), "chain.ids must be a list"),
        (("mock = true", "mock = false"), "feeds.sesh_usd needed"),
        (('usd = "4.99"', 'usd = "4.999999999"'), r"pro.plans\[0\].usd has more than 8 decimals"),
        (("days = 30", "days = 0"), r"pro.plans\[0\].days must be a whole number"),
        (('funding = "40000000"', 'funding = "-1"'), "pool.funding is not a positive number"),
    ],
)
def test_config__with_a_bad_value__names_the_key(tmp_path, edit, message):
    config_path = tmp_path / "bad.toml"
    config_path.write_text(LOCAL_CONFIG.read_text().replace(*edit, 1))
    with pytest.raises(ConfigError, match=message):
        load_config(config_path)


def test_config__sepolia_example__refuses_its_placeholders():
    # Its SESH/USD feed is the keeper feed; the sequencer feed's address is a placeholder.
    with pytest.raises(ConfigError, match="feeds.sequencer is not an address"):
        load_config(ROOT / "deploy" / "sepolia.toml")


def test_manifest__pending_entries__are_written_only_while_pending(tmp_path):
    manifest = Manifest.load(5, tmp_path)
    manifest.set_pending("step", {"tx_hash": "0x01", "nonce": 3})
    assert json.loads(manifest.path.read_text())["pending"] == {
        "step": {"tx_hash": "0x01", "nonce": 3}
    }
    manifest.clear_pending("step")
    assert "pending" not in json.loads(manifest.path.read_text())


def test_deploy_all__ownership_transfer_to__hands_every_contract_over_in_two_steps(
    deployer_account, accounts, tmp_path, chain
):
    multisig = accounts[7]
    config_path = tmp_path / "handover.toml"
    config_path.write_text(
        LOCAL_CONFIG.read_text() + f'\n[ownership]\ntransfer_to = "{multisig.address}"\n'
    )
    manifest = Manifest.load(chain.chain_id, tmp_path)
    deployer = Deployer(account=deployer_account, manifest=manifest, echo=lambda _: None)
    suite = SuiteDeployment(deployer, load_config(config_path))
    suite.run()
    owned = ["SessionToken", POOL, STAKING, "SessionNameService", "SessionPro"]
    assert [f"ownership.{n}" for n in owned] == [s for s in manifest.steps if "ownership" in s]
    checks = {c.what: c for c in suite.check_wires()}
    for name in owned:
        contract = suite.instances[name]
        assert contract.pending_owner() == multisig.address
        assert contract.owner() == deployer_account.address  # until the multisig accepts
        assert checks[f"{name}.owner"].ok and "accept_ownership()" in checks[f"{name}.owner"].detail
    staking = suite.instances[STAKING]
    staking.accept_ownership(sender=multisig)
    assert staking.owner() == multisig.address
    # Re-run: nothing is sent, the accepted one counts as done.
    nonce = deployer_account.nonce
    SuiteDeployment(
        Deployer(deployer_account, Manifest.load(chain.chain_id, tmp_path), lambda _: None),
        load_config(config_path),
    ).run()
    assert deployer_account.nonce == nonce


def test_config__ownership_transfer_to__needs_a_checksummed_address(tmp_path):
    config_path = tmp_path / "typo.toml"
    typo = "0x3c44CdDdB6a900fa2b585dd299e03d12FA4293BC"
    config_path.write_text(LOCAL_CONFIG.read_text() + f'\n[ownership]\ntransfer_to = "{typo}"\n')
    with pytest.raises(ConfigError, match="ownership.transfer_to has no valid EIP-55 checksum"):
        load_config(config_path)
