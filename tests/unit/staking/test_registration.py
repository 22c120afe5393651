"""register_node: keys, proof of possession, stakes and reservations."""

import ape
import pytest

from sesh.contracts.permit import sign_permit
from sesh.crypto import bls

from .conftest import REQUIREMENT

ZERO = "0x0000000000000000000000000000000000000000"
ENDPOINT = "203.0.113.7:22021"


def _args(keys, chain, staking, operator):
    return keys.registration_args(chain.chain_id, staking.address, operator.address)


def test_register__solo_full_stake__activates_and_joins_the_aggregate_key(
    staking, token, register, operator
):
    before = token.balanceOf(operator)
    node = register(operator)
    assert node.node_id == 1
    info = staking.node(1)
    assert info.status == staking.STATUS_ACTIVE()
    assert info.operator == operator
    assert info.total_stake == info.requirement == REQUIREMENT
    assert info.bls_pubkey == node.keys.bls_pubkey.to_eip2537()
    assert staking.active_nodes() == 1
    assert staking.aggregate_pubkey() == node.keys.bls_pubkey.to_eip2537()
    assert token.balanceOf(operator) == before - REQUIREMENT
    assert token.balanceOf(staking) == REQUIREMENT


def test_register__logs_registered_then_contributed_then_activated(staking, register, operator):
    node = register(operator, fee_bps=250)
    names = [
        log.event_name for log in node.receipt.events if log.contract_address == staking.address
    ]
    assert names[-3:] == ["NodeRegistered", "Contributed", "NodeActivated"]
    registered = node.receipt.events.filter(staking.NodeRegistered)[0]
    assert registered.node_id == node.node_id
    assert registered.operator == operator
    assert registered.ed25519_pubkey == node.keys.ed25519_pubkey
    assert registered.ed25519_sig == node.keys.registration_signature()
    assert registered.bls_pubkey == node.keys.bls_pubkey.to_eip2537()
    assert registered.endpoint == ENDPOINT
    assert registered.fee_bps == 250
    contributed = node.receipt.events.filter(staking.Contributed)[0]
    assert (contributed.contributor, contributed.amount, contributed.total) == (
        operator.address,
        REQUIREMENT,
        REQUIREMENT,
    )


