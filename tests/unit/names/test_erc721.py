"""ERC-721 conformance of the names: ownership, approvals, operators, safe transfers to
contracts that accept and refuse, ERC-165, enumeration and the on-chain metadata."""

import base64
import json

import ape
import pytest

from sesh.rules.names import GRACE_PERIOD, YEAR, token_id
from tests.unit.products import travel

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAGIC = "onERC721Received(address,address,uint256,bytes)"


@pytest.fixture
def alice(register, registrant):
    register("alice", registrant)
    return registrant


@pytest.fixture
def tid():
    return token_id("alice")


@pytest.fixture(scope="session")
def receiver_contract(project, deployer):
    """receiver_contract(mode): 0 accepts, 1 answers a wrong value, 2 reverts."""
    return lambda mode: deployer.deploy(project.MockERC721Receiver, mode)


def test_metadata__names_the_collection(sns):
    assert sns.name() == "Session Names"
    assert sns.symbol() == "SNS"


def test_balance_and_owner__follow_registration_and_transfer(sns, alice, buyer, tid):
    assert sns.balanceOf(alice) == 1 and sns.ownerOf(tid) == alice
    receipt = sns.transferFrom(alice, buyer, tid, sender=alice)
    assert sns.balanceOf(alice) == 0 and sns.balanceOf(buyer) == 1
    assert sns.ownerOf(tid) == buyer
    assert receipt.events.filter(sns.Transfer) == [sns.Transfer(alice, buyer, tid)]


def test_owner_of__an_unknown_token__is_refused(sns):
    with ape.reverts("erc721: invalid token ID"):
        sns.ownerOf(token_id("nobody"))


def test_balance_of__the_zero_address__is_refused(sns):
    with ape.reverts("erc721: the zero address is not a valid owner"):
        sns.balanceOf(ZERO_ADDRESS)


def test_approve__lets_the_approved_account_transfer_once(sns, alice, spender, buyer, tid):
    receipt = sns.approve(spender, tid, sender=alice)
    assert receipt.events == [sns.Approval(alice, spender, tid)]
    assert sns.getApproved(tid) == spender
    sns.transferFrom(alice, buyer, tid, sender=spender)
    assert sns.ownerOf(tid) == buyer
    # The approval is cleared by the transfer.
    assert sns.getApproved(tid) == ZERO_ADDRESS
    with ape.reverts("erc721: caller is not token owner or approved"):
        sns.transferFrom(buyer, spender, tid, sender=spender)


def test_approve__by_a_stranger__is_refused(sns, alice, attacker, tid):
    with ape.reverts("sns: caller may not approve"):
        sns.approve(attacker, tid, sender=attacker)


def test_set_approval_for_all__makes_an_operator_of_every_name(
    sns, register, alice, spender, buyer
):
    register("bob-1", alice)
    receipt = sns.setApprovalForAll(spender, True, sender=alice)
    assert receipt.events == [sns.ApprovalForAll(alice, spender, True)]
    assert sns.isApprovedForAll(alice, spender)
    sns.transferFrom(alice, buyer, token_id("alice"), sender=spender)
    sns.transferFrom(alice, buyer, token_id("bob-1"), sender=spender)
    assert sns.balanceOf(buyer) == 2
    sns.setApprovalForAll(spender, False, sender=buyer)
    assert not sns.isApprovedForAll(buyer, spender)


def test_set_approval_for_all__to_oneself__is_refused(sns, alice):
    with ape.reverts("erc721: approve to caller"):
        sns.setApprovalForAll(alice, True, sender=alice)


def test_transfer_from__by_a_stranger__is_refused(sns, alice, attacker, tid):
    with ape.reverts("erc721: caller is not token owner or approved"):
        sns.transferFrom(alice, attacker, tid, sender=attacker)
    assert sns.ownerOf(tid) == alice


