"""TokenConverter: conversions at the fixed rate, funding, pause, withdrawals, refusals."""

import boa
import pytest

from sesh.rules.units import UNIT
from tests.property.boa_helpers import deployer_for
from tests.unit.migration_boa import MAX_UINT256, ZERO, actor, deploy_old_token, deploy_sesh

# wOXEN has 9 decimals like SESH; a fictional 18-decimal token and a 6-decimal one too.
OLD_UNIT = {9: 10**9, 18: 10**18, 6: 10**6}


@pytest.fixture
def owner():
    return actor("owner")


@pytest.fixture
def holder():
    return actor("holder")


@pytest.fixture
def attacker():
    return actor("attacker")


@pytest.fixture
def sesh(owner):
    return deploy_sesh(owner)


def make_converter(sesh, owner, decimals=9, numerator=1, denominator=1, funding=1_000_000):
    old = deploy_old_token(decimals)
    with boa.env.prank(owner):
        converter = deployer_for("TokenConverter.vy").deploy(
            sesh.address, old.address, numerator, denominator
        )
        if funding:
            sesh.approve(converter.address, funding * UNIT)
            converter.fund(funding * UNIT)
    return old, converter


def offer(old, converter, holder, amount):
    old.mint(holder, amount)
    with boa.env.prank(holder):
        old.approve(converter.address, MAX_UINT256)


def test_convert__one_to_one__pays_sesh_and_keeps_the_old_tokens(sesh, owner, holder):
    old, converter = make_converter(sesh, owner)
    offer(old, converter, holder, 500 * UNIT)
    with boa.env.prank(holder):
        paid = converter.convert(500 * UNIT, holder)
    logs = converter.get_logs()
    assert paid == 500 * UNIT
    assert sesh.balanceOf(holder) == 500 * UNIT
    assert old.balanceOf(converter.address) == 500 * UNIT == converter.total_in()
    assert converter.total_out() == 500 * UNIT
    assert sesh.balanceOf(converter.address) == 1_000_000 * UNIT - 500 * UNIT
    (event,) = [e for e in logs if type(e).__name__ == "Converted"]
    assert (event.amount_in, event.amount_out) == (500 * UNIT, 500 * UNIT)


def test_convert__eighteen_decimals__one_whole_old_token_is_one_sesh(sesh, owner, holder):
    # 1 old token (10**18 units) -> 1 SESH (10**9 units): N/D = 1 / 10**9.
    old, converter = make_converter(sesh, owner, decimals=18, numerator=1, denominator=10**9)
    offer(old, converter, holder, 3 * 10**18 + 123)
    with boa.env.prank(holder):
        converter.convert(3 * 10**18 + 123, holder)
    # 3 SESH; of the 123 extra old units none buys a SESH unit, so they stay with the holder.
    assert sesh.balanceOf(holder) == 3 * UNIT
    assert old.balanceOf(holder) == 123
    assert converter.total_in() == 3 * 10**18


def test_convert__rounds_down__and_takes_only_what_the_payout_is_worth(sesh, owner, holder):
    # 3 SESH units for every 7 old units: 10 old units are worth 4.28 -> 4 SESH units,
    # which 10 old units cover but 9 (worth 3.86) do not: 10 are taken.
    old, converter = make_converter(sesh, owner, numerator=3, denominator=7)
    offer(old, converter, holder, 11)
    with boa.env.prank(holder):
        paid = converter.convert(11, holder)
    # 11 old units are worth 33/7 = 4.71 -> 4 SESH units; the fewest old units worth 4 are
    # ceil(4 * 7 / 3) = 10 (9.33 rounded up); 1 old unit stays with the holder.
    assert paid == 4
    assert old.balanceOf(holder) == 1
    assert converter.preview(11) == (10, 4)


def test_convert__six_decimals__pays_more_units_than_it_takes(sesh, owner, holder):
    old, converter = make_converter(sesh, owner, decimals=6, numerator=1_000, denominator=1)
    offer(old, converter, holder, 2 * 10**6)
    with boa.env.prank(holder):
        converter.convert(2 * 10**6, holder)
    assert sesh.balanceOf(holder) == 2 * UNIT


def test_convert__to_another_receiver(sesh, owner, holder):
    receiver = actor("receiver")
    old, converter = make_converter(sesh, owner)
    offer(old, converter, holder, 10)
    with boa.env.prank(holder):
        converter.convert(10, receiver)
    assert sesh.balanceOf(receiver) == 10 and sesh.balanceOf(holder) == 0


