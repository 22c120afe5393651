"""The snapshot tree builder (sesh/rules/merkle_claims.py): every proof verifies, nothing
else does, and bad CSV rows are refused naming their line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sesh.rules.merkle_claims import (
    SnapshotError,
    build_snapshot,
    hash_pair,
    leaf_hash,
    old_account_hash,
    parse_snapshot_csv,
    verify_proof,
)

A = "0x" + "11" * 20
B = "0x" + "22" * 20


@given(
    amounts=st.lists(st.integers(min_value=1, max_value=2**64), min_size=1, max_size=70),
)
def test_every_proof__verifies__and_not_for_another_entry(amounts):
    snapshot = build_snapshot([(f"L{i}", A if i % 2 else B, x) for i, x in enumerate(amounts)])
    assert snapshot.total == sum(amounts)
    for entry in snapshot.entries:
        proof = snapshot.proof(entry.index)
        assert verify_proof(snapshot.root, entry.leaf, proof)
        # The same path does not prove the entry with one more unit.
        forged = leaf_hash(entry.index, entry.old_account, entry.claimant, entry.amount + 1)
        assert not verify_proof(snapshot.root, forged, proof)


def test_tree__of_one_entry__is_its_leaf():
    snapshot = build_snapshot([("L", A, 5)])
    assert snapshot.root == snapshot.entries[0].leaf
    assert snapshot.proof(0) == []


def test_tree__of_three__carries_the_odd_leaf_up():
    snapshot = build_snapshot([("L0", A, 1), ("L1", A, 2), ("L2", B, 3)])
    leaves = [e.leaf for e in snapshot.entries]
    assert snapshot.root == hash_pair(hash_pair(leaves[0], leaves[1]), leaves[2])
    assert snapshot.proof(2) == [hash_pair(leaves[0], leaves[1])]


def test_leaf__is_the_double_hash_of_the_abi_encoding():
    from eth_abi import encode
    from eth_utils import keccak

    old = old_account_hash("LOld")
    assert old == keccak(b"LOld")
    encoded = encode(["uint256", "bytes32", "address", "uint256"], [7, old, A, 9])
    assert leaf_hash(7, old, A, 9) == keccak(keccak(encoded))


def test_csv__with_header_and_blank_lines__parses_in_order():
    text = f"old_address,new_address,amount\n\nLa,{A},1.5\nLb , {B} ,2\n"
    snapshot = parse_snapshot_csv(text)
    assert [(e.index, e.old_address, e.amount) for e in snapshot.entries] == [
        (0, "La", 1_500_000_000),
        (1, "Lb", 2_000_000_000),
    ]


@pytest.mark.parametrize(
    "row, problem",
    [
        (f"La,{A}", "expected old_address,new_address,amount"),
        ("La,0x1234,1", "is not an Ethereum address"),
        ("La,0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed,1", None),  # valid checksum
        ("La,0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD,1", "no valid EIP-55 checksum"),
        ("La,0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed,1", "no valid EIP-55 checksum"),
        (f"La,{'0x' + '00' * 20},1", "zero address"),
        (f"La,{A},0", "zero amount"),
        (f"La,{A},-1", "not a SESH amount"),
        (f"La,{A},0.0000000001", "more than 9 decimals"),
        (f"La,{A},lots", "not a SESH amount"),
        (f",{A},1", "old address empty"),
        (f"Lb,{A},1", "already on line 2"),
    ],
)
def test_csv__a_bad_row__is_refused_naming_its_line(row, problem):
    text = f"old_address,new_address,amount\nLb,{B},3\n{row}\n"
    if problem is None:
        assert len(parse_snapshot_csv(text).entries) == 2
        return
    with pytest.raises(SnapshotError, match=rf"line 3: .*{problem}|line 3: {problem}"):
        parse_snapshot_csv(text)


def test_csv__empty__is_refused():
    with pytest.raises(SnapshotError, match="empty"):
        parse_snapshot_csv("old_address,new_address,amount\n")
