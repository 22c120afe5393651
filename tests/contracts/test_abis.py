"""The ABIs the SDK ships (sesh/contracts/abi/) are the compiled contracts' ABIs, and the
SDK opens a deployed contract with them, without Ape's compiled project."""

import json

import pytest

from sesh.contracts import abis


@pytest.mark.parametrize("name", abis.SHIPPED)
def test_shipped_abi__equals_the_compiled_contracts(name):
    shipped = abis.shipped_abi(name)
    assert shipped is not None, f"sesh/contracts/abi/{name}.json is missing: run `make abis`"
    compiled = abis.compiled_abi(name)
    key = lambda entry: json.dumps(entry, sort_keys=True)  # noqa: E731
    assert sorted(shipped, key=key) == sorted(compiled, key=key), (
        f"{name}'s interface changed: run `make abis`"
    )


def test_instance__of_a_shipped_type__calls_the_contract(project, accounts):
    deployer = accounts[0]
    zero = "0x" + "00" * 20
    deployed = deployer.deploy(project.SessionToken, deployer, zero, zero)
    token = abis.instance("SessionToken", deployed.address)
    assert token.contract_type.abi == deployed.contract_type.abi
    assert token.balanceOf(deployer) == deployed.totalSupply() > 0
    assert token.decimals() == 9


def test_shipped_abi__of_a_type_not_shipped__is_none_and_instance_uses_the_project(
    project, accounts
):
    assert abis.shipped_abi("MockAggregator") is None
    assert abis.shipped_abi("NoSuchContract") is None
    feed = accounts[0].deploy(project.MockAggregator, 8, 100_000_000, "SESH / USD")
    opened = abis.instance("MockAggregator", feed.address)
    assert opened.decimals() == 8
