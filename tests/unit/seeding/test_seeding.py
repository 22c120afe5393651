"""Seeding the running network's nodes into ServiceNodeStaking: success and every refusal."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import boa
import pytest

from sesh.crypto import bls
from sesh.migrate.snapshot import SeedStake
from tests.property.boa_helpers import deploy_staking, deployer_for
from tests.unit.seeding.conftest import REQUIREMENT, ZERO, address_abi_contract

ROOT = Path(__file__).resolve().parents[3]
DAY = 86_400
STATUS_OPEN, STATUS_ACTIVE, STATUS_EXITING, STATUS_EXITED = 1, 2, 3, 4


def _aggregate(nodes) -> bytes:
    keys = [bls.PublicKey.from_eip2537(n.bls_pubkey) for n in nodes]
    return bls.aggregate_public_keys(keys).to_eip2537()


def test_seed_nodes__batch__imports_every_node_as_registration_and_contributions_would(seeding):
    nodes = seeding.nodes(20)
    staking = seeding.staking
    seeding.seed(nodes)
    full = [n for n in nodes if n.stake == REQUIREMENT]
    assert 0 < len(full) < len(nodes)  # the snapshot has open nodes too
    assert staking.node_count() == len(nodes)
    assert staking.active_nodes() == len(full)
    assert staking.aggregate_pubkey() == _aggregate(full)
    assert seeding.token.balanceOf(staking.address) == sum(n.stake for n in nodes)
    for node_id, node in enumerate(nodes, start=1):
        view = staking.node(node_id)
        assert view.operator == node.operator
        assert view.status == (STATUS_ACTIVE if node.stake == REQUIREMENT else STATUS_OPEN)
        assert view.total_stake == node.stake
        assert view.requirement == REQUIREMENT
        assert view.fee_bps == node.fee_bps
        assert view.bls_pubkey == node.bls_pubkey
        assert list(staking.contributors(node_id)) == [node.operator] + [
            c.account for c in node.contributors
        ]
        for c in node.contributors:
            share = staking.contribution(node_id, c.account)
            assert (share.stake, share.reserved) == (c.amount, c.reserved)


def test_seed_nodes__events__are_the_registration_events_bridges_read(seeding):
    nodes = seeding.nodes(4)
    extension = seeding.staking_extension
    with boa.env.prank(seeding.owner):
        extension.seed_nodes([n.args() for n in nodes])
    names = [type(e).__name__ for e in extension.get_logs()]
    expected = []
    for node in nodes:
        expected += ["NodeRegistered", "Contributed"]
        expected += ["Contributed" for c in node.contributors if c.amount]
        if node.stake == REQUIREMENT:
            expected.append("NodeActivated")
    assert [n for n in names if n != "Transfer"] == expected


def test_seed_nodes__forged_proof_in_a_batch__refuses_the_whole_batch(seeding):
    nodes = seeding.nodes(8)
    other = seeding.nodes(8, seed="another-network")
    forged = dataclasses.replace(nodes[5], bls_pop=other[0].bls_pop)
    with boa.reverts("staking: bad proof of possession"):
        seeding.seed(nodes[:5] + [forged] + nodes[6:])
    assert seeding.staking.node_count() == 0
    assert seeding.staking.active_nodes() == 0
    assert seeding.token.balanceOf(seeding.staking.address) == 0


def test_seed_nodes__proofs_that_cancel_out__are_refused(seeding):
    """Two wrong proofs whose errors cancel in a plain sum (pop_a + d, pop_b - d) pass an
    unweighted aggregate check; the random weights refuse them."""
    nodes = seeding.nodes(4)
    delta = bls.sign(bls.SecretKey(12345), b"anything", bls.DST_POP)
    a = bls.Signature.from_eip2537(nodes[1].bls_pop)
    b = bls.Signature.from_eip2537(nodes[2].bls_pop)
    shifted_a = bls.aggregate_signatures([a, delta])
    shifted_b = bls.Signature(b.point + (-delta.point))
    forged = list(nodes)
    forged[1] = dataclasses.replace(nodes[1], bls_pop=shifted_a.to_eip2537())
    forged[2] = dataclasses.replace(nodes[2], bls_pop=shifted_b.to_eip2537())
    plain = bls.aggregate_signatures([bls.Signature.from_eip2537(n.bls_pop) for n in forged])
    honest = bls.aggregate_signatures([bls.Signature.from_eip2537(n.bls_pop) for n in nodes])
    assert plain == honest  # the forgery is invisible to an unweighted sum
    with boa.reverts("staking: bad proof of possession"):
        seeding.seed(forged)


def test_seed_nodes__duplicate_key_in_a_batch__is_refused(seeding):
    nodes = seeding.nodes(5)
    with boa.reverts("staking: BLS key repeated/unsorted"):
        seeding.seed(nodes[:3] + [nodes[2]])
    with boa.reverts("staking: BLS key repeated/unsorted"):
        seeding.seed([nodes[1], nodes[0]])
    assert seeding.staking.node_count() == 0


def test_seed_nodes__key_already_seeded__is_refused(seeding):
    nodes = seeding.nodes(5)
    seeding.seed(nodes[:3])
    with boa.reverts("staking: BLS key repeated/unsorted"):
        seeding.seed([nodes[2]] + nodes[3:])
    with boa.reverts("staking: BLS key repeated/unsorted"):
        seeding.seed([nodes[0]])
    seeding.seed(nodes[3:])
    assert seeding.staking.node_count() == 5


def test_seed_nodes__stake_above_requirement__is_refused(seeding):
    nodes = seeding.nodes(3)
    above = dataclasses.replace(nodes[1], contributors=(SeedStake("0x" + "ab" * 20, 1, 0),))
    assert above.stake == REQUIREMENT + 1
    with boa.reverts("staking: stake above requirement"):
        seeding.seed([nodes[0], above, nodes[2]])
    reserved = dataclasses.replace(
        nodes[1],
        operator_stake=REQUIREMENT - 10,
        contributors=(SeedStake("0x" + "ab" * 20, 0, 11),),
    )
    with boa.reverts("staking: stake above requirement"):
        seeding.seed([reserved])
    assert seeding.staking.node_count() == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"fee_bps": 10_001}, "staking: fee above 100 %"),
        ({"operator_stake": REQUIREMENT // 4 - 1}, "staking: operator stake < 25%"),
        ({"endpoint": ""}, "staking: empty endpoint"),
        ({"ed25519_sig": b"\x01" * 63}, "staking: bad Ed25519 sig length"),
        ({"operator": ZERO}, "staking: zero operator"),
        ({"contributors": (SeedStake(ZERO, 1, 0),)}, "staking: zero contributor"),
        ({"contributors": (SeedStake("0x" + "ab" * 20, 0, 0),)}, "staking: empty contribution"),
        ({"contributors": (SeedStake("0x" + "ab" * 20, 5, 6),)}, "staking: below reserved amount"),
        (
            {
                "contributors": (
                    SeedStake("0x" + "ab" * 20, 1, 0),
                    SeedStake("0x" + "ab" * 20, 1, 0),
                )
            },
            "staking: duplicate contributor",
        ),
    ],
)
def test_seed_nodes__invalid_node__is_refused(seeding, change, reason):
    node = seeding.nodes(1)[0]
    if "operator_stake" in change or "contributors" in change:
        change.setdefault("operator_stake", REQUIREMENT // 2)
    with boa.reverts(reason):
        seeding.seed([dataclasses.replace(node, **change)])
    assert seeding.staking.node_count() == 0


def test_seed_nodes__operator_repeated_as_contributor__is_refused(seeding):
    node = seeding.nodes(1)[0]
    twice = dataclasses.replace(
        node, operator_stake=REQUIREMENT // 2, contributors=(SeedStake(node.operator, 1, 0),)
    )
    with boa.reverts("staking: operator twice"):
        seeding.seed([twice])


def test_seed_nodes__not_the_owner__is_refused(seeding):
    nodes = seeding.nodes(2)
    with boa.reverts("ownable: caller is not the owner"):
        seeding.seed(nodes, sender=boa.env.generate_address("attacker"))
    with boa.reverts("ownable: caller is not the owner"):
        seeding.start(sender=boa.env.generate_address("attacker"))


def test_start__pool_beneficiary_not_set__is_refused(seeding):
    seeding.seed(seeding.nodes(2))
    with boa.env.prank(seeding.owner), boa.reverts("staking: pool beneficiary not set"):
        seeding.at_staking.start()
    assert seeding.staking.seeding()


def test_seed_nodes__after_start__is_refused(seeding):
    nodes = seeding.nodes(3)
    seeding.seed(nodes[:2])
    seeding.start()
    assert not seeding.staking.seeding()
    with boa.reverts("staking: not seeding"):
        seeding.seed(nodes[2:])
    with boa.reverts("staking: not seeding"):
        seeding.start()


def test_before_start__registrations_contributions_and_rewards__are_refused(seeding):
    nodes = seeding.nodes(10)
    seeding.seed(nodes)
    staking = seeding.staking
    assert staking.seeding()
    operator = boa.env.generate_address("newcomer")
    keys = seeding.snapshot(1, seed="newcomer").keys
    node_keys = next(iter(keys.values()))
    args = node_keys.registration_args(seeding.chain_id, staking.address, operator)
    with boa.env.prank(operator), boa.reverts("staking: not started"):
        staking.register_node(*args, "10.0.0.1:22021", 0, REQUIREMENT, [])
    open_id = next(i for i, n in enumerate(nodes, 1) if n.stake < REQUIREMENT)
    delegator = nodes[open_id - 1].contributors[0].account
    with boa.env.prank(delegator), boa.reverts("staking: not started"):
        staking.contribute(open_id, REQUIREMENT // 4)
    with boa.reverts("staking: not started"):
        staking.distribute()
    active_id = next(i for i, n in enumerate(nodes, 1) if n.stake == REQUIREMENT)
    with boa.env.prank(nodes[active_id - 1].operator), boa.reverts("staking: not started"):
        staking.request_exit(active_id)


def test_after_start__seeded_nodes__earn_claim_fill_and_exit_as_ordinary_nodes(seeding):
    nodes = seeding.nodes(10)
    staking, token = seeding.staking, seeding.token
    seeding.seed(nodes)
    seeding.start()
    assert staking.reward_per_node() == 0
    boa.env.time_travel(seconds=2 * DAY)
    staking.distribute()
    boa.env.time_travel(seconds=DAY)
    staking.distribute()
    active_id = next(i for i, n in enumerate(nodes, 1) if n.stake == REQUIREMENT)
    operator = nodes[active_id - 1].operator
    rewards, _ = staking.claimable(active_id, operator)
    assert rewards > 0
    before = token.balanceOf(operator)
    with boa.env.prank(operator):
        staking.claim(active_id)
        staking.request_exit(active_id)
    assert token.balanceOf(operator) - before == rewards
    boa.env.time_travel(seconds=staking.exit_delay())
    staking.finalize_exit(active_id)
    assert staking.node(active_id).status == STATUS_EXITED
    remaining = [n for i, n in enumerate(nodes, 1) if n.stake == REQUIREMENT and i != active_id]
    assert staking.aggregate_pubkey() == _aggregate(remaining)
    with boa.env.prank(operator):
        staking.claim(active_id)
    # An open seeded node fills when its reserved delegator contributes.
    open_id = next(i for i, n in enumerate(nodes, 1) if n.stake < REQUIREMENT)
    slot = nodes[open_id - 1].contributors[0]
    with boa.env.prank(seeding.owner):
        token.transfer(slot.account, slot.reserved)
    with boa.env.prank(slot.account):
        token.approve(staking.address, slot.reserved)
        staking.contribute(open_id, slot.reserved)
    view = staking.node(open_id)
    assert view.total_stake == nodes[open_id - 1].stake + slot.reserved
    public = REQUIREMENT - view.total_stake
    newcomer = boa.env.generate_address("delegator")
    with boa.env.prank(seeding.owner):
        token.transfer(newcomer, public)
    with boa.env.prank(newcomer):
        token.approve(staking.address, public)
        staking.contribute(open_id, public)
    assert staking.node(open_id).status == STATUS_ACTIVE


def test_register_node__after_start__works_and_pays_from_start_only(seeding):
    seeding.seed(seeding.nodes(3))
    seeding.start()
    operator = boa.env.generate_address("newcomer")
    node_keys = next(iter(seeding.snapshot(1, seed="newcomer").keys.values()))
    args = node_keys.registration_args(seeding.chain_id, seeding.staking.address, operator)
    with boa.env.prank(seeding.owner):
        seeding.token.transfer(operator, REQUIREMENT)
    with boa.env.prank(operator):
        seeding.token.approve(seeding.staking.address, REQUIREMENT)
        node_id = seeding.staking.register_node(*args, "10.0.0.1:22021", 0, REQUIREMENT, [])
    assert node_id == 4
    assert seeding.staking.node(node_id).status == STATUS_ACTIVE


def _suite(owner: str):
    token = deployer_for("SessionToken.vy").deploy(owner, ZERO, ZERO)
    pool = deployer_for("RewardRatePool.vy").deploy(token.address)
    verifier = deployer_for("BLSVerifier.vy").deploy()
    return token, pool, verifier


def test_live_deployment__has_no_seeding_phase():
    owner = boa.env.generate_address("owner")
    with boa.env.prank(owner):
        token, pool, verifier = _suite(owner)
        extension, staking = deploy_staking(token, pool, verifier)
        assert not staking.seeding()
        assert staking.EXTENSION() == extension.address
        staking.distribute()
        at_staking = address_abi_contract().at(staking.address)
        with boa.reverts("staking: not seeding"):
            at_staking.start()
        with boa.reverts("staking: not seeding"):
            at_staking.seed_nodes([])


@pytest.mark.parametrize("other", ["token", "pool", "verifier"])
def test_deploy__extension_for_other_contracts__is_refused(seeding, other):
    """An extension deployed for another token, pool or verifier would run the owner's
    setters and seeding against contracts the staking contract does not use."""
    mine = {"token": seeding.token, "pool": seeding.pool, "verifier": seeding.verifier}
    with boa.env.prank(seeding.owner):
        token, pool, verifier = _suite(seeding.owner)
        theirs = {"token": token, "pool": pool, "verifier": verifier}
        args = {name: (theirs if name == other else mine)[name].address for name in mine}
        extension = deployer_for("ServiceNodeStakingExtension.vy").deploy(
            args["token"], args["pool"], args["verifier"]
        )
        with boa.reverts("staking: extension for other contracts"):
            deployer_for("ServiceNodeStaking.vy").deploy(
                seeding.token.address,
                seeding.pool.address,
                seeding.verifier.address,
                extension.address,
                True,
            )


@pytest.mark.parametrize("extension", ["zero address", "account without code"])
def test_deploy__no_extension_contract__is_refused(seeding, extension):
    """Without an extension the owner's setters would be unreachable: a zero address or an
    account (EOA) is refused, live or seeding."""
    address = {"zero address": ZERO, "account without code": seeding.owner}[extension]
    for seeding_phase in (False, True):
        with boa.env.prank(seeding.owner), boa.reverts("staking: extension for other contracts"):
            deployer_for("ServiceNodeStaking.vy").deploy(
                seeding.token.address,
                seeding.pool.address,
                seeding.verifier.address,
                address,
                seeding_phase,
            )


def test_deploy__contract_that_is_not_an_extension__is_refused(seeding):
    """A contract answering none of TOKEN, POOL, VERIFIER (here the verifier) makes the
    constructor's check revert (without a reason: the call itself reverts)."""
    with boa.env.prank(seeding.owner), boa.reverts():
        deployer_for("ServiceNodeStaking.vy").deploy(
            seeding.token.address,
            seeding.pool.address,
            seeding.verifier.address,
            seeding.verifier.address,
            False,
        )