def test_convert__worth_less_than_a_unit__is_refused(sesh, owner, holder):
    old, converter = make_converter(sesh, owner, numerator=1, denominator=10**9)
    offer(old, converter, holder, 10**9 - 1)
    with boa.env.prank(holder), boa.reverts("converter: amount too small"):
        converter.convert(10**9 - 1, holder)
    with boa.env.prank(holder), boa.reverts("converter: amount too small"):
        converter.convert(0, holder)


def test_convert__more_than_funded__is_refused(sesh, owner, holder):
    old, converter = make_converter(sesh, owner, funding=1)
    offer(old, converter, holder, UNIT + 1)
    with boa.env.prank(holder), boa.reverts("converter: not enough SESH"):
        converter.convert(UNIT + 1, holder)


def test_convert__without_allowance_or_balance__is_refused(sesh, owner, holder):
    old, converter = make_converter(sesh, owner)
    old.mint(holder, 10)
    with boa.env.prank(holder), boa.reverts():
        converter.convert(10, holder)
    with boa.env.prank(holder):
        old.approve(converter.address, 100)
    with boa.env.prank(holder), boa.reverts():
        converter.convert(11, holder)


def test_convert__to_the_zero_address_or_the_converter__is_refused(sesh, owner, holder):
    old, converter = make_converter(sesh, owner)
    offer(old, converter, holder, 10)
    with boa.env.prank(holder), boa.reverts("converter: receiver is the zero address"):
        converter.convert(10, ZERO)
    with boa.env.prank(holder), boa.reverts("converter: receiver is the converter"):
        converter.convert(10, converter.address)


def test_pause__stops_conversions__unpause_resumes(sesh, owner, holder):
    old, converter = make_converter(sesh, owner)
    offer(old, converter, holder, 10)
    with boa.env.prank(owner):
        converter.pause()
    with boa.env.prank(holder), boa.reverts():
        converter.convert(10, holder)
    with boa.env.prank(owner):
        converter.unpause()
    with boa.env.prank(holder):
        converter.convert(10, holder)
    assert sesh.balanceOf(holder) == 10


def test_pause__by_anyone_else__is_refused(sesh, owner, attacker):
    _, converter = make_converter(sesh, owner)
    with boa.env.prank(attacker), boa.reverts():
        converter.pause()


def test_withdraw__while_paused__returns_unconverted_sesh_to_the_owner(sesh, owner):
    _, converter = make_converter(sesh, owner, funding=100)
    before = sesh.balanceOf(owner)
    with boa.env.prank(owner):
        converter.pause()
        converter.withdraw(40 * UNIT)
    assert sesh.balanceOf(owner) == before + 40 * UNIT
    assert converter.total_withdrawn() == 40 * UNIT
    assert converter.available() == 60 * UNIT


def test_withdraw__while_running__is_refused(sesh, owner):
    _, converter = make_converter(sesh, owner, funding=100)
    with boa.env.prank(owner), boa.reverts():
        converter.withdraw(1)


def test_withdraw__by_anyone_else_or_too_much__is_refused(sesh, owner, attacker):
    _, converter = make_converter(sesh, owner, funding=100)
    with boa.env.prank(owner):
        converter.pause()
    with boa.env.prank(attacker), boa.reverts():
        converter.withdraw(1)
    with boa.env.prank(owner), boa.reverts("converter: not enough SESH"):
        converter.withdraw(100 * UNIT + 1)
    with boa.env.prank(owner), boa.reverts("converter: zero amount"):
        converter.withdraw(0)


def test_fund__counts_the_funding(sesh, owner):
    _, converter = make_converter(sesh, owner, funding=0)
    with boa.env.prank(owner):
        sesh.approve(converter.address, 7)
        converter.fund(7)
    assert converter.total_funded() == 7 == converter.available()
    with boa.env.prank(owner), boa.reverts("converter: zero amount"):
        converter.fund(0)


@pytest.mark.parametrize(
    "numerator, denominator, reason",
    [
        (0, 1, "converter: numerator out of bounds"),
        (10**24 + 1, 1, "converter: numerator out of bounds"),
        (1, 0, "converter: denominator out of bounds"),
        (1, 10**24 + 1, "converter: denominator out of bounds"),
    ],
)
def test_deploy__rate_out_of_bounds__is_refused(sesh, owner, numerator, denominator, reason):
    old = deploy_old_token(9)
    with boa.reverts(reason):
        deployer_for("TokenConverter.vy").deploy(sesh.address, old.address, numerator, denominator)


def test_deploy__old_token_is_sesh_or_zero__is_refused(sesh):
    with boa.reverts("converter: old token is SESH"):
        deployer_for("TokenConverter.vy").deploy(sesh.address, sesh.address, 1, 1)
    with boa.reverts("converter: old token is the zero address"):
        deployer_for("TokenConverter.vy").deploy(sesh.address, ZERO, 1, 1)
