"""Commit-reveal registration: success and failure paths, and the premium after grace."""

import ape
import pytest

from sesh.contracts.permit import sign_permit
from sesh.rules.names import (
    GRACE_PERIOD,
    MAX_COMMITMENT_AGE,
    MIN_COMMITMENT_AGE,
    MIN_DURATION,
    YEAR,
    commitment,
    cost_units,
    premium_usd,
    token_id,
)
from tests.unit.products import SESH_PRICE, travel

from .conftest import MAX_UINT256, PREMIUM_START, YEARLY_PRICES

SECRET = b"\x5e" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def committed(sns, token, registrant, funded, chain):
    """The registrant has committed to ("alice", registrant, SECRET) and waited 60 s."""
    funded(registrant)
    token.approve(sns, MAX_UINT256, sender=registrant)
    sns.commit(
        commitment("alice", registrant.address, YEAR, registrant.address, SECRET), sender=registrant
    )
    chain.pending_timestamp += MIN_COMMITMENT_AGE
    return registrant


def test_register__after_a_commitment__mints_the_name_and_pays_the_pool(
    sns, token, committed, pool, chain
):
    cost = cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    before = token.balanceOf(committed)
    receipt = sns.register("alice", committed, YEAR, SECRET, cost, sender=committed)
    tid = token_id("alice")
    assert sns.ownerOf(tid) == committed
    assert sns.balanceOf(committed) == 1
    assert token.balanceOf(pool) == cost
    assert token.balanceOf(committed) == before - cost
    expiry = receipt.timestamp + YEAR
    assert sns.expiry("alice") == expiry
    assert sns.name_of(tid) == "alice"
    assert receipt.return_value == cost
    assert receipt.events.filter(sns.NameRegistered) == [
        sns.NameRegistered(tid, "alice", committed, expiry, cost)
    ]
    # The commitment is spent.
    assert (
        sns.commitments(commitment("alice", committed.address, YEAR, committed.address, SECRET))
        == 0
    )


def test_register__charges_each_length_tier_its_yearly_price(
    sns, token, register, registrant, pool
):
    for name in ("abc", "abcd", "abcde", "abcdefghijklmnopqrstuvwxyz012345"):
        before = token.balanceOf(pool)
        register(name, registrant)
        assert token.balanceOf(pool) - before == cost_units(name, YEAR, YEARLY_PRICES, SESH_PRICE)


def test_register__for_another_owner__the_payer_pays_and_the_owner_holds(
    sns, token, register, registrant, buyer, pool
):
    register("gift", buyer, payer=registrant)
    assert sns.ownerOf(token_id("gift")) == buyer
    assert token.balanceOf(pool) == cost_units("gift", YEAR, YEARLY_PRICES, SESH_PRICE)


@pytest.fixture
def committed_without_approval(sns, registrant, funded, chain):
    """The registrant holds SESH, approved nothing, and committed to "alice" 60 s ago;
    returns the cost of a year."""
    funded(registrant)
    sns.commit(
        commitment("alice", registrant.address, YEAR, registrant.address, SECRET), sender=registrant
    )
    chain.pending_timestamp += MIN_COMMITMENT_AGE
    return cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)


def _register_with(sns, permit, cost, registrant):
    return sns.register_with_permit(
        "alice", registrant, YEAR, SECRET, cost, *permit.as_args(), sender=registrant
    )


def test_register__with_permit__needs_no_approval(
    sns, token, registrant, committed_without_approval, chain, pool
):
    cost = committed_without_approval
    sig = sign_permit(registrant, token, sns.address, cost, chain.pending_timestamp + 600)
    _register_with(sns, sig, cost, registrant)
    assert sns.ownerOf(token_id("alice")) == registrant
    assert token.balanceOf(pool) == cost


def test_register__with_a_permit_already_used__still_pays_with_the_allowance(
    sns, token, registrant, committed_without_approval, chain, pool, attacker
):
    cost = committed_without_approval
    sig = sign_permit(registrant, token, sns.address, cost, chain.pending_timestamp + 600)
    # Someone copies the permit from the mempool and submits it first.
    token.permit(registrant, sns, cost, *sig.as_args(), sender=attacker)
    _register_with(sns, sig, cost, registrant)
    assert token.balanceOf(pool) == cost


def test_register__with_a_bad_permit__is_refused_and_moves_nothing(
    sns, token, registrant, committed_without_approval, chain, balances, attacker
):
    cost = committed_without_approval
    forged = sign_permit(attacker, token, sns.address, cost, chain.pending_timestamp + 600)
    before = balances(registrant)
    with ape.reverts("payments: permit failed and no allowance"):
        _register_with(sns, forged, cost, registrant)
    assert balances(registrant) == before