def test_transfer_from__the_wrong_owner__is_refused(sns, alice, buyer, tid):
    with ape.reverts("erc721: transfer from incorrect owner"):
        sns.transferFrom(buyer, alice, tid, sender=alice)


def test_transfer_from__to_the_zero_address__is_refused(sns, alice, tid):
    with ape.reverts("erc721: transfer to the zero address"):
        sns.transferFrom(alice, ZERO_ADDRESS, tid, sender=alice)


def test_transfer__of_an_expired_name__is_refused(
    sns, alice, buyer, tid, chain, sesh_feed, deployer
):
    travel(chain, YEAR, sesh_feed, deployer)
    with ape.reverts("sns: name expired"):
        sns.transferFrom(alice, buyer, tid, sender=alice)
    with ape.reverts("sns: name expired"):
        sns.safeTransferFrom(alice, buyer, tid, sender=alice)
    # Renewed during grace, it can change hands again.
    sns.renew("alice", YEAR, 2**256 - 1, sender=alice)
    sns.transferFrom(alice, buyer, tid, sender=alice)
    assert sns.ownerOf(tid) == buyer


def test_safe_transfer__to_an_accepting_contract__delivers_with_the_data(
    sns, alice, tid, receiver_contract, spender
):
    receiver = receiver_contract(0)
    sns.approve(spender, tid, sender=alice)
    sns.safeTransferFrom(alice, receiver, tid, b"hello", sender=spender)
    assert sns.ownerOf(tid) == receiver.address
    assert receiver.last_operator() == spender
    assert receiver.last_owner() == alice
    assert receiver.last_token_id() == tid
    assert receiver.last_data() == b"hello"


@pytest.mark.parametrize("mode", [1, 2], ids=["wrong answer", "reverting"])
def test_safe_transfer__to_a_refusing_contract__is_refused(
    sns, alice, tid, receiver_contract, mode
):
    receiver = receiver_contract(mode)
    with ape.reverts():
        sns.safeTransferFrom(alice, receiver, tid, sender=alice)
    assert sns.ownerOf(tid) == alice


def test_safe_transfer__to_a_contract_without_the_hook__is_refused(sns, alice, tid, token):
    with ape.reverts():
        sns.safeTransferFrom(alice, token, tid, sender=alice)
    assert sns.ownerOf(tid) == alice


def test_plain_transfer__to_a_contract_without_the_hook__is_delivered(sns, alice, tid, token):
    sns.transferFrom(alice, token, tid, sender=alice)
    assert sns.ownerOf(tid) == token.address


def test_safe_transfer__to_an_account__is_delivered(sns, alice, buyer, tid):
    sns.safeTransferFrom(alice, buyer, tid, b"", sender=alice)
    assert sns.ownerOf(tid) == buyer


@pytest.mark.parametrize(
    "interface_id,supported",
    [
        ("0x01ffc9a7", True),  # ERC-165
        ("0x80ac58cd", True),  # ERC-721
        ("0x5b5e139f", True),  # ERC-721 metadata
        ("0x780e9d63", True),  # ERC-721 enumerable
        ("0x49064906", True),  # ERC-4906
        ("0x589c5ce2", False),  # ERC-4494 permit: not exported
        ("0xffffffff", False),  # ERC-165 says never
        ("0xd9b67a26", False),  # ERC-1155
    ],
)
def test_supports_interface__answers_erc165(sns, interface_id, supported):
    assert sns.supportsInterface(interface_id) is supported


