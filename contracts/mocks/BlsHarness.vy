# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title BLS12-381 module harness (tests and benchmarks only)
@custom:contract-name BlsHarness
@license GNU General Public License v3.0 or later
@notice Exposes `modules/bls12_381.vy` to tests, and plays the staking
        contract's part in network signatures: a registry of node keys
        (three storage slots each), their aggregate, and verification of a
        signature by every registered node minus the non-signers. The
        message builders are the digests of docs/interfaces.md, with this
        contract as the staking address.
"""


from ..modules import bls12_381


# @dev Largest number of non-signers one verification takes.
MAX_NON_SIGNERS: constant(uint256) = 128


# @dev Each registered node's public key, packed (`bls12_381._g1_pack`).
_keys: HashMap[uint64, bytes32[3]]
# @dev The sum of every registered key, packed; all zero (infinity) when none.
_aggregate: bytes32[3]
# @dev How many keys are registered.
key_count: public(uint256)


@external
@view
def hash_to_g2(message: Bytes[bls12_381.MAX_MESSAGE_BYTES], dst: Bytes[bls12_381.MAX_DST_BYTES]) -> Bytes[256]:
    """
    @notice RFC 9380 hash_to_curve (BLS12381G2_XMD:SHA-256_SSWU_RO_).
    @param message The message.
    @param dst The domain separation tag (1 to 255 bytes).
    @return The point, EIP-2537 G2 encoding.
    """
    return bls12_381._hash_to_g2(message, dst)


@external
@view
def verify(
    pubkey: Bytes[128],
    message: Bytes[bls12_381.MAX_MESSAGE_BYTES],
    dst: Bytes[bls12_381.MAX_DST_BYTES],
    signature: Bytes[256],
) -> bool:
    """
    @notice Whether `signature` is `pubkey`'s signature of `message` under `dst`.
    @param pubkey The public key, EIP-2537 G1 encoding.
    @param message The message.
    @param dst The domain separation tag.
    @param signature The signature, EIP-2537 G2 encoding.
    @return True if valid; false for anything else, never a revert.
    """
    return bls12_381._verify(pubkey, message, dst, signature)


@external
@view
def g1_add(a: Bytes[128], b: Bytes[128]) -> Bytes[128]:
    """
    @notice G1 addition (EIP-2537 encodings).
    @param a A G1 point.
    @param b A G1 point.
    @return a + b.
    """
    return bls12_381._g1_add(a, b)


@external
@pure
def g1_negate(p: Bytes[128]) -> Bytes[128]:
    """
    @notice G1 negation (EIP-2537 encoding).
    @param p A G1 point.
    @return -p.
    """
    return bls12_381._g1_negate(p)


@external
@view
def check_pubkey(p: Bytes[128]) -> bool:
    """
    @notice Reverts with the module's reason unless `p` is a usable public key.
    @param p The public key, EIP-2537 G1 encoding.
    @return True (when it does not revert).
    """
    bls12_381._check_pubkey(p)
    return True


@external
@view
def check_signature(s: Bytes[256]) -> bool:
    """
    @notice Reverts with the module's reason unless `s` is a usable signature.
    @param s The signature, EIP-2537 G2 encoding.
    @return True (when it does not revert).
    """
    bls12_381._check_signature(s)
    return True


@external
@pure
def g1_pack(p: Bytes[128]) -> bytes32[3]:
    """
    @notice A G1 encoding without its zero padding, in three words.
    @param p A G1 point, EIP-2537 encoding.
    @return The three words.
    """
    return bls12_381._g1_pack(p)


@external
@pure
def g1_unpack(words: bytes32[3]) -> Bytes[128]:
    """
    @notice The inverse of `g1_pack`.
    @param words The three words.
    @return The G1 point, EIP-2537 encoding.
    """
    return bls12_381._g1_unpack(words)


@external
@pure
def dst_sig() -> Bytes[43]:
    """
    @notice The DST of network actions (exit, removal, liquidation).
    @return `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`.
    """
    return bls12_381.DST_SIG


@external
@pure
def dst_pop() -> Bytes[43]:
    """
    @notice The DST of registration proofs of possession.
    @return `BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`.
    """
    return bls12_381.DST_POP


@external
def add_key(node_id: uint64, pubkey: Bytes[128]):
    """
    @notice Registers a node's key and adds it to the aggregate, as the
            staking contract does on activation.
    @param node_id The node.
    @param pubkey Its public key, EIP-2537 G1 encoding (checked).
    """
    assert self._keys[node_id][0] == empty(bytes32) and self._keys[node_id][1] == empty(
        bytes32
    ), "harness: node already has a key"
    bls12_381._check_pubkey(pubkey)
    self._keys[node_id] = bls12_381._g1_pack(pubkey)
    aggregate: Bytes[128] = bls12_381._g1_add(bls12_381._g1_unpack(self._aggregate), pubkey)
    self._aggregate = bls12_381._g1_pack(aggregate)
    self.key_count += 1


@external
def remove_key(node_id: uint64):
    """
    @notice Removes a node's key from the aggregate (adds its negation), as
            the staking contract does on exit or removal.
    @param node_id The node.
    """
    words: bytes32[3] = self._keys[node_id]
    assert words[0] != empty(bytes32) or words[1] != empty(bytes32), "harness: node has no key"
    negated: Bytes[128] = bls12_381._g1_negate(bls12_381._g1_unpack(words))
    aggregate: Bytes[128] = bls12_381._g1_add(bls12_381._g1_unpack(self._aggregate), negated)
    self._aggregate = bls12_381._g1_pack(aggregate)
    self._keys[node_id] = empty(bytes32[3])
    self.key_count -= 1


@external
@view
def aggregate_key() -> Bytes[128]:
    """
    @notice The sum of every registered key.
    @return The aggregate, EIP-2537 G1 encoding (all zero when no key).
    """
    return bls12_381._g1_unpack(self._aggregate)


@external
@view
def public_key(node_id: uint64) -> Bytes[128]:
    """
    @notice A registered node's key.
    @param node_id The node.
    @return Its key, EIP-2537 G1 encoding (all zero when none).
    """
    return bls12_381._g1_unpack(self._keys[node_id])


@external
@view
def verify_network(
    message: bytes32, signature: Bytes[256], non_signers: DynArray[uint64, MAX_NON_SIGNERS]
) -> bool:
    """
    @notice Whether `signature` is the aggregate signature of `message`
            (DST_SIG) by every registered node except `non_signers`.
    @dev The staking contract's check, minus its quorum and expiry rules:
         the non-signers' keys are summed, negated once and added to the
         aggregate.
    @param message The 32-byte digest (e.g. `exit_message`).
    @param signature The aggregate signature, EIP-2537 G2 encoding.
    @param non_signers Registered node ids, strictly increasing.
    @return True if valid.
    """
    key: Bytes[128] = bls12_381._g1_unpack(self._aggregate)
    if len(non_signers) > 0:
        missing: Bytes[128] = b""
        previous: uint64 = 0
        for node_id: uint64 in non_signers:
            assert node_id > previous, "harness: non-signers not strictly increasing"
            previous = node_id
            words: bytes32[3] = self._keys[node_id]
            assert words[0] != empty(bytes32) or words[1] != empty(
                bytes32
            ), "harness: non-signer has no key"
            if len(missing) == 0:
                missing = bls12_381._g1_unpack(words)
            else:
                missing = bls12_381._g1_add(missing, bls12_381._g1_unpack(words))
        key = bls12_381._g1_add(key, bls12_381._g1_negate(missing))
    return bls12_381._verify(key, concat(message, b""), bls12_381.DST_SIG, signature)


@external
@view
def pop_message(operator: address, ed25519_pubkey: bytes32, bls_pubkey: Bytes[128]) -> bytes32:
    """
    @notice The digest a node's BLS key signs (DST_POP) to prove possession.
    @param operator The registering operator.
    @param ed25519_pubkey The node's Ed25519 key.
    @param bls_pubkey The node's BLS key, EIP-2537 G1 encoding.
    @return keccak256(abi_encode("SESH_POP", chain.id, self, operator, ed25519_pubkey, bls_pubkey)).
    """
    return keccak256(
        abi_encode(
            convert(b"SESH_POP", bytes32), chain.id, self, operator, ed25519_pubkey, bls_pubkey
        )
    )


@external
@view
def exit_message(node_id: uint64, timestamp: uint256) -> bytes32:
    """
    @notice The digest the network signs (DST_SIG) to fast-track an exit.
    @param node_id The node.
    @param timestamp When the network signed.
    @return keccak256(abi_encode("SESH_EXIT", chain.id, self, node_id, timestamp)).
    """
    return self._network_message(convert(b"SESH_EXIT", bytes32), node_id, timestamp)


@external
@view
def remove_message(node_id: uint64, timestamp: uint256) -> bytes32:
    """
    @notice The digest the network signs (DST_SIG) to remove a node.
    @param node_id The node.
    @param timestamp When the network signed.
    @return keccak256(abi_encode("SESH_REMOVE", chain.id, self, node_id, timestamp)).
    """
    return self._network_message(convert(b"SESH_REMOVE", bytes32), node_id, timestamp)


@external
@view
def liquidate_message(node_id: uint64, timestamp: uint256) -> bytes32:
    """
    @notice The digest the network signs (DST_SIG) to liquidate a node.
    @param node_id The node.
    @param timestamp When the network signed.
    @return keccak256(abi_encode("SESH_LIQUIDATE", chain.id, self, node_id, timestamp)).
    """
    return self._network_message(convert(b"SESH_LIQUIDATE", bytes32), node_id, timestamp)


@internal
@view
def _network_message(tag: bytes32, node_id: uint64, timestamp: uint256) -> bytes32:
    """
    @dev keccak256(abi_encode(tag, chain.id, self, node_id, timestamp)).
    """
    return keccak256(abi_encode(tag, chain.id, self, node_id, timestamp))