def _layout(contract: str) -> dict[str, tuple[int, str]]:
    out = subprocess.run(
        ["vyper", "-f", "layout", f"contracts/{contract}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    flat: dict[str, tuple[int, str]] = {}

    def walk(table: dict, prefix: str = "") -> None:
        for name, entry in table.items():
            if "slot" in entry:
                flat[prefix + name] = (entry["slot"], entry["type"])
            else:
                walk(entry, f"{prefix}{name}.")

    walk(json.loads(out)["storage_layout"])
    return flat


def test_extension__storage_layout__is_the_staking_contracts_slot_by_slot():
    staking = _layout("ServiceNodeStaking.vy")
    extension = _layout("ServiceNodeStakingExtension.vy")
    assert {name: extension.get(name) for name in staking} == staking
    extra = {name: slot for name, slot in extension.items() if name not in staking}
    assert min(slot for slot, _ in extra.values()) > max(slot for slot, _ in staking.values())


def test_staking__deployed_code__fits_eip_170(seeding):
    code = boa.env.evm.get_code(boa.util.abi.Address(seeding.staking.address))
    assert len(code) <= 24_576


def test_sweep__after_seeding__moves_only_the_stray_sesh_to_the_pool(seeding):
    """Seeded stakes are owed (pulled by `seed_nodes`): `sweep` leaves them and sends what
    arrived by plain transfer to the reward pool. Before `start` it is refused."""
    nodes = seeding.nodes(6)
    seeding.seed(nodes)
    staked = sum(n.stake for n in nodes)
    stray = 123 * 10**9
    with boa.env.prank(seeding.owner):
        seeding.token.transfer(seeding.staking.address, stray)
    with boa.reverts("staking: not started"):
        seeding.at_staking.sweep()
    seeding.start()
    # A day passes so the first release is pulled: it is owed too (rewards).
    boa.env.time_travel(seconds=2 * DAY)
    seeding.staking.distribute()
    owed = seeding.token.balanceOf(seeding.staking.address) - stray
    assert owed > staked
    pool_before = seeding.token.balanceOf(seeding.pool.address)
    anyone = boa.env.generate_address("anyone")
    extension = seeding.staking_extension
    with boa.env.prank(anyone):
        extension.sweep()
    [swept] = [e for e in extension.get_logs() if type(e).__name__ == "Swept"]
    assert (swept.caller, swept.amount) == (anyone, stray)
    assert seeding.token.balanceOf(seeding.staking.address) == owed
    assert seeding.token.balanceOf(seeding.pool.address) - pool_before == stray
    # Nothing stray is left: a second sweep moves nothing.
    with boa.env.prank(anyone):
        extension.sweep()
    assert seeding.token.balanceOf(seeding.staking.address) == owed
