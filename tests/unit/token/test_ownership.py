"""Two-step ownership: the owner's only power is the Arbitrum L1 registration."""

import ape

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_owner__is_the_deployer(token, deployer):
    assert token.owner() == deployer
    assert token.pending_owner() == ZERO_ADDRESS


def test_transfer_ownership__takes_effect_only_when_accepted(token, deployer, holder):
    token.transfer_ownership(holder, sender=deployer)
    assert token.owner() == deployer
    assert token.pending_owner() == holder
    token.accept_ownership(sender=holder)
    assert token.owner() == holder
    assert token.pending_owner() == ZERO_ADDRESS


def test_accept_ownership__by_anyone_but_the_pending_owner__is_refused(
    token, deployer, holder, attacker
):
    token.transfer_ownership(holder, sender=deployer)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        token.accept_ownership(sender=attacker)


def test_transfer_ownership__by_a_non_owner__is_refused(token, attacker):
    with ape.reverts("ownable: caller is not the owner"):
        token.transfer_ownership(attacker, sender=attacker)


def test_renounce_ownership__leaves_no_owner(token, deployer):
    token.renounce_ownership(sender=deployer)
    assert token.owner() == ZERO_ADDRESS