def test_register__quarter_stake__stays_open_for_delegators(staking, register, operator):
    node = register(operator, stake=REQUIREMENT // 4)
    info = staking.node(node.node_id)
    assert info.status == staking.STATUS_OPEN()
    assert info.total_stake == REQUIREMENT // 4
    assert staking.active_nodes() == 0
    assert staking.aggregate_pubkey() == b"\x00" * 128


def test_register__node_ids_count_up_from_one(staking, register, operator):
    assert [register(operator).node_id for _ in range(3)] == [1, 2, 3]
    assert staking.node_count() == 3


def test_register__with_reservations__holds_the_slots(
    staking, register, operator, delegator, second_delegator
):
    node = register(
        operator,
        stake=REQUIREMENT // 2,
        reserved=[(delegator, REQUIREMENT // 4), (second_delegator, REQUIREMENT // 8)],
    )
    assert staking.contributors(node.node_id) == [operator, delegator, second_delegator]
    held = staking.contribution(node.node_id, delegator)
    assert (held.stake, held.reserved) == (0, REQUIREMENT // 4)
    # What the public may bring excludes the reserved amounts: 1/8 over 7 free slots.
    assert staking.min_contribution(node.node_id) == -(-(REQUIREMENT // 8) // 7)


def test_register__with_permit__needs_no_approve_transaction(
    staking, token, chain, node_keys, accounts, deployer
):
    newcomer = accounts[8]
    token.approve(staking, 0, sender=newcomer)
    permit = sign_permit(
        newcomer, token, staking.address, REQUIREMENT, chain.pending_timestamp + 600
    )
    receipt = staking.register_node_with_permit(
        *_args(node_keys(500), chain, staking, newcomer), ENDPOINT, 0, REQUIREMENT, [],
        *permit.as_args(), sender=newcomer,
    )  # fmt: skip
    assert staking.node(receipt.return_value).status == staking.STATUS_ACTIVE()
    assert token.allowance(newcomer, staking) == 0


def test_register__with_a_front_run_permit__still_registers(
    staking, token, chain, node_keys, accounts, attacker
):
    newcomer = accounts[8]
    token.approve(staking, 0, sender=newcomer)
    permit = sign_permit(
        newcomer, token, staking.address, REQUIREMENT, chain.pending_timestamp + 600
    )
    token.permit(newcomer, staking, REQUIREMENT, *permit.as_args(), sender=attacker)
    receipt = staking.register_node_with_permit(
        *_args(node_keys(501), chain, staking, newcomer), ENDPOINT, 0, REQUIREMENT, [],
        *permit.as_args(), sender=newcomer,
    )  # fmt: skip
    assert staking.node(receipt.return_value).status == staking.STATUS_ACTIVE()


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(fee_bps=10_001), "staking: fee above 100 %"),
        (dict(stake=REQUIREMENT // 4 - 1), "staking: operator stake < 25%"),
        (dict(stake=REQUIREMENT + 1), "staking: stake above requirement"),
        (dict(endpoint=""), "staking: empty endpoint"),
        (dict(ed25519_sig=b"\x01" * 63), "staking: bad Ed25519 sig length"),
        (dict(ed25519_pubkey=b"\x00" * 32), "staking: empty Ed25519 key"),
    ],
)
def test_register__bad_input__is_refused_and_moves_no_tokens(
    staking, token, chain, node_keys, operator, change, reason
):
    pubkey, sig, bls_key, pop = _args(node_keys(7), chain, staking, operator)
    call = dict(
        ed25519_pubkey=pubkey, ed25519_sig=sig, bls_pubkey=bls_key, bls_pop=pop,
        endpoint=ENDPOINT, fee_bps=0, stake=REQUIREMENT, reserved=[],
    )  # fmt: skip
    call.update(change)
    before = token.balanceOf(operator)
    with ape.reverts(reason):
        staking.register_node(*call.values(), sender=operator)
    assert token.balanceOf(operator) == before
    assert staking.node_count() == 0


@pytest.mark.parametrize(
    "reserved, reason",
    [
        (lambda op, d, d2: [(ZERO, 1000)], "staking: reserved for zero addr"),
        (lambda op, d, d2: [(op, 1000)], "staking: reserved for operator"),
        (lambda op, d, d2: [(d, 0)], "staking: empty reservation"),
        (lambda op, d, d2: [(d, 1000), (d2, 1000), (d, 1000)], "staking: duplicate reservation"),
        (
            lambda op, d, d2: [(d, REQUIREMENT // 2), (d2, REQUIREMENT // 4 + 1)],
            "staking: reservations too large",
        ),
    ],
)
def test_register__bad_reservations__are_refused(
    staking, register, operator, delegator, second_delegator, reserved, reason
):
    with ape.reverts(reason):
        register(
            operator,
            stake=REQUIREMENT // 4,
            reserved=reserved(operator, delegator, second_delegator),
        )


def test_register__nine_reservations_not_filling_the_stake__are_refused(
    staking, register, operator, accounts
):
    # Every slot held, but the stake cannot be reached: the node could never activate.
    reserved = [(f"0x{i:040x}", 100) for i in range(1, 10)]
    with ape.reverts("staking: reservations too small"):
        register(operator, stake=REQUIREMENT // 4, reserved=reserved)


def test_register__proof_of_possession_for_another_operator__is_refused(
    staking, chain, node_keys, operator, attacker
):
    """A rogue key or a copied registration: the proof binds the operator's address."""
    pubkey, sig, bls_key, pop = _args(node_keys(9), chain, staking, operator)
    with ape.reverts("staking: bad proof of possession"):
        staking.register_node(
            pubkey, sig, bls_key, pop, ENDPOINT, 0, REQUIREMENT, [], sender=attacker
        )


def test_register__proof_of_possession_for_another_chain__is_refused(
    staking, chain, node_keys, operator
):
    keys = node_keys(10)
    wrong = bls.prove_possession(
        keys.bls, chain.chain_id + 1, staking.address, operator.address, keys.ed25519_pubkey
    ).to_eip2537()
    pubkey, sig, bls_key, _ = _args(keys, chain, staking, operator)
    with ape.reverts("staking: bad proof of possession"):
        staking.register_node(
            pubkey, sig, bls_key, wrong, ENDPOINT, 0, REQUIREMENT, [], sender=operator
        )


def test_register__rogue_aggregate_key_without_its_secret__is_refused(
    staking, chain, node_keys, register, operator, attacker
):
    """The rogue-key attack: pk_attack = pk_chosen - pk_victim cannot prove possession."""
    victim = register(operator)
    chosen = node_keys(11)
    rogue = bls.PublicKey.from_eip2537(
        bls.aggregate_public_keys(
            [
                chosen.bls_pubkey,
                bls.PublicKey.from_eip2537(_negate_g1(victim.keys.bls_pubkey.to_eip2537())),
            ]
        ).to_eip2537()
    )
    # The attacker can only sign with the secret it knows (chosen), not rogue's.
    message = bls.pop_message(
        chain.chain_id, staking.address, attacker.address, chosen.ed25519_pubkey, rogue
    )
    pop = bls.sign(chosen.bls, message, bls.DST_POP).to_eip2537()
    with ape.reverts("staking: bad proof of possession"):
        staking.register_node(
            chosen.ed25519_pubkey, b"\x01" * 64, rogue.to_eip2537(), pop, ENDPOINT, 0,
            REQUIREMENT, [], sender=attacker,
        )  # fmt: skip


def test_register__key_not_on_the_curve__is_refused_with_the_reason(
    staking, chain, node_keys, operator
):
    pubkey, sig, bls_key, pop = _args(node_keys(12), chain, staking, operator)
    broken = bls_key[:-1] + bytes([bls_key[-1] ^ 1])
    with ape.reverts("bls: public key is not on the curve"):
        staking.register_node(
            pubkey, sig, broken, pop, ENDPOINT, 0, REQUIREMENT, [], sender=operator
        )


def test_register__while_paused__is_refused_but_contributions_go_on(
    staking, register, operator, delegator, deployer
):
    node = register(operator, stake=REQUIREMENT // 2)
    staking.pause(sender=deployer)
    with ape.reverts("pausable: contract is paused"):
        register(operator)
    staking.contribute(node.node_id, REQUIREMENT // 2, sender=delegator)
    assert staking.node(node.node_id).status == staking.STATUS_ACTIVE()
    staking.unpause(sender=deployer)
    register(operator)


def _negate_g1(point: bytes) -> bytes:
    p = bls.FIELD_MODULUS
    y = int.from_bytes(point[64:], "big")
    return point[:64] + ((p - y) % p).to_bytes(64, "big")
