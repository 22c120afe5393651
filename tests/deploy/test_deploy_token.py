"""Deploying the token with the shared deploy code and through `ape run deploy`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sesh.deploy.manifest import Manifest, ManifestError
from sesh.deploy.steps import Deployer, DeployError, deploy_token
from sesh.rules.units import TOTAL_SUPPLY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def manifest(tmp_path, chain):
    return Manifest.load(chain.chain_id, tmp_path)


def test_deploy_token__records_the_address_and_mints_to_the_receiver(accounts, manifest, chain):
    deployer = Deployer(account=accounts[0], manifest=manifest, echo=lambda _: None)
    token = deploy_token(deployer, genesis_receiver=accounts[4].address)
    assert token.balanceOf(accounts[4]) == TOTAL_SUPPLY
    reloaded = Manifest.load(chain.chain_id, manifest.path.parent)
    entry = reloaded.contracts["SessionToken"]
    assert entry.address == token.address
    assert entry.contract_type == "SessionToken"
    assert entry.tx_hash.startswith("0x") and entry.block > 0
    assert entry.args[0] == accounts[4].address


def test_deploy_token__run_twice__reuses_the_recorded_contract(accounts, manifest, chain):
    deployer = Deployer(account=accounts[0], manifest=manifest, echo=lambda _: None)
    first = deploy_token(deployer)
    nonce = accounts[0].nonce
    again = Deployer(
        account=accounts[0],
        manifest=Manifest.load(chain.chain_id, manifest.path.parent),
        echo=lambda _: None,
    )
    second = deploy_token(again)
    assert second.address == first.address
    assert accounts[0].nonce == nonce, "a second run must not send a transaction"
    assert again.deployed_now == []


def test_deploy_token__with_a_stale_manifest__refuses_with_a_clear_error(accounts, manifest):
    from sesh.deploy.manifest import DeployedContract

    manifest.record(
        "SessionToken", DeployedContract(address="0x" + "12" * 20, contract_type="SessionToken")
    )
    deployer = Deployer(account=accounts[0], manifest=manifest, echo=lambda _: None)
    with pytest.raises(DeployError, match="holds no code on this chain"):
        deploy_token(deployer)


def test_manifest__for_another_chain__is_refused(tmp_path):
    Manifest.load(1, tmp_path).save()
    (tmp_path / "1.json").rename(tmp_path / "5.json")
    with pytest.raises(ManifestError, match="is for chain 1, but the connected chain is 5"):
        Manifest.load(5, tmp_path)


# Ape gives the anvil it starts for `arbitrum:local:foundry` 20 s to answer, on a port it
# picked free a moment before; with both cores busy (and other workers starting anvils)
# that failed once in three full runs. Such a start is retried once: the deployment, not
# Ape's start-up, is what these tests check.
APE_START_TIMEOUT = "Timed out waiting for successful RPC connection"


def _ape_run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for attempt in (1, 2):
        result = subprocess.run(
            ["ape", "run", "deploy", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if attempt == 2 or result.returncode == 0 or APE_START_TIMEOUT not in result.stderr:
            return result
    raise AssertionError("unreachable")


def test_deploy_cli__mistyped_network__is_a_one_line_error():
    result = _ape_run("token", "--network", "arbitrum:sepolai:node")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "No network in 'arbitrum' named 'sepolai'" in result.stderr


def test_deploy_cli__unknown_account__is_a_one_line_error(tmp_path):
    result = _ape_run(
        "token", "--network", "arbitrum:local:foundry", "--account", "nobody",
        "--deployments-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "no account named 'nobody'" in errors[0]
    assert "ape accounts import" in errors[0]
    assert not (tmp_path / "31337.json").exists()


def test_deploy_cli__on_a_local_chain__deploys_and_records(tmp_path):
    result = _ape_run(
        "token", "--network", "arbitrum:local:foundry", "--deployments-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    manifest = Manifest.load(31337, tmp_path)
    address = manifest.address("SessionToken")
    assert f"SessionToken: {address}" in result.stdout


def test_local_manifest__of_an_earlier_chain__set_aside_and_the_deployment_starts_afresh(
    accounts, manifest
):
    from sesh.deploy.manifest import DeployedContract
    from sesh.deploy.steps import set_aside_if_from_an_earlier_chain

    manifest.record(
        "SessionToken", DeployedContract(address="0x" + "12" * 20, contract_type="SessionToken")
    )
    said = []
    assert set_aside_if_from_an_earlier_chain(manifest, said.append)
    kept = manifest.path.with_name(f"{manifest.path.stem}.previous.json")
    assert "0x" + "12" * 20 in kept.read_text() and "kept as" in said[0]
    assert manifest.contracts == {}
    deployer = Deployer(account=accounts[0], manifest=manifest, echo=lambda _: None)
    token = deploy_token(deployer)  # the second run of the documented example works
    # A manifest whose contracts are on this chain is this chain's: kept as it is.
    assert not set_aside_if_from_an_earlier_chain(manifest, said.append)
    assert manifest.contracts["SessionToken"].address == token.address


# ----- registering the bridged twin (issue #16, 7): the L2 token's l1Address() is checked
# before the L1 registration, which Arbitrum's gateway makes permanent. One chain plays
# both layers here (the L2 reads go through plain JSON-RPC to the same anvil).

TICKETS = dict(
    max_submission_cost_for_gateway=11, max_submission_cost_for_router=12,
    max_gas_for_gateway=1_000, max_gas_for_router=500, gas_price_bid=2,
)  # fmt: skip


@pytest.fixture
def bridge(project, accounts, manifest, chain):
    """The gateway mocks, an L1 SessionToken using them, a Deployer and a web3 on 'L2'."""
    from sesh.contracts.rpc import web3_for

    owner = accounts[0]
    l1_gateway = owner.deploy(project.MockL1CustomGateway)
    l2_gateway = owner.deploy(project.MockL2CustomGateway)
    router = owner.deploy(project.MockL1GatewayRouter)
    l1_gateway.set_counterpart(l2_gateway, sender=owner)
    l2_gateway.set_counterpart(l1_gateway, sender=owner)
    deployer = Deployer(account=owner, manifest=manifest, echo=lambda _: None)
    token = deploy_token(deployer, None, l1_gateway.address, router.address)
    l2_w3 = web3_for(chain.provider.web3.provider.endpoint_uri)
    return deployer, token, l1_gateway, l2_gateway, router, l2_w3


def test_register_l2__l2_token_naming_this_token__registers_once_then_sends_nothing(
    project, accounts, bridge
):
    from sesh.deploy.steps import L2Tickets, register_token_on_l2

    deployer, token, l1_gateway, l2_gateway, router, l2_w3 = bridge
    twin = accounts[0].deploy(project.SessionTokenL2, l2_gateway, token)
    tickets = L2Tickets(**TICKETS)
    assert register_token_on_l2(deployer, token, twin.address, l2_w3, tickets)
    assert l1_gateway.l1_to_l2_token(token) == twin.address
    assert router.l1_token_to_gateway(token) == l1_gateway.address
    # Each ticket paid its submission cost plus its gas at the bid.
    assert l1_gateway.balance == 11 + 1_000 * 2 and router.balance == 12 + 500 * 2
    assert "token.registered_on_l2" in deployer.manifest.steps
    nonce = accounts[0].nonce
    assert not register_token_on_l2(deployer, token, twin.address, l2_w3, tickets)
    assert accounts[0].nonce == nonce


def test_register_l2__l2_token_naming_another_token__refused_before_anything_is_sent(
    project, accounts, bridge
):
    from sesh.deploy.steps import L2Tickets, register_token_on_l2

    deployer, token, l1_gateway, l2_gateway, _router, l2_w3 = bridge
    zero = "0x" + "00" * 20
    other = accounts[1].deploy(project.SessionToken, accounts[1], zero, zero)
    wrong = accounts[0].deploy(project.SessionTokenL2, l2_gateway, other)
    nonce = accounts[0].nonce
    with pytest.raises(DeployError, match=rf"answers l1Address\(\) = {other.address}, not"):
        register_token_on_l2(deployer, token, wrong.address, l2_w3, L2Tickets(**TICKETS))
    assert accounts[0].nonce == nonce
    assert l1_gateway.l1_to_l2_token(token) == "0x" + "00" * 20


@pytest.mark.parametrize("target", ["no code", "not a bridged token"])
def test_register_l2__an_address_that_is_no_bridged_token__refused(accounts, bridge, target):
    from sesh.deploy.steps import L2Tickets, register_token_on_l2

    deployer, token, l1_gateway, _l2_gateway, router, l2_w3 = bridge
    address = accounts[5].address if target == "no code" else router.address
    expected = "no contract at" if target == "no code" else r"has no l1Address\(\)"
    nonce = accounts[0].nonce
    with pytest.raises(DeployError, match=expected):
        register_token_on_l2(deployer, token, address, l2_w3, L2Tickets(**TICKETS))
    assert accounts[0].nonce == nonce


def test_register_l2__already_registered_to_another_l2_token__refused_with_why(
    project, accounts, bridge
):
    from sesh.deploy.steps import L2Tickets, register_token_on_l2

    deployer, token, _l1_gateway, l2_gateway, _router, l2_w3 = bridge
    first = accounts[0].deploy(project.SessionTokenL2, l2_gateway, token)
    second = accounts[0].deploy(project.SessionTokenL2, l2_gateway, token)
    register_token_on_l2(deployer, token, first.address, l2_w3, L2Tickets(**TICKETS))
    with pytest.raises(DeployError, match="the gateway never changes it"):
        register_token_on_l2(deployer, token, second.address, l2_w3, L2Tickets(**TICKETS))
