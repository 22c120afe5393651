"""The off-chain check of an old-network snapshot: every problem is reported, naming the
node, and nothing is planned when there is one."""

from __future__ import annotations

import copy

import pytest

from sesh.migrate.generate import old_network
from sesh.migrate.snapshot import check_snapshot, ordered

CHAIN_ID = 412346
STAKING = "0x" + "5e" * 20
REQUIREMENT = 25_000 * 10**9


@pytest.fixture(scope="module")
def network():
    return old_network(12, CHAIN_ID, STAKING, REQUIREMENT)


def check(snapshot):
    return check_snapshot(snapshot, CHAIN_ID, STAKING, REQUIREMENT)


def test_check__valid_snapshot__plans_every_node(network):
    report = check(network.snapshot)
    assert report.ok and len(report.nodes) == 12
    keys = [int.from_bytes(__import__("eth_hash.auto").auto.keccak(n.bls_pubkey), "big")
            for n in ordered(report.nodes)]  # fmt: skip
    assert keys == sorted(keys)


def _broken(network, index, change):
    snapshot = copy.deepcopy(network.snapshot)
    change(snapshot, snapshot["service_node_states"][index])
    return snapshot, snapshot["service_node_states"][index]["service_node_pubkey"]


def test_check__forged_proof_of_possession__is_refused_naming_the_node(network):
    def forge(snapshot, node):
        node["pop_bls"] = snapshot["service_node_states"][0]["pop_bls"]

    snapshot, name = _broken(network, 4, forge)
    report = check(snapshot)
    assert not report.ok and report.nodes == []
    assert any(name in line and "proof of possession" in line for line in report.lines())


def test_check__proof_for_another_operator__is_refused(network):
    def reassign(snapshot, node):
        node["operator_address"] = node["contributors"][0]["address"] = "old-operator-1"

    snapshot, name = _broken(network, 0, reassign)
    report = check(snapshot)
    assert any(name in line and "proof of possession" in line for line in report.lines())


def test_check__duplicate_key__is_refused_naming_both_nodes(network):
    def duplicate(snapshot, node):
        first = snapshot["service_node_states"][0]
        for field in ("pubkey_bls", "pop_bls"):
            node[field] = first[field]

    snapshot, name = _broken(network, 7, duplicate)
    lines = check(snapshot).lines()
    first = network.snapshot["service_node_states"][0]["service_node_pubkey"]
    assert any(name in line and "duplicate BLS key" in line and first in line for line in lines)


def test_check__stake_above_requirement__is_refused(network):
    def above(snapshot, node):
        node["contributors"][0]["amount"] += 1

    snapshot, name = _broken(network, 0, above)
    lines = check(snapshot).lines()
    assert any(name in line and "stake above requirement" in line for line in lines)


def test_check__unknown_operator_address__is_refused(network):
    def unknown(snapshot, node):
        node["operator_address"] = node["contributors"][0]["address"] = "old-nobody"

    snapshot, name = _broken(network, 2, unknown)
    lines = check(snapshot).lines()
    assert any(name in line and "'old-nobody' has no Ethereum address" in line for line in lines)


def test_check__bad_ed25519_signature_and_fee__are_both_reported(network):
    def two(snapshot, node):
        node["ed25519_signature"] = "00" * 64
        node["operator_fee"] = 10_001

    snapshot, name = _broken(network, 3, two)
    lines = [line for line in check(snapshot).lines() if name in line]
    assert any("ed25519_signature" in line for line in lines)
    assert any("operator_fee" in line for line in lines)


def test_check__every_broken_node__is_reported(network):
    snapshot = copy.deepcopy(network.snapshot)
    states = snapshot["service_node_states"]
    states[1]["pubkey_bls"] = "zz"
    states[5]["staking_requirement"] = 1
    states[9]["contributors"] = []
    report = check(snapshot)
    named = {name for name, _ in report.problems}
    assert named == {states[i]["service_node_pubkey"] for i in (1, 5, 9)}


def test_check__another_chain_or_contract__refuses_every_proof(network):
    report = check_snapshot(network.snapshot, CHAIN_ID + 1, STAKING, REQUIREMENT)
    assert len({name for name, _ in report.problems}) == 12