def test_erc165_ids__are_the_xor_of_the_selectors(sns):
    from eth_utils import keccak

    def interface_id(*signatures):
        value = 0
        for signature in signatures:
            value ^= int.from_bytes(keccak(text=signature)[:4], "big")
        return "0x" + value.to_bytes(4, "big").hex()

    erc721 = interface_id(
        "balanceOf(address)",
        "ownerOf(uint256)",
        "safeTransferFrom(address,address,uint256,bytes)",
        "safeTransferFrom(address,address,uint256)",
        "transferFrom(address,address,uint256)",
        "approve(address,uint256)",
        "setApprovalForAll(address,bool)",
        "getApproved(uint256)",
        "isApprovedForAll(address,address)",
    )
    metadata = interface_id("name()", "symbol()", "tokenURI(uint256)")
    enumerable = interface_id(
        "totalSupply()", "tokenOfOwnerByIndex(address,uint256)", "tokenByIndex(uint256)"
    )
    for value in (erc721, metadata, enumerable):
        assert sns.supportsInterface(value)


def test_enumeration__lists_every_name_and_each_owners_names(sns, register, alice, buyer):
    register("bob-1", buyer)
    assert sns.totalSupply() == 2
    assert {sns.tokenByIndex(0), sns.tokenByIndex(1)} == {token_id("alice"), token_id("bob-1")}
    assert sns.tokenOfOwnerByIndex(buyer, 0) == token_id("bob-1")
    with ape.reverts("erc721: owner index out of bounds"):
        sns.tokenOfOwnerByIndex(buyer, 1)


def test_token_uri__is_a_base64_json_data_uri_with_name_and_expiry(sns, alice, tid):
    uri = sns.tokenURI(tid)
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix)
    metadata = json.loads(base64.b64decode(uri[len(prefix) :], validate=True))
    assert metadata["name"] == "alice"
    attributes = {a["trait_type"]: a["value"] for a in metadata["attributes"]}
    assert attributes == {"Expiry": sns.expiry("alice"), "Length": 5}


@pytest.mark.parametrize("name", ["abc", "abcd", "a-b-c-d-e-f", "0123456789" * 3 + "ab"])
def test_token_uri__decodes_for_every_padding_length(sns, register, registrant, name):
    register(name, registrant)
    uri = sns.tokenURI(token_id(name))
    metadata = json.loads(base64.b64decode(uri.split(",", 1)[1], validate=True))
    assert metadata["name"] == name


def test_token_uri__of_an_unknown_token__is_refused(sns):
    with ape.reverts("erc721: invalid token ID"):
        sns.tokenURI(token_id("nobody"))


def test_token_uri__after_re_registration__shows_the_new_expiry(
    sns, register, alice, buyer, chain, sesh_feed, deployer, tid
):
    travel(chain, YEAR + GRACE_PERIOD + 21 * 86_400, sesh_feed, deployer)
    receipt = register("alice", buyer)
    metadata = json.loads(base64.b64decode(sns.tokenURI(tid).split(",", 1)[1]))
    assert metadata["attributes"][0]["value"] == receipt.timestamp + YEAR


def test_eth_sent_with_a_transfer_or_an_approval_is_refused_not_locked(
    sns, alice, buyer, spender, tid
):
    # Issue #16, 7: ERC-721 declares these payable, but the contract could never send the
    # ETH back, so it refuses it; without ETH the same calls go through.
    calls = [
        lambda **kw: sns.approve(spender, tid, sender=alice, **kw),
        lambda **kw: sns.transferFrom(alice, buyer, tid, sender=alice, **kw),
        lambda **kw: sns.safeTransferFrom(alice, buyer, tid, sender=alice, **kw),
        lambda **kw: sns.safeTransferFrom(alice, buyer, tid, b"", sender=alice, **kw),
    ]
    for call in calls:
        with ape.reverts("sns: ETH not accepted"):
            call(value=1)
    sns.approve(spender, tid, sender=alice)
    assert sns.getApproved(tid) == spender
    sns.transferFrom(alice, buyer, tid, sender=alice)
    assert sns.ownerOf(tid) == buyer
    assert sns.balance == 0


def test_approve__to_the_current_owner__is_refused(sns, alice, tid):
    with ape.reverts("erc721: approval to current owner"):
        sns.approve(alice, tid, sender=alice)