def test_register__front_run_without_the_commitment__is_refused(
    sns, token, committed, attacker, funded
):
    # The attacker saw the name in the registrant's pending transaction.
    funded(attacker)
    token.approve(sns, MAX_UINT256, sender=attacker)
    with ape.reverts("sns: no commitment for this registration"):
        sns.register("alice", attacker, YEAR, SECRET, MAX_UINT256, sender=attacker)
    # The registrant's own registration still goes through.
    sns.register("alice", committed, YEAR, SECRET, MAX_UINT256, sender=committed)
    assert sns.ownerOf(token_id("alice")) == committed


def test_register__front_run_with_a_fresh_commitment__is_refused_as_too_new(
    sns, token, attacker, funded
):
    funded(attacker)
    token.approve(sns, MAX_UINT256, sender=attacker)
    sns.commit(
        commitment("alice", attacker.address, YEAR, attacker.address, SECRET), sender=attacker
    )
    with ape.reverts("sns: commitment too new"):
        sns.register("alice", attacker, YEAR, SECRET, MAX_UINT256, sender=attacker)


def test_register__after_the_commitment_expired__is_refused(sns, committed, chain, balances):
    chain.pending_timestamp += MAX_COMMITMENT_AGE
    before = balances(committed)
    with ape.reverts("sns: commitment expired"):
        sns.register("alice", committed, YEAR, SECRET, MAX_UINT256, sender=committed)
    assert balances(committed) == before


def test_register__with_another_secret__finds_no_commitment(sns, committed):
    with ape.reverts("sns: no commitment for this registration"):
        sns.register("alice", committed, YEAR, b"\x01" * 32, MAX_UINT256, sender=committed)


def test_commit__while_the_same_commitment_is_pending__is_refused(sns, committed, chain):
    with ape.reverts("sns: commitment already pending"):
        sns.commit(
            commitment("alice", committed.address, YEAR, committed.address, SECRET),
            sender=committed,
        )
    chain.pending_timestamp += MAX_COMMITMENT_AGE
    sns.commit(
        commitment("alice", committed.address, YEAR, committed.address, SECRET), sender=committed
    )


def test_make_commitment__is_not_offered_on_chain(sns):
    # Asking a node to compute it would show the name to the node before the commit.
    functions = [abi.name for abi in sns.contract_type.abi if abi.type == "function"]
    assert "make_commitment" not in functions


def test_a_copied_reveal_cannot_shorten_the_victims_registration(
    sns, token, committed, attacker, funded, balances
):
    # Issue #16, 3: the attacker copies the registrant's pending reveal, asking 28 days
    # instead of a year. The commitment binds the duration and the payer, so neither the
    # shortened copy nor the copy sent by the attacker finds it, and the registrant's own
    # registration for a year still goes through.
    funded(attacker)
    token.approve(sns, MAX_UINT256, sender=attacker)
    before = balances(committed)
    for sender, duration in ((attacker, MIN_DURATION), (attacker, YEAR), (committed, MIN_DURATION)):
        with ape.reverts("sns: no commitment for this registration"):
            sns.register("alice", committed, duration, SECRET, MAX_UINT256, sender=sender)
    assert balances(committed) == before
    receipt = sns.register("alice", committed, YEAR, SECRET, MAX_UINT256, sender=committed)
    assert sns.expiry("alice") == receipt.timestamp + YEAR


@pytest.mark.parametrize(
    "name,reason",
    [
        ("ab", "sns: name shorter than 3 characters"),
        ("", "sns: name shorter than 3 characters"),
        ("Alice", "sns: name has a character not in a-z 0-9 -"),
        ("ali_ce", "sns: name has a character not in a-z 0-9 -"),
        ("ali ce", "sns: name has a character not in a-z 0-9 -"),
        ("al\u00e9", "sns: name has a character not in a-z 0-9 -"),
        ("-alice", "sns: name starts or ends with '-'"),
        ("alice-", "sns: name starts or ends with '-'"),
    ],
)
def test_register__a_name_breaking_the_rules__is_refused_with_the_reason(
    sns, token, registrant, funded, chain, name, reason, balances
):
    funded(registrant)
    token.approve(sns, MAX_UINT256, sender=registrant)
    sns.commit(
        commitment(name, registrant.address, YEAR, registrant.address, SECRET), sender=registrant
    )
    chain.pending_timestamp += MIN_COMMITMENT_AGE
    before = balances(registrant)
    with ape.reverts(reason):
        sns.register(name, registrant, YEAR, SECRET, MAX_UINT256, sender=registrant)
    assert balances(registrant) == before
    assert not sns.valid(name)
    assert not sns.available(name)


def test_register__a_name_longer_than_32_bytes__cannot_be_encoded(sns, registrant):
    with pytest.raises(Exception):  # noqa: B017 -- refused by the ABI (String[32]) before the call
        sns.register("a" * 33, registrant, YEAR, SECRET, MAX_UINT256, sender=registrant)


