"""Records: set by the owner, resolved while the name lives, cleared when it changes hands."""

import ape
import pytest

from sesh.rules.names import YEAR, token_id
from tests.unit.products import travel

SESSION_ID = b"\x05" + bytes(range(1, 33))
LOKINET = b"\x4c" * 32
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def alice(register, registrant):
    register("alice", registrant)
    return registrant


def test_set_session_id__resolves_and_logs_the_records(sns, alice):
    receipt = sns.set_session_id("alice", SESSION_ID, sender=alice)
    assert sns.resolve("alice") == SESSION_ID
    assert receipt.events == [
        sns.RecordsUpdated(token_id("alice"), SESSION_ID, ZERO32, ZERO_ADDRESS)
    ]


def test_set_session_id__empty__removes_it(sns, alice):
    sns.set_session_id("alice", SESSION_ID, sender=alice)
    sns.set_session_id("alice", b"", sender=alice)
    assert sns.resolve("alice") == b""


@pytest.mark.parametrize(
    "session_id",
    [
        b"\x04" + bytes(range(1, 33)),
        b"\x05" + bytes(range(1, 32)),
        bytes(range(1, 33)),
    ],
    ids=["wrong prefix", "32 bytes", "no prefix"],
)
def test_set_session_id__malformed__is_refused(sns, alice, session_id):
    with ape.reverts("sns: Session ID is not 0x05 and 32 bytes"):
        sns.set_session_id("alice", session_id, sender=alice)
    assert sns.resolve("alice") == b""


def test_set_session_id__with_a_zero_key__is_refused(sns, alice):
    with ape.reverts("sns: Session ID key is zero"):
        sns.set_session_id("alice", b"\x05" + ZERO32, sender=alice)


def test_set_session_id__by_someone_else__is_refused(sns, alice, attacker):
    with ape.reverts("sns: caller is not the name's owner or approved"):
        sns.set_session_id("alice", SESSION_ID, sender=attacker)
    assert sns.resolve("alice") == b""


def test_set_session_id__by_an_approved_operator__is_accepted(sns, alice, spender):
    sns.setApprovalForAll(spender, True, sender=alice)
    sns.set_session_id("alice", SESSION_ID, sender=spender)
    assert sns.resolve("alice") == SESSION_ID


def test_set_session_id__of_an_unregistered_name__is_refused(sns, registrant):
    with ape.reverts("sns: name not registered"):
        sns.set_session_id("nobody", SESSION_ID, sender=registrant)


def test_set_records__of_an_expired_name__is_refused(sns, alice, chain, sesh_feed, deployer):
    travel(chain, YEAR, sesh_feed, deployer)
    with ape.reverts("sns: name expired"):
        sns.set_records("alice", SESSION_ID, LOKINET, alice, sender=alice)


def test_set_records__sets_all_three(sns, alice, buyer):
    receipt = sns.set_records("alice", SESSION_ID, LOKINET, buyer, sender=alice)
    assert sns.records("alice") == (SESSION_ID, LOKINET, buyer.address)
    assert receipt.events == [sns.RecordsUpdated(token_id("alice"), SESSION_ID, LOKINET, buyer)]


def test_resolve__an_expired_name__is_empty(sns, alice, chain, sesh_feed, deployer):
    sns.set_records("alice", SESSION_ID, LOKINET, alice, sender=alice)
    travel(chain, YEAR - 120, sesh_feed, deployer)
    assert sns.resolve("alice") == SESSION_ID
    travel(chain, 120, sesh_feed, deployer)
    assert sns.resolve("alice") == b""
    assert sns.records("alice") == (b"", ZERO32, ZERO_ADDRESS)


def test_resolve__a_name_never_registered__is_empty(sns):
    assert sns.resolve("nobody") == b""
    assert sns.expiry("nobody") == 0


def test_transfer__clears_the_records_so_the_buyer_sees_none_of_the_seller(sns, alice, buyer):
    sns.set_records("alice", SESSION_ID, LOKINET, alice, sender=alice)
    tid = token_id("alice")
    receipt = sns.transferFrom(alice, buyer, tid, sender=alice)
    assert sns.records("alice") == (b"", ZERO32, ZERO_ADDRESS)
    assert sns.resolve("alice") == b""
    assert sns.RecordsCleared(tid) in receipt.events
    # The buyer points it at their own Session ID.
    sns.set_session_id("alice", b"\x05" + b"\x99" * 32, sender=buyer)
    assert sns.resolve("alice") == b"\x05" + b"\x99" * 32


def test_transfer__back_to_the_seller__does_not_bring_old_records_back(sns, alice, buyer):
    sns.set_session_id("alice", SESSION_ID, sender=alice)
    tid = token_id("alice")
    sns.transferFrom(alice, buyer, tid, sender=alice)
    sns.transferFrom(buyer, alice, tid, sender=buyer)
    assert sns.resolve("alice") == b""


def test_transfer__to_oneself__keeps_the_records(sns, alice):
    sns.set_session_id("alice", SESSION_ID, sender=alice)
    receipt = sns.transferFrom(alice, alice, token_id("alice"), sender=alice)
    assert sns.resolve("alice") == SESSION_ID
    assert not receipt.events.filter(sns.RecordsCleared)


def test_transfer__without_records__logs_no_clearing(sns, alice, buyer):
    receipt = sns.safeTransferFrom(alice, buyer, token_id("alice"), sender=alice)
    assert not receipt.events.filter(sns.RecordsCleared)
