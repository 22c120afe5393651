"""MerkleClaim: funding with exactly the total, claims with proofs, the bitmap, the
deadline and the sweep; every refusal."""

import boa
import pytest

from sesh.rules.merkle_claims import build_snapshot, old_account_hash
from sesh.rules.units import UNIT
from tests.property.boa_helpers import deployer_for
from tests.unit.migration_boa import ZERO, actor, deploy_sesh, now

DAY = 86400


@pytest.fixture
def funder():
    return actor("funder")


@pytest.fixture
def pool():
    return actor("reward_pool")


@pytest.fixture
def keeper():
    return actor("keeper")


@pytest.fixture
def sesh(funder):
    return deploy_sesh(funder)


@pytest.fixture
def holders():
    return [actor(f"holder{i}") for i in range(5)]


@pytest.fixture
def snapshot(holders):
    rows = [
        (f"LOld{i}addr", holder, (i + 1) * 1_000 * UNIT + i) for i, holder in enumerate(holders)
    ]
    return build_snapshot(rows)


def deploy_claim(sesh, snapshot, pool, window=30 * DAY, total=None):
    return deployer_for("MerkleClaim.vy").deploy(
        sesh.address, snapshot.root, total or snapshot.total, now() + window, pool
    )


@pytest.fixture
def claim(sesh, snapshot, pool, funder):
    contract = deploy_claim(sesh, snapshot, pool)
    with boa.env.prank(funder):
        sesh.approve(contract.address, snapshot.total)
        contract.fund()
    return contract


def args(snapshot, index):
    entry = snapshot.entries[index]
    return entry.index, entry.old_account, entry.claimant, entry.amount, snapshot.proof(index)


def test_leaf__matches_the_off_chain_builder(claim, snapshot):
    entry = snapshot.entries[3]
    assert claim.leaf(entry.index, entry.old_account, entry.claimant, entry.amount) == entry.leaf


def test_claim__pays_the_registered_address__whoever_submits(claim, sesh, snapshot, keeper):
    entry = snapshot.entries[2]
    with boa.env.prank(keeper):
        claim.claim(*args(snapshot, 2))
    assert sesh.balanceOf(entry.claimant) == entry.amount
    assert sesh.balanceOf(keeper) == 0
    assert claim.is_claimed(2) and not claim.is_claimed(1)
    assert claim.total_claimed() == entry.amount
    assert sesh.balanceOf(claim.address) == snapshot.total - entry.amount


def test_claim__every_entry__empties_the_contract(claim, sesh, snapshot):
    for i in range(len(snapshot.entries)):
        claim.claim(*args(snapshot, i))
    assert sesh.balanceOf(claim.address) == 0
    assert claim.total_claimed() == snapshot.total


def test_claim__twice__is_refused(claim, snapshot):
    claim.claim(*args(snapshot, 0))
    with boa.reverts("claim: already claimed"):
        claim.claim(*args(snapshot, 0))


@pytest.mark.parametrize("field", ["index", "old_account", "claimant", "amount", "proof"])
def test_claim__any_field_altered__is_refused(claim, snapshot, field):
    index, old_account, claimant, amount, proof = args(snapshot, 1)
    if field == "index":
        index = 2
    elif field == "old_account":
        old_account = old_account_hash("LOld2addr")
    elif field == "claimant":
        claimant = actor("attacker")
    elif field == "amount":
        amount += 1
    else:
        proof = snapshot.proof(2)
    with boa.reverts("claim: invalid proof"):
        claim.claim(index, old_account, claimant, amount, proof)


def test_claim__an_inner_node_as_a_leaf__is_refused(claim, snapshot):
    # Second preimage: an inner node (hash of two leaves) presented with the rest of the
    # path. It cannot be expressed as an entry because leaves are hashed twice; passing
    # the pair's children as "proof" of a made-up entry fails too.
    layer1 = snapshot.tree.layers[1]
    with boa.reverts("claim: invalid proof"):
        claim.claim(0, layer1[0], ZERO, 0, snapshot.proof(0)[1:])


def test_claim__before_funding__is_refused(sesh, snapshot, pool):
    contract = deploy_claim(sesh, snapshot, pool)
    with boa.reverts("claim: not funded"):
        contract.claim(*args(snapshot, 0))


