# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title BLS12-381 signature verifier
@custom:contract-name BLSVerifier
@license GNU General Public License v3.0 or later
@notice Stateless, ownerless verification of the network's BLS signatures
        (public keys in G1, signatures in G2, RFC 9380 hash-to-curve) on the
        EIP-2537 precompiles, deployed once and called by the staking contract.
@dev A thin deployable over `modules/bls12_381.vy`. It exists because hash-to-curve
     and the pairing check would push the staking contract past the 24 KiB code
     limit (EIP-170, which Arbitrum also enforces); a static call costs ~3,000 gas.
"""


import interfaces.IBLSVerifier as IBLSVerifier
implements: IBLSVerifier

from .modules import bls12_381


# @dev The most proofs one `verify_possessions` call checks (the staking contract's
#      seeding batch; EIP-2537's G2MSM discount table ends at 128 points).
MAX_POSSESSIONS: public(constant(uint256)) = 100

# EIP-2537 precompiles and prices (Prague) the batch check calls.
_G1MSM: constant(address) = 0x000000000000000000000000000000000000000C
_G2MSM: constant(address) = 0x000000000000000000000000000000000000000E
_PAIRING_CHECK: constant(address) = 0x000000000000000000000000000000000000000F
_G1MSM_ONE_GAS: constant(uint256) = 12_000
_PAIRING_BASE_GAS: constant(uint256) = 37_700
_PAIRING_PER_PAIR_GAS: constant(uint256) = 32_600
# G2MSM's price for k points is k * 22,500 * discount(k) / 1000; the discount never
# exceeds 1000, so this bounds it from above.
_G2MSM_PER_POINT_GAS: constant(uint256) = 22_500
# keccak256 of EIP-2537's encodings of infinity (as in the module).
_G1_INFINITY_HASH: constant(bytes32) = 0x012893657d8eb2efad4de0a91bcd0e39ad9837745dec3ea923737ea803fc8e3d
_G2_INFINITY_HASH: constant(bytes32) = 0xd397b3b043d87fcd6fad1291ff0bfd16401c274896d8c63a923727f077b8e0b5
# The negated G1 generator, as 4 words.
_NEG_G1_WORDS: constant(bytes32[4]) = [
    0x0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0f,
    0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb,
    0x00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f2,
    0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca,
]


@external
@view
def verify(pubkey: Bytes[128], message: bytes32, signature: Bytes[256]) -> bool:
    """
    @notice Checks a network signature (DST `BLS_SIG_..._POP_`) of a 32-byte digest.
    @dev Never reverts: any malformed or invalid input gives false.
    @param pubkey The (aggregate) public key, EIP-2537 G1 encoding.
    @param message The 32-byte digest that was signed.
    @param signature The (aggregate) signature, EIP-2537 G2 encoding.
    @return True if the signature is valid.
    """
    return bls12_381._verify(pubkey, concat(message, b""), bls12_381.DST_SIG, signature)


@external
@view
def verify_possession(pubkey: Bytes[128], message: bytes32, proof: Bytes[256]) -> bool:
    """
    @notice Checks a proof of possession (DST `BLS_POP_..._POP_`) of a 32-byte digest.
    @dev Never reverts: any malformed or invalid input gives false.
    @param pubkey The public key, EIP-2537 G1 encoding.
    @param message The 32-byte `SESH_POP` digest.
    @param proof The proof, EIP-2537 G2 encoding.
    @return True if the proof is valid.
    """
    return bls12_381._verify(pubkey, concat(message, b""), bls12_381.DST_POP, proof)


@external
@view
def check_pubkey(pubkey: Bytes[128]) -> bool:
    """
    @notice Reverts with the reason a public key is unusable.
    @param pubkey The public key, EIP-2537 G1 encoding.
    @return True (a usable key).
    """
    bls12_381._check_pubkey(pubkey)
    return True


@external
@view
def check_signature(signature: Bytes[256]) -> bool:
    """
    @notice Reverts with the reason a signature is malformed.
    @param signature The signature, EIP-2537 G2 encoding.
    @return True (a well-formed signature in the subgroup).
    """
    bls12_381._check_signature(signature)
    return True


@external
@view
def verify_possessions(
    pubkeys: DynArray[Bytes[128], MAX_POSSESSIONS],
    messages: DynArray[bytes32, MAX_POSSESSIONS],
    proofs: DynArray[Bytes[256], MAX_POSSESSIONS],
) -> bool:
    """
    @notice Checks a batch of proofs of possession (DST `BLS_POP_..._POP_`), each of
            its own key and digest, with one pairing check.
    @dev Random linear combination (the small-exponents batch test): with weights
         r_i, checks prod e(r_i pk_i, H(m_i)) * e(-g1, sum r_i proof_i) == 1. Each r_i is
         2^128 plus 128 bits of keccak256 over a transcript of the whole batch (every key, digest
         and proof, in order) and the previous block's hash and `prevrandao`, so the
         weights are fixed only after every proof is: invalid proofs pass only if their
         errors cancel under weights the submitter could not choose, a chance of about
         2^-128 per batch tried (docs/protocol.md, "Seeding"). G1MSM and G2MSM check
         that every key and proof is in the prime-order subgroup, which the test needs.
         Never reverts for bad input (false), except "bls: too little gas".
    @param pubkeys The public keys, EIP-2537 G1 encoding.
    @param messages The 32-byte `SESH_POP` digests, one per key.
    @param proofs The proofs, EIP-2537 G2 encoding, one per key.
    @return True if every proof is valid.
    """
    count: uint256 = len(pubkeys)
    if count == 0 or len(messages) != count or len(proofs) != count:
        return False
    transcript: bytes32 = keccak256(
        concat(blockhash(block.number - 1), block.prevrandao)
    )
    for i: uint256 in range(count, bound=MAX_POSSESSIONS):
        if len(pubkeys[i]) != 128 or len(proofs[i]) != 256:
            return False
        if keccak256(pubkeys[i]) == _G1_INFINITY_HASH or keccak256(proofs[i]) == _G2_INFINITY_HASH:
            return False
        transcript = keccak256(concat(transcript, pubkeys[i], messages[i], proofs[i]))
    # (r_i pk_i, H(m_i)) pairs, then (-g1, sum r_i proof_i); and the G2MSM input.
    pairs: bytes32[12 * (MAX_POSSESSIONS + 1)] = empty(bytes32[12 * (MAX_POSSESSIONS + 1)])
    terms: bytes32[9 * MAX_POSSESSIONS] = empty(bytes32[9 * MAX_POSSESSIONS])
    success: bool = False
    for i: uint256 in range(count, bound=MAX_POSSESSIONS):
        # 128 bits of the transcript's hash, with bit 128 set: never zero (a zero weight
        # would leave proof i unchecked), and still one value in 2^128 for a forger.
        weight: bytes32 = convert(
            (convert(keccak256(concat(transcript, convert(i, bytes32))), uint256) >> 128)
            | (1 << 128),
            bytes32,
        )
        bls12_381._require_gas(_G1MSM_ONE_GAS)
        scaled: Bytes[128] = b""
        success, scaled = raw_call(
            _G1MSM,
            concat(pubkeys[i], weight),
            max_outsize=128,
            is_static_call=True,
            revert_on_failure=False,
        )
        if not success or len(scaled) != 128:
            return False
        hashed: Bytes[256] = bls12_381._hash_to_g2(concat(messages[i], b""), bls12_381.DST_POP)
        for w: uint256 in range(4):
            pairs[12 * i + w] = extract32(scaled, 32 * w)
        for w: uint256 in range(8):
            pairs[12 * i + 4 + w] = extract32(hashed, 32 * w)
            terms[9 * i + w] = extract32(proofs[i], 32 * w)
        terms[9 * i + 8] = weight
    bls12_381._require_gas(_G2MSM_PER_POINT_GAS * count)
    combined: Bytes[256] = b""
    success, combined = raw_call(
        _G2MSM,
        slice(abi_encode(terms), 0, 288 * count),
        max_outsize=256,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(combined) != 256:
        return False
    for w: uint256 in range(4):
        pairs[12 * count + w] = _NEG_G1_WORDS[w]
    for w: uint256 in range(8):
        pairs[12 * count + 4 + w] = extract32(combined, 32 * w)
    bls12_381._require_gas(_PAIRING_BASE_GAS + _PAIRING_PER_PAIR_GAS * (count + 1))
    result: Bytes[32] = b""
    success, result = raw_call(
        _PAIRING_CHECK,
        slice(abi_encode(pairs), 0, 384 * (count + 1)),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    return success and len(result) == 32 and convert(result, uint256) == 1
