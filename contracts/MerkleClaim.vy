# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Network claims from the old chain
@custom:contract-name MerkleClaim
@license GNU General Public License v3.0 or later
@notice Pays out a snapshot of balances held on the old chain. Each holder's
        entry binds an index, the holder's old-chain address, the Arbitrum
        address they registered and an amount; anyone may submit an entry with
        its Merkle proof, and the SESH always goes to the registered address.
        Each index pays once. After `DEADLINE`, claims stop and anyone may sweep
        what is left to `SWEEP_TO`, fixed at deployment (the reward pool).
@dev Leaf = keccak256(keccak256(abi_encode(index, old_account, claimant, amount))),
     `old_account` = keccak256 of the old-chain address as text (UTF-8). Inner
     nodes hash the sorted pair (`keccak256(min ‖ max)`). The double hash keeps
     a leaf (64 bytes hashed) from ever equalling an inner node's pre-image in
     form, so no inner node can pass for a leaf (second-preimage). docs/migration.md.
     The contract pays nothing until `fund` has pulled exactly `TOTAL`, the sum
     of the snapshot; claims then conserve: balance = TOTAL - claimed (plus any
     SESH sent directly, which only the sweep moves).
"""


from ethereum.ercs import IERC20

import interfaces.IMerkleClaim as IMerkleClaim
implements: IMerkleClaim

from snekmate.utils import merkle_proof_verification


# @dev Longest proof accepted: a tree of up to 2**32 entries.
MAX_PROOF_LENGTH: public(constant(uint256)) = 32
# @dev Bounds of the claim window at deployment.
MIN_CLAIM_WINDOW: public(constant(uint256)) = 86400
MAX_CLAIM_WINDOW: public(constant(uint256)) = 10 * 365 * 86400


# @dev SESH.
TOKEN: public(immutable(IERC20))
# @dev The snapshot's Merkle root.
MERKLE_ROOT: public(immutable(bytes32))
# @dev The snapshot's sum: what `fund` pulls.
TOTAL: public(immutable(uint256))
# @dev Claims are accepted strictly before this timestamp; the sweep from it on.
DEADLINE: public(immutable(uint256))
# @dev Where the sweep sends what is left.
SWEEP_TO: public(immutable(address))


# @dev Word => 256 claimed flags: index i is bit i % 256 of word i // 256.
_claimed_words: HashMap[uint256, uint256]
# @dev Whether `fund` has brought `TOTAL` in.
funded: public(bool)
# @dev SESH paid by claims.
total_claimed: public(uint256)
# @dev Whether the sweep has run.
swept: public(bool)


# @dev An entry paid.
event Claimed:
    index: indexed(uint256)
    old_account: indexed(bytes32)
    claimant: indexed(address)
    amount: uint256


# @dev `TOTAL` brought in.
event Funded:
    funder: indexed(address)
    amount: uint256


# @dev What was left after the deadline, sent to `SWEEP_TO`.
event Swept:
    receiver: indexed(address)
    amount: uint256


@deploy
def __init__(token: IERC20, merkle_root: bytes32, total: uint256, deadline: uint256, sweep_to: address):
    """
    @param token SESH.
    @param merkle_root The snapshot's root (`sesh migrate tokens` prints it).
    @param total The sum of the snapshot's amounts.
    @param deadline The end of the claim window, 1 day to 10 years from now.
    @param sweep_to Where what is left goes after `deadline` (the reward pool).
    """
    assert token.address != empty(address), "claim: token is the zero address"
    assert merkle_root != empty(bytes32), "claim: empty root"
    assert total != 0, "claim: zero total"
    assert deadline >= block.timestamp + MIN_CLAIM_WINDOW, "claim: deadline too soon"
    assert deadline <= block.timestamp + MAX_CLAIM_WINDOW, "claim: deadline too far"
    assert sweep_to != empty(address), "claim: sweep to the zero address"
    TOKEN = token
    MERKLE_ROOT = merkle_root
    TOTAL = total
    DEADLINE = deadline
    SWEEP_TO = sweep_to


@external
@nonreentrant
def fund():
    """
    @notice Brings exactly `TOTAL` SESH in; claims open once it has.
    @dev Anyone, once; the caller must have approved `TOTAL`.
    """
    assert not self.funded, "claim: already funded"
    assert block.timestamp < DEADLINE, "claim: deadline passed"
    self.funded = True
    log Funded(funder=msg.sender, amount=TOTAL)
    before: uint256 = staticcall TOKEN.balanceOf(self)
    assert extcall TOKEN.transferFrom(msg.sender, self, TOTAL), "claim: transfer failed"
    assert staticcall TOKEN.balanceOf(self) == before + TOTAL, "claim: funding short"


@external
@nonreentrant
def claim(
    index: uint256,
    old_account: bytes32,
    claimant: address,
    amount: uint256,
    proof: DynArray[bytes32, MAX_PROOF_LENGTH],
):
    """
    @notice Pays the snapshot entry `index` to its registered `claimant`.
    @dev Anyone may submit; the SESH goes to `claimant` whoever sends it.
    @param index The entry's index in the snapshot.
    @param old_account keccak256 of the holder's old-chain address (UTF-8 text).
    @param claimant The Arbitrum address the holder registered.
    @param amount SESH units.
    @param proof The sibling hashes from the leaf to the root.
    """
    assert self.funded, "claim: not funded"
    assert block.timestamp < DEADLINE, "claim: deadline passed"
    assert not self._is_claimed(index), "claim: already claimed"
    assert merkle_proof_verification._verify(proof, MERKLE_ROOT, self._leaf(index, old_account, claimant, amount)), (
        "claim: invalid proof"
    )
    word: uint256 = index // 256
    self._claimed_words[word] = self._claimed_words[word] | (1 << (index % 256))
    self.total_claimed += amount
    log Claimed(index=index, old_account=old_account, claimant=claimant, amount=amount)
    assert extcall TOKEN.transfer(claimant, amount), "claim: transfer failed"


@external
@nonreentrant
def sweep() -> uint256:
    """
    @notice Sends everything left to `SWEEP_TO` once the deadline has passed.
    @dev Anyone. Callable again if SESH arrives later.
    @return SESH units swept.
    """
    assert block.timestamp >= DEADLINE, "claim: deadline not reached"
    amount: uint256 = staticcall TOKEN.balanceOf(self)
    assert amount != 0, "claim: nothing to sweep"
    self.swept = True
    log Swept(receiver=SWEEP_TO, amount=amount)
    assert extcall TOKEN.transfer(SWEEP_TO, amount), "claim: transfer failed"
    return amount


@view
@external
def is_claimed(index: uint256) -> bool:
    """
    @notice Whether entry `index` has been paid.
    @param index The entry's index.
    @return True once paid.
    """
    return self._is_claimed(index)


@pure
@external
def leaf(index: uint256, old_account: bytes32, claimant: address, amount: uint256) -> bytes32:
    """
    @notice The leaf hash of an entry, as the tree builder must compute it.
    @param index The entry's index.
    @param old_account keccak256 of the old-chain address (UTF-8 text).
    @param claimant The registered Arbitrum address.
    @param amount SESH units.
    @return keccak256(keccak256(abi_encode(index, old_account, claimant, amount))).
    """
    return self._leaf(index, old_account, claimant, amount)


@internal
@view
def _is_claimed(index: uint256) -> bool:
    return (self._claimed_words[index // 256] >> (index % 256)) & 1 == 1


@internal
@pure
def _leaf(index: uint256, old_account: bytes32, claimant: address, amount: uint256) -> bytes32:
    return keccak256(keccak256(abi_encode(index, old_account, claimant, amount)))
