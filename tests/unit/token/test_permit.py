"""EIP-2612 permit: one signature instead of an approve transaction."""

import ape
import pytest

from sesh.contracts.permit import permit_message, sign_permit

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def deadline(chain):
    return chain.pending_timestamp + 3600


def test_permit__valid_signature__sets_the_allowance_and_bumps_the_nonce(
    token, holder, spender, deadline
):
    sig = sign_permit(holder, token, spender.address, 1234, deadline)
    receipt = token.permit(holder, spender, 1234, *sig.as_args(), sender=spender)
    assert token.allowance(holder, spender) == 1234
    assert token.nonces(holder) == 1
    assert receipt.events == [token.Approval(holder, spender, 1234)]


def test_permit__lets_the_spender_pull_without_an_approve_transaction(
    token, fund, holder, spender, receiver, deadline
):
    fund(holder, 3)
    sig = sign_permit(holder, token, spender.address, 2 * 10**9, deadline)
    token.permit(holder, spender, 2 * 10**9, *sig.as_args(), sender=spender)
    token.transferFrom(holder, receiver, 2 * 10**9, sender=spender)
    assert token.balanceOf(receiver) == 2 * 10**9


def test_permit__past_the_deadline__is_refused(token, holder, spender, chain):
    deadline = chain.pending_timestamp + 60
    sig = sign_permit(holder, token, spender.address, 1, deadline)
    chain.pending_timestamp += 61
    with ape.reverts("erc20: expired deadline"):
        token.permit(holder, spender, 1, *sig.as_args(), sender=spender)
    assert token.allowance(holder, spender) == 0


def test_permit__at_the_deadline_second__is_accepted(token, holder, spender, chain):
    deadline = chain.pending_timestamp + 60
    sig = sign_permit(holder, token, spender.address, 1, deadline)
    chain.pending_timestamp = deadline
    token.permit(holder, spender, 1, *sig.as_args(), sender=spender)
    assert token.allowance(holder, spender) == 1


def test_permit__replayed__is_refused(token, holder, spender, deadline):
    sig = sign_permit(holder, token, spender.address, 5, deadline)
    token.permit(holder, spender, 5, *sig.as_args(), sender=spender)
    token.approve(spender, 0, sender=holder)
    with ape.reverts("erc20: invalid signature"):
        token.permit(holder, spender, 5, *sig.as_args(), sender=spender)
    assert token.allowance(holder, spender) == 0


def test_permit__signed_by_someone_else__is_refused(
    token, holder, spender, attacker, chain, deadline
):
    message = permit_message(
        token_name="Session Token",
        token_version="1",
        chain_id=chain.chain_id,
        token=token.address,
        owner=holder.address,
        spender=attacker.address,
        value=10**18,
        nonce=0,
        deadline=deadline,
    )
    forged = attacker.sign_message(message)
    with ape.reverts("erc20: invalid signature"):
        token.permit(
            holder, attacker, 10**18, deadline, forged.v, forged.r, forged.s, sender=attacker
        )
    assert token.allowance(holder, attacker) == 0
    assert token.nonces(holder) == 0


def test_permit__signed_for_another_chain__is_refused(token, holder, spender, chain, deadline):
    sig = sign_permit(holder, token, spender.address, 5, deadline, chain_id=chain.chain_id + 1)
    with ape.reverts("erc20: invalid signature"):
        token.permit(holder, spender, 5, *sig.as_args(), sender=spender)


def test_permit__signed_for_another_token__is_refused(
    project, token, deployer, holder, spender, deadline
):
    other = deployer.deploy(project.SessionToken, deployer, "0x" + "00" * 20, "0x" + "00" * 20)
    sig = sign_permit(holder, other, spender.address, 5, deadline)
    with ape.reverts("erc20: invalid signature"):
        token.permit(holder, spender, 5, *sig.as_args(), sender=spender)


def test_permit__with_a_changed_amount__is_refused(token, holder, spender, deadline):
    sig = sign_permit(holder, token, spender.address, 5, deadline)
    with ape.reverts("erc20: invalid signature"):
        token.permit(holder, spender, 6, *sig.as_args(), sender=spender)


def test_permit__with_a_malleable_high_s__is_refused(token, holder, spender, deadline):
    sig = sign_permit(holder, token, spender.address, 5, deadline)
    high_s = (SECP256K1_N - int.from_bytes(sig.s, "big")).to_bytes(32, "big")
    flipped_v = 55 - sig.v  # 27 <-> 28
    with ape.reverts("ecdsa: invalid signature `s` value"):
        token.permit(holder, spender, 5, deadline, flipped_v, sig.r, high_s, sender=spender)
