"""Holders may burn their own tokens, or tokens they are allowed to spend; nothing else."""

import ape

from sesh.rules.units import TOTAL_SUPPLY, UNIT

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_burn__reduces_balance_and_supply(token, fund, holder):
    fund(holder, 10)
    receipt = token.burn(4 * UNIT, sender=holder)
    assert token.balanceOf(holder) == 6 * UNIT
    assert token.totalSupply() == TOTAL_SUPPLY - 4 * UNIT
    assert receipt.events == [token.Transfer(holder, ZERO_ADDRESS, 4 * UNIT)]


def test_burn__beyond_the_balance__is_refused(token, fund, holder):
    fund(holder, 1)
    with ape.reverts("erc20: burn amount exceeds balance"):
        token.burn(UNIT + 1, sender=holder)
    assert token.totalSupply() == TOTAL_SUPPLY


def test_burn_from__spends_the_allowance(token, fund, holder, spender):
    fund(holder, 10)
    token.approve(spender, 5 * UNIT, sender=holder)
    token.burn_from(holder, 5 * UNIT, sender=spender)
    assert token.balanceOf(holder) == 5 * UNIT
    assert token.allowance(holder, spender) == 0
    assert token.totalSupply() == TOTAL_SUPPLY - 5 * UNIT


def test_burn_from__without_allowance__is_refused(token, fund, holder, attacker):
    fund(holder, 10)
    with ape.reverts("erc20: insufficient allowance"):
        token.burn_from(holder, 1, sender=attacker)
    assert token.balanceOf(holder) == 10 * UNIT