def test_valid__accepts_digits_and_inner_hyphens(sns):
    assert sns.valid("a-1")
    assert sns.valid("0x0")
    assert sns.valid("a" * 32)


def test_register__shorter_than_28_days__is_refused(sns, committed):
    with ape.reverts("sns: duration shorter than 28 days"):
        sns.register("alice", committed, MIN_DURATION - 1, SECRET, MAX_UINT256, sender=committed)


def test_register__for_exactly_28_days__is_accepted(sns, register, registrant):
    receipt = register("alice", registrant, duration=MIN_DURATION)
    assert sns.ownerOf(token_id("alice")) == registrant
    assert sns.expiry("alice") == receipt.timestamp + MIN_DURATION


def test_register__to_the_zero_address__is_refused(sns, token, registrant, funded, chain):
    funded(registrant)
    token.approve(sns, MAX_UINT256, sender=registrant)
    sns.commit(
        commitment("alice", ZERO_ADDRESS, YEAR, registrant.address, SECRET), sender=registrant
    )
    chain.pending_timestamp += MIN_COMMITMENT_AGE
    with ape.reverts("sns: owner is the zero address"):
        sns.register("alice", ZERO_ADDRESS, YEAR, SECRET, MAX_UINT256, sender=registrant)


def test_register__above_max_cost__is_refused_and_moves_nothing(sns, committed, balances):
    cost = cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)
    before = balances(committed)
    with ape.reverts("sns: cost above max_cost"):
        sns.register("alice", committed, YEAR, SECRET, cost - 1, sender=committed)
    assert balances(committed) == before


def test_register__without_enough_sesh__is_refused(sns, token, committed, deployer):
    token.transfer(deployer, token.balanceOf(committed), sender=committed)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        sns.register("alice", committed, YEAR, SECRET, MAX_UINT256, sender=committed)


def test_register__a_taken_name__is_refused(sns, register, registrant, attacker, token, funded):
    register("alice", registrant)
    with ape.reverts("sns: name not available"):
        register("alice", attacker)
    assert not sns.available("alice")


def test_register__during_grace__is_refused(
    sns, register, registrant, attacker, chain, sesh_feed, deployer
):
    register("alice", registrant)
    travel(chain, YEAR + GRACE_PERIOD - 3600, sesh_feed, deployer)
    assert not sns.available("alice")
    with ape.reverts("sns: name not available"):
        register("alice", attacker)


def test_register__after_grace__burns_the_old_token_and_charges_the_premium(
    sns, token, register, registrant, buyer, chain, sesh_feed, deployer, pool
):
    receipt = register("alice", registrant)
    sns.set_session_id("alice", b"\x05" + b"\x11" * 32, sender=registrant)
    expiry = receipt.timestamp + YEAR
    travel(chain, YEAR + GRACE_PERIOD + 5 * 86_400 - 3600 + 7, sesh_feed, deployer)
    assert sns.available("alice")
    pool_before = token.balanceOf(pool)
    receipt = register("alice", buyer)
    premium = premium_usd(PREMIUM_START, expiry, receipt.timestamp)
    assert 0 < premium < PREMIUM_START // 16
    charged = token.balanceOf(pool) - pool_before
    assert charged == cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE, premium=premium)
    assert sns.ownerOf(token_id("alice")) == buyer
    assert sns.balanceOf(registrant) == 0
    assert sns.resolve("alice") == b""
    transfers = receipt.events.filter(sns.Transfer)
    assert [(t.sender, t.receiver) for t in transfers] == [
        (registrant.address, ZERO_ADDRESS),
        (ZERO_ADDRESS, buyer.address),
    ]


def test_premium__is_zero_21_days_after_grace(
    sns, register, registrant, chain, sesh_feed, deployer
):
    register("alice", registrant)
    travel(chain, YEAR + GRACE_PERIOD + 21 * 86_400, sesh_feed, deployer)
    assert sns.premium("alice") == 0
    assert sns.register_price("alice", YEAR) == cost_units("alice", YEAR, YEARLY_PRICES, SESH_PRICE)


def test_register__while_paused__is_refused_but_renew_goes_on(
    sns, register, registrant, deployer, committed
):
    sns.pause(sender=deployer)
    with ape.reverts("sns: paused"):
        sns.register("alice", committed, YEAR, SECRET, MAX_UINT256, sender=committed)
    with ape.reverts("sns: paused"):
        sns.commit(b"\x01" * 32, sender=committed)
    sns.unpause(sender=deployer)
    sns.register("alice", committed, YEAR, SECRET, MAX_UINT256, sender=committed)
    sns.pause(sender=deployer)
    sns.renew("alice", YEAR, MAX_UINT256, sender=committed)
    assert sns.paused()
