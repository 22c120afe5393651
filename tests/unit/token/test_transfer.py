"""transfer / approve / transferFrom: success and failure paths."""

import ape

from sesh.rules.units import TOTAL_SUPPLY, UNIT

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1


def test_transfer__moves_tokens_and_logs_transfer(token, deployer, receiver):
    receipt = token.transfer(receiver, 5 * UNIT, sender=deployer)
    assert token.balanceOf(receiver) == 5 * UNIT
    assert token.balanceOf(deployer) == TOTAL_SUPPLY - 5 * UNIT
    assert receipt.events == [token.Transfer(deployer, receiver, 5 * UNIT)]


def test_transfer__of_zero__succeeds_and_changes_nothing(token, holder, receiver):
    token.transfer(receiver, 0, sender=holder)
    assert token.balanceOf(receiver) == 0
    assert token.balanceOf(holder) == 0


def test_transfer__to_self__keeps_the_balance(token, deployer):
    token.transfer(deployer, 7, sender=deployer)
    assert token.balanceOf(deployer) == TOTAL_SUPPLY


def test_transfer__beyond_the_balance__is_refused_and_moves_nothing(token, fund, holder, receiver):
    fund(holder, 10)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        token.transfer(receiver, 10 * UNIT + 1, sender=holder)
    assert token.balanceOf(holder) == 10 * UNIT
    assert token.balanceOf(receiver) == 0


def test_transfer__to_the_zero_address__is_refused(token, deployer):
    with ape.reverts("erc20: transfer to the zero address"):
        token.transfer(ZERO_ADDRESS, 1, sender=deployer)


def test_approve__sets_the_allowance_and_logs_approval(token, holder, spender):
    receipt = token.approve(spender, 42, sender=holder)
    assert token.allowance(holder, spender) == 42
    assert receipt.events == [token.Approval(holder, spender, 42)]


def test_approve__to_the_zero_address__is_refused(token, holder):
    with ape.reverts("erc20: approve to the zero address"):
        token.approve(ZERO_ADDRESS, 1, sender=holder)


def test_transfer_from__spends_the_allowance(token, fund, holder, spender, receiver):
    fund(holder, 10)
    token.approve(spender, 4 * UNIT, sender=holder)
    token.transferFrom(holder, receiver, 3 * UNIT, sender=spender)
    assert token.balanceOf(receiver) == 3 * UNIT
    assert token.balanceOf(holder) == 7 * UNIT
    assert token.allowance(holder, spender) == 1 * UNIT


def test_transfer_from__with_infinite_allowance__leaves_it_infinite(
    token, fund, holder, spender, receiver
):
    fund(holder, 10)
    token.approve(spender, MAX_UINT256, sender=holder)
    token.transferFrom(holder, receiver, 3 * UNIT, sender=spender)
    assert token.allowance(holder, spender) == MAX_UINT256


def test_transfer_from__beyond_the_allowance__is_refused_and_moves_nothing(
    token, fund, holder, spender, receiver
):
    fund(holder, 10)
    token.approve(spender, 2 * UNIT, sender=holder)
    with ape.reverts("erc20: insufficient allowance"):
        token.transferFrom(holder, receiver, 2 * UNIT + 1, sender=spender)
    assert token.balanceOf(holder) == 10 * UNIT
    assert token.allowance(holder, spender) == 2 * UNIT


def test_transfer_from__beyond_the_balance__is_refused(token, fund, holder, spender, receiver):
    fund(holder, 1)
    token.approve(spender, MAX_UINT256, sender=holder)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        token.transferFrom(holder, receiver, 2 * UNIT, sender=spender)


def test_transfer_from__without_approval__is_refused(token, fund, holder, attacker):
    fund(holder, 1)
    with ape.reverts("erc20: insufficient allowance"):
        token.transferFrom(holder, attacker, 1, sender=attacker)


def test_transfer_from__logs_only_the_transfer(token, fund, holder, spender, receiver):
    """Spending an allowance logs no Approval (as OpenZeppelin 5); `allowance()` is the truth."""
    fund(holder, 2)
    token.approve(spender, 2 * UNIT, sender=holder)
    receipt = token.transferFrom(holder, receiver, UNIT, sender=spender)
    assert receipt.events == [token.Transfer(holder, receiver, UNIT)]
