"""SESH metadata, genesis mint and the absence of any minting power."""

import ape
import pytest

from sesh.rules.units import TOTAL_SUPPLY

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_metadata__is_session_token_sesh_with_9_decimals(token):
    assert token.name() == "Session Token"
    assert token.symbol() == "SESH"
    assert token.decimals() == 9


def test_deploy__mints_240m_sesh_once_to_the_genesis_receiver(project, chain, deployer, holder):
    token = deployer.deploy(project.SessionToken, holder, ZERO_ADDRESS, ZERO_ADDRESS)
    receipt = chain.get_receipt(token.txn_hash)
    assert TOTAL_SUPPLY == 240_000_000 * 10**9
    assert token.totalSupply() == TOTAL_SUPPLY
    assert token.balanceOf(holder) == TOTAL_SUPPLY
    assert token.balanceOf(deployer) == 0
    mints = [log for log in token.Transfer.from_receipt(receipt) if log.sender == ZERO_ADDRESS]
    assert [(m.receiver, m.value) for m in mints] == [(holder.address, TOTAL_SUPPLY)]


def test_deploy__to_the_zero_address__is_refused(project, deployer):
    with ape.reverts("token: genesis receiver is the zero address"):
        deployer.deploy(project.SessionToken, ZERO_ADDRESS, ZERO_ADDRESS, ZERO_ADDRESS)


def test_deploy__with_a_gateway_but_no_router__is_refused(project, deployer, holder):
    with ape.reverts("token: set both the gateway and the router, or neither"):
        deployer.deploy(project.SessionToken, holder, holder, ZERO_ADDRESS)


@pytest.mark.parametrize("contract_name", ["SessionToken", "SessionTokenL2"])
def test_abi__exposes_no_way_to_mint_or_grant_minting(project, contract_name):
    names = {
        abi.name
        for abi in project.get_contract(contract_name).contract_type.abi
        if hasattr(abi, "name")
    }
    assert not names & {"mint", "set_minter", "is_minter"}
    # The only supply-changing entry points are burns (and, on L2, the gateway's).
    assert {"burn", "burn_from"} <= names


def test_eip712_domain__names_the_token_version_chain_and_address(token, chain):
    fields, name, version, chain_id, verifying_contract, salt, extensions = token.eip712Domain()
    assert fields == b"\x0f"
    assert (name, version) == ("Session Token", "1")
    assert chain_id == chain.chain_id
    assert verifying_contract == token.address
    assert salt == b"\x00" * 32
    assert list(extensions) == []