def test_claim__at_the_deadline__is_refused(claim, snapshot):
    boa.env.time_travel(seconds=claim.DEADLINE() - now())
    with boa.reverts("claim: deadline passed"):
        claim.claim(*args(snapshot, 0))


def test_claim__a_second_before_the_deadline__pays(claim, sesh, snapshot):
    boa.env.time_travel(seconds=claim.DEADLINE() - now() - 1)
    claim.claim(*args(snapshot, 0))
    assert sesh.balanceOf(snapshot.entries[0].claimant) == snapshot.entries[0].amount


def test_fund__twice_or_short__is_refused(sesh, snapshot, pool, funder):
    contract = deploy_claim(sesh, snapshot, pool)
    with boa.env.prank(funder):
        sesh.approve(contract.address, snapshot.total - 1)
        with boa.reverts():
            contract.fund()
        sesh.approve(contract.address, 2 * snapshot.total)
        contract.fund()
        with boa.reverts("claim: already funded"):
            contract.fund()
    assert sesh.balanceOf(contract.address) == snapshot.total


def test_fund__after_the_deadline__is_refused(sesh, snapshot, pool, funder):
    contract = deploy_claim(sesh, snapshot, pool, window=DAY)
    boa.env.time_travel(seconds=DAY)
    with boa.env.prank(funder):
        sesh.approve(contract.address, snapshot.total)
        with boa.reverts("claim: deadline passed"):
            contract.fund()


def test_sweep__after_the_deadline__sends_what_is_left_to_the_pool(
    claim, sesh, snapshot, pool, keeper
):
    claim.claim(*args(snapshot, 0))
    boa.env.time_travel(seconds=claim.DEADLINE() - now())
    with boa.env.prank(keeper):
        swept = claim.sweep()
    assert swept == snapshot.total - snapshot.entries[0].amount
    assert sesh.balanceOf(pool) == swept
    assert sesh.balanceOf(claim.address) == 0
    with boa.reverts("claim: nothing to sweep"):
        claim.sweep()


def test_sweep__before_the_deadline__is_refused(claim):
    boa.env.time_travel(seconds=claim.DEADLINE() - now() - 1)
    with boa.reverts("claim: deadline not reached"):
        claim.sweep()


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"root": b"\x00" * 32}, "claim: empty root"),
        ({"total": 0}, "claim: zero total"),
        ({"window": DAY - 1}, "claim: deadline too soon"),
        ({"window": 10 * 365 * DAY + 1}, "claim: deadline too far"),
        ({"sweep_to": ZERO}, "claim: sweep to the zero address"),
    ],
)
def test_deploy__bad_parameters__are_refused(sesh, snapshot, pool, change, reason):
    params = {"root": snapshot.root, "total": snapshot.total, "window": 30 * DAY, "sweep_to": pool}
    params.update(change)
    with boa.reverts(reason):
        deployer_for("MerkleClaim.vy").deploy(
            sesh.address,
            params["root"],
            params["total"],
            now() + params["window"],
            params["sweep_to"],
        )


def test_claim__a_single_entry_snapshot__has_an_empty_proof(sesh, pool, funder):
    holder = actor("only_holder")
    snapshot = build_snapshot([("LOnly", holder, 5)])
    contract = deploy_claim(sesh, snapshot, pool)
    with boa.env.prank(funder):
        sesh.approve(contract.address, 5)
        contract.fund()
    contract.claim(0, snapshot.entries[0].old_account, holder, 5, [])
    assert sesh.balanceOf(holder) == 5


def test_claim__a_large_index__uses_its_own_bit(sesh, pool, funder):
    # Bitmap words: index 256 sits in word 1, bit 0; claiming it leaves 0 untouched.
    rows = [(f"L{i}", actor(f"h{i}"), 1) for i in range(300)]
    snapshot = build_snapshot(rows)
    contract = deploy_claim(sesh, snapshot, pool)
    with boa.env.prank(funder):
        sesh.approve(contract.address, snapshot.total)
        contract.fund()
    contract.claim(*args(snapshot, 256))
    assert contract.is_claimed(256) and not contract.is_claimed(0)
    contract.claim(*args(snapshot, 0))
    assert contract.is_claimed(0)
