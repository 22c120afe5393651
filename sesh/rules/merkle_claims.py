"""Claims from the old chain: the snapshot, its Merkle tree, and each holder's proof.

What `contracts/MerkleClaim.vy` verifies, specified so another implementation agrees:

- An entry is `(index, old_address, claimant, amount)`: its position in the snapshot
  (0, 1, 2 … in file order), the holder's old-chain address as text, the Arbitrum
  address the holder registered, and SESH units.
- `old_account = keccak256(old_address as UTF-8)`.
- `leaf = keccak256(keccak256(abi_encode(uint256 index, bytes32 old_account,
  address claimant, uint256 amount)))`. Hashing twice means no leaf can be read as an
  inner node (whose pre-image is 64 bytes) and no inner node as a leaf.
- An inner node is `keccak256(min(a, b) ‖ max(a, b))` (sorted pair, as big-endian
  integers), so a proof is just the sibling hashes, bottom up. A layer of odd length
  carries its last node up unchanged. A snapshot of one entry has its leaf as root.

`parse_snapshot_csv` reads `old_address,new_address,amount` rows (new addresses EIP-55
checksummed, amounts in SESH with at most 9 decimals; an optional header row) and
refuses a bad row naming its line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import is_address, is_checksum_address, keccak, to_checksum_address

from sesh.rules.units import from_units, to_units

HEADER = ("old_address", "new_address", "amount")
MAX_OLD_ADDRESS = 256


class SnapshotError(ValueError):
    """A snapshot the tree must not be built from; the message names the line."""


@dataclass(frozen=True)
class Entry:
    index: int
    old_address: str
    claimant: str
    amount: int

    @property
    def old_account(self) -> bytes:
        return old_account_hash(self.old_address)

    @property
    def leaf(self) -> bytes:
        return leaf_hash(self.index, self.old_account, self.claimant, self.amount)


def old_account_hash(old_address: str) -> bytes:
    return keccak(old_address.encode("utf-8"))


def leaf_hash(index: int, old_account: bytes, claimant: str, amount: int) -> bytes:
    encoded = encode(
        ["uint256", "bytes32", "address", "uint256"], [index, old_account, claimant, amount]
    )
    return keccak(keccak(encoded))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: list[bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


def verify_proof(root: bytes, leaf: bytes, proof: list[bytes]) -> bool:
    return process_proof(leaf, proof) == root


class MerkleTree:
    """Layers bottom up; `proof(i)` is leaf i's siblings, bottom up."""

    def __init__(self, leaves: list[bytes]):
        if not leaves:
            raise SnapshotError("the snapshot is empty")
        self.layers = [list(leaves)]
        while len(self.layers[-1]) > 1:
            below = self.layers[-1]
            above = [hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            self.layers.append(above)

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    def proof(self, index: int) -> list[bytes]:
        siblings = []
        for layer in self.layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                siblings.append(layer[sibling])
            index //= 2
        return siblings


@dataclass(frozen=True)
class Snapshot:
    entries: list[Entry]
    tree: MerkleTree

    @property
    def root(self) -> bytes:
        return self.tree.root

    @property
    def total(self) -> int:
        return sum(entry.amount for entry in self.entries)

    def proof(self, index: int) -> list[bytes]:
        return self.tree.proof(index)

    def to_json(self) -> dict:
        """Every holder's claim: what `sesh migrate tokens claim` and any wallet submit."""
        return {
            "merkle_root": "0x" + self.root.hex(),
            "total": self.total,
            "claims": [
                {
                    "index": entry.index,
                    "old_address": entry.old_address,
                    "old_account": "0x" + entry.old_account.hex(),
                    "claimant": entry.claimant,
                    "amount": entry.amount,
                    "amount_sesh": str(from_units(entry.amount)),
                    "proof": ["0x" + sibling.hex() for sibling in self.proof(entry.index)],
                }
                for entry in self.entries
            ],
        }


def build_snapshot(rows: list[tuple[str, str, int]]) -> Snapshot:
    """`rows` of (old_address, claimant, units), already checked, in snapshot order."""
    entries = [
        Entry(index, old, to_checksum_address(new), amount)
        for index, (old, new, amount) in enumerate(rows)
    ]
    return Snapshot(entries, MerkleTree([entry.leaf for entry in entries]))


def parse_snapshot_csv(text: str) -> Snapshot:
    """Read `old_address,new_address,amount` rows; refuse any bad row, naming its line."""
    rows: list[tuple[str, str, int]] = []
    seen: dict[str, int] = {}
    for line_number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or all(not field.strip() for field in fields):
            continue
        fields = [field.strip() for field in fields]
        if not rows and not seen and tuple(f.lower() for f in fields) == HEADER:
            continue
        where = f"line {line_number}"
        if len(fields) != 3:
            raise SnapshotError(
                f"{where}: expected old_address,new_address,amount, got {len(fields)} fields"
            )
        old, new, amount_text = fields
        if not old or len(old) > MAX_OLD_ADDRESS:
            raise SnapshotError(f"{where}: old address empty or too long")
        if old in seen:
            raise SnapshotError(f"{where}: old address {old} already on line {seen[old]}")
        if not is_address(new) or not new.startswith("0x"):
            raise SnapshotError(f"{where}: {new!r} is not an Ethereum address")
        if not is_checksum_address(new):
            # All one case carries no checksum, so a typo would pay a stranger.
            raise SnapshotError(f"{where}: {new} has no valid EIP-55 checksum")
        if int(new, 16) == 0:
            raise SnapshotError(f"{where}: the new address is the zero address")
        try:
            amount = to_units(amount_text)
        except ValueError as error:
            raise SnapshotError(f"{where}: {error}") from None
        if amount == 0:
            raise SnapshotError(f"{where}: zero amount")
        seen[old] = line_number
        rows.append((old, new, amount))
    if not rows:
        raise SnapshotError("the snapshot is empty")
    return build_snapshot(rows)
