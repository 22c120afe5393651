# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title BLS12-381 signatures on the EIP-2537 precompiles
@custom:contract-name bls12_381
@license GNU General Public License v3.0 or later
@notice Verification of the network's BLS signatures: public keys in G1,
        signatures in G2, messages hashed to G2 exactly as RFC 9380 suite
        `BLS12381G2_XMD:SHA-256_SSWU_RO_` with the IETF proof-of-possession
        DSTs, so any standard BLS library signs what this module verifies.
        Points use EIP-2537's encodings: an Fp element is 64 bytes big-endian
        (the top 16 bytes zero, the value below p); G1 is `x || y` (128
        bytes); G2 is `x.c0 || x.c1 || y.c0 || y.c1` (256 bytes); the point
        at infinity is all zero bytes.
        The module has no storage. Precompiles are called with all the
        remaining gas, so a repricing can never break verification; a
        precompile that fails (a point off the curve or outside the
        subgroup) burns the gas it was given, which only the submitter of
        the bad point pays. Cheap checks (lengths, the point at infinity,
        and in the `_check_*` functions field encodings) come first and
        refuse without calling one.
"""


# @dev The IETF proof-of-possession suite's signature DST (network actions).
DST_SIG: constant(Bytes[43]) = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
# @dev The IETF proof-of-possession suite's DST for proofs of possession.
DST_POP: constant(Bytes[43]) = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
# @dev The longest message `_hash_to_g2` and `_verify` accept (the staking
#      contract passes 32-byte digests; RFC 9380's longest vector is 517).
MAX_MESSAGE_BYTES: constant(uint256) = 1024
# @dev The longest DST RFC 9380 allows without hashing it first.
MAX_DST_BYTES: constant(uint256) = 255

# EIP-2537 and EIP-198 precompile addresses.
_MODEXP: constant(address) = 0x0000000000000000000000000000000000000005
_G1ADD: constant(address) = 0x000000000000000000000000000000000000000b
_G1MSM: constant(address) = 0x000000000000000000000000000000000000000C
_G2ADD: constant(address) = 0x000000000000000000000000000000000000000d
_G2MSM: constant(address) = 0x000000000000000000000000000000000000000E
_PAIRING_CHECK: constant(address) = 0x000000000000000000000000000000000000000F
_MAP_FP2_TO_G2: constant(address) = 0x0000000000000000000000000000000000000011

# EIP-2537's prices of the calls whose failure is read as "invalid input" (Prague).
# Before each, the module requires the gas for it (plus the 1/64 a call keeps back), so
# a caller cannot turn a valid signature into `False`, or a valid key into a refusal,
# by sending too little gas: that reverts "bls: too little gas" instead.
_PAIRING_CHECK_TWO_PAIRS_GAS: constant(uint256) = 102_900
_G1ADD_GAS: constant(uint256) = 375
_G1MSM_ONE_GAS: constant(uint256) = 12_000
_G2ADD_GAS: constant(uint256) = 600
_G2MSM_ONE_GAS: constant(uint256) = 22_500

# The base field modulus p, split into the two 32-byte words of its 64-byte
# EIP-2537 encoding (the high word holds the top 16 bytes of p).
_P_HIGH: constant(uint256) = 34565483545414906068789196026815425751  # 0x1a0111ea397fe69a4b1ba7b6434bacd7
_P_LOW: constant(uint256) = (
    45442060874369865957053122457065728162598490762543039060009208264153100167851
)  # 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
# p as MODEXP's 64-byte modulus, so MODEXP's output is already an EIP-2537 Fp.
_P_64: constant(Bytes[64]) = x"000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
# The negated G1 generator -g1 = (x, p - y).
_NEG_G1: constant(Bytes[128]) = x"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca"
# EIP-2537's points at infinity.
_G1_INFINITY: constant(Bytes[128]) = x"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
_G2_INFINITY: constant(Bytes[256]) = x"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
# keccak256 of the two encodings of infinity: the cheapest way to recognise them.
_G1_INFINITY_HASH: constant(bytes32) = 0x012893657d8eb2efad4de0a91bcd0e39ad9837745dec3ea923737ea803fc8e3d
_G2_INFINITY_HASH: constant(bytes32) = 0xd397b3b043d87fcd6fad1291ff0bfd16401c274896d8c63a923727f077b8e0b5
# RFC 9380 expand_message_xmd: the bytes of I2OSP(256, 2) || I2OSP(0, 1) that
# follow the message, for 256 output bytes.
_XMD_LENGTH_AND_ZERO: constant(Bytes[3]) = x"010000"


@internal
@view
def _hash_to_g2(message: Bytes[MAX_MESSAGE_BYTES], dst: Bytes[MAX_DST_BYTES]) -> Bytes[256]:
    """
    @dev RFC 9380 hash_to_curve for `BLS12381G2_XMD:SHA-256_SSWU_RO_`:
         expand_message_xmd (SHA-256) to 256 bytes, four 64-byte chunks
         reduced mod p (MODEXP) into u0, u1 in Fp2, MAP_FP2_TO_G2 of each
         (EIP-2537's map clears the cofactor, which commutes with the
         addition), then G2ADD. Reverts "bls: empty DST" for an empty DST.
    @param message The message (the staking contract passes 32-byte digests).
    @param dst The domain separation tag, 1 to 255 bytes.
    @return The point, EIP-2537 G2 encoding.
    """
    uniform: bytes32[8] = self._expand_message_xmd(message, dst)
    u0: Bytes[128] = concat(
        self._reduce_mod_p(uniform[0], uniform[1]), self._reduce_mod_p(uniform[2], uniform[3])
    )
    u1: Bytes[128] = concat(
        self._reduce_mod_p(uniform[4], uniform[5]), self._reduce_mod_p(uniform[6], uniform[7])
    )
    q0: Bytes[256] = raw_call(_MAP_FP2_TO_G2, u0, max_outsize=256, is_static_call=True)
    q1: Bytes[256] = raw_call(_MAP_FP2_TO_G2, u1, max_outsize=256, is_static_call=True)
    return raw_call(_G2ADD, concat(q0, q1), max_outsize=256, is_static_call=True)


@internal
@view
def _verify(
    pubkey: Bytes[128],
    message: Bytes[MAX_MESSAGE_BYTES],
    dst: Bytes[MAX_DST_BYTES],
    signature: Bytes[256],
) -> bool:
    """
    @dev Checks e(pubkey, H(message)) == e(g1, signature) with one
         PAIRING_CHECK of two pairs: e(pubkey, H(m)) * e(-g1, signature) == 1.
         Never reverts for a bad key or signature: a wrong length, the point
         at infinity (as key or signature), a coordinate not below p, a point
         off the curve or outside the subgroup all give false (the last three
         make PAIRING_CHECK fail, which burns the gas given to it).
         Reverts "bls: too little gas" when the remaining gas could not pay
         the pairing check, so too little gas never reads as a bad signature.
    @param pubkey The (aggregate) public key, EIP-2537 G1 encoding.
    @param message The signed message.
    @param dst The domain separation tag (`DST_SIG` or `DST_POP`).
    @param signature The (aggregate) signature, EIP-2537 G2 encoding.
    @return True if the signature is valid.
    """
    if len(pubkey) != 128 or len(signature) != 256:
        return False
    # Infinity would make the pairing trivially 1; compared by hash, the cheapest test.
    if keccak256(pubkey) == _G1_INFINITY_HASH or keccak256(signature) == _G2_INFINITY_HASH:
        return False
    hashed: Bytes[256] = self._hash_to_g2(message, dst)
    self._require_gas(_PAIRING_CHECK_TWO_PAIRS_GAS)
    success: bool = False
    result: Bytes[32] = b""
    success, result = raw_call(
        _PAIRING_CHECK,
        concat(pubkey, hashed, _NEG_G1, signature),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    return success and len(result) == 32 and convert(result, uint256) == 1


@internal
@view
def _g1_add(a: Bytes[128], b: Bytes[128]) -> Bytes[128]:
    """
    @dev G1ADD. Reverts "bls: not a G1 point" unless both are 128-byte
         encodings of points on the curve (or infinity). No subgroup check:
         pass only checked keys or sums of checked keys.
    @param a A G1 point, EIP-2537 encoding.
    @param b A G1 point, EIP-2537 encoding.
    @return a + b, EIP-2537 encoding.
    """
    assert len(a) == 128 and len(b) == 128, "bls: not a G1 point"
    self._require_gas(_G1ADD_GAS)
    success: bool = False
    result: Bytes[128] = b""
    success, result = raw_call(
        _G1ADD, concat(a, b), max_outsize=128, is_static_call=True, revert_on_failure=False
    )
    assert success, "bls: not a G1 point"
    return result


@internal
@pure
def _g1_negate(p: Bytes[128]) -> Bytes[128]:
    """
    @dev -p = (x, p - y), in EVM arithmetic (no precompile). Infinity (all
         zero) stays infinity. `p` must be a valid encoding (a checked key or
         a sum of them); reverts "bls: not a G1 point" on a wrong length.
    @param p A G1 point, EIP-2537 encoding.
    @return -p, EIP-2537 encoding.
    """
    assert len(p) == 128, "bls: not a G1 point"
    y_high: uint256 = convert(extract32(p, 64), uint256)
    y_low: uint256 = convert(extract32(p, 96), uint256)
    if y_high == 0 and y_low == 0:
        return p
    # p - y over two 256-bit words; y < p, so the high word cannot underflow.
    negated_low: uint256 = unsafe_sub(_P_LOW, y_low)  # borrow handled on the next line
    borrow: uint256 = 1 if y_low > _P_LOW else 0
    negated_high: uint256 = _P_HIGH - y_high - borrow
    return concat(slice(p, 0, 64), convert(negated_high, bytes32), convert(negated_low, bytes32))


@internal
@view
def _check_pubkey(p: Bytes[128]):
    """
    @dev Reverts with a reason unless `p` is a usable public key: 128 bytes
         ("bls: public key is not 128 bytes"), coordinates below p ("bls:
         public key coordinate is not a field element"), not the point at
         infinity ("bls: public key is the point at infinity"), on the curve
         ("bls: public key is not on the curve", G1ADD) and in the subgroup
         ("bls: public key is not in the subgroup", G1MSM by 1).
         Costs about 15,000 gas for a valid key.
    @param p The public key, EIP-2537 G1 encoding.
    """
    assert len(p) == 128, "bls: public key is not 128 bytes"
    assert self._are_field_elements(p), "bls: public key coordinate is not a field element"
    assert keccak256(p) != _G1_INFINITY_HASH, "bls: public key is the point at infinity"
    self._require_gas(_G1ADD_GAS + _G1MSM_ONE_GAS)
    success: bool = False
    result: Bytes[128] = b""
    success, result = raw_call(
        _G1ADD,
        concat(p, _G1_INFINITY),
        max_outsize=128,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert success, "bls: public key is not on the curve"
    success, result = raw_call(
        _G1MSM,
        concat(p, convert(1, bytes32)),
        max_outsize=128,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert success, "bls: public key is not in the subgroup"


@internal
@view
def _check_signature(s: Bytes[256]):
    """
    @dev Reverts with a reason unless `s` is a usable signature: 256 bytes
         ("bls: signature is not 256 bytes"), coordinates below p ("bls:
         signature coordinate is not a field element"), not the point at
         infinity ("bls: signature is the point at infinity"), on the curve
         ("bls: signature is not on the curve", G2ADD) and in the subgroup
         ("bls: signature is not in the subgroup", G2MSM by 1).
         Costs about 27,000 gas. `_verify` already refuses all of these (as
         false); call this before `_verify` where a precise reason is worth
         the cost: after PAIRING_CHECK has failed on a bad signature, only
         1/64 of the gas is left.
    @param s The signature, EIP-2537 G2 encoding.
    """
    assert len(s) == 256, "bls: signature is not 256 bytes"
    assert self._are_field_elements(s), "bls: signature coordinate is not a field element"
    assert keccak256(s) != _G2_INFINITY_HASH, "bls: signature is the point at infinity"
    self._require_gas(_G2ADD_GAS + _G2MSM_ONE_GAS)
    success: bool = False
    result: Bytes[256] = b""
    success, result = raw_call(
        _G2ADD,
        concat(s, _G2_INFINITY),
        max_outsize=256,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert success, "bls: signature is not on the curve"
    success, result = raw_call(
        _G2MSM,
        concat(s, convert(1, bytes32)),
        max_outsize=256,
        is_static_call=True,
        revert_on_failure=False,
    )
    assert success, "bls: signature is not in the subgroup"


@internal
@pure
def _g1_pack(p: Bytes[128]) -> bytes32[3]:
    """
    @dev The 96 significant bytes of a G1 encoding in three words (x and y
         without their 16 zero bytes each), to keep a key in 3 storage slots
         instead of 4. `p` must be a valid encoding (checked key).
    @param p A G1 point, EIP-2537 encoding.
    @return x (48 bytes) || y (48 bytes) in three words.
    """
    packed: Bytes[96] = concat(slice(p, 16, 48), slice(p, 80, 48))
    return [extract32(packed, 0), extract32(packed, 32), extract32(packed, 64)]


@internal
@pure
def _g1_unpack(words: bytes32[3]) -> Bytes[128]:
    """
    @dev The inverse of `_g1_pack`.
    @param words x (48 bytes) || y (48 bytes) in three words.
    @return The point, EIP-2537 G1 encoding.
    """
    packed: Bytes[96] = concat(words[0], words[1], words[2])
    return concat(
        empty(bytes16), slice(packed, 0, 48), empty(bytes16), slice(packed, 48, 48)
    )


@internal
@pure
def _expand_message_xmd(message: Bytes[MAX_MESSAGE_BYTES], dst: Bytes[MAX_DST_BYTES]) -> bytes32[8]:
    """
    @dev RFC 9380 §5.3.1 with SHA-256, len_in_bytes = 256: b_0 =
         H(Z_pad || msg || I2OSP(256, 2) || I2OSP(0, 1) || DST'), b_1 =
         H(b_0 || I2OSP(1, 1) || DST'), b_i = H((b_0 xor b_(i-1)) ||
         I2OSP(i, 1) || DST'), with DST' = DST || I2OSP(len(DST), 1).
    @return b_1 .. b_8, the 256 uniform bytes.
    """
    assert len(dst) > 0, "bls: empty DST"
    dst_prime: Bytes[256] = concat(dst, convert(convert(len(dst), uint8), bytes1))
    b0: bytes32 = sha256(
        concat(empty(bytes32), empty(bytes32), message, _XMD_LENGTH_AND_ZERO, dst_prime)
    )
    # b_1 .. b_8, unrolled: the counter byte is a literal and no loop runs.
    b0_word: uint256 = convert(b0, uint256)
    b1: bytes32 = sha256(concat(b0, x"01", dst_prime))
    b2: bytes32 = sha256(concat(convert(b0_word ^ convert(b1, uint256), bytes32), x"02", dst_prime))
    b3: bytes32 = sha256(concat(convert(b0_word ^ convert(b2, uint256), bytes32), x"03", dst_prime))
    b4: bytes32 = sha256(concat(convert(b0_word ^ convert(b3, uint256), bytes32), x"04", dst_prime))
    b5: bytes32 = sha256(concat(convert(b0_word ^ convert(b4, uint256), bytes32), x"05", dst_prime))
    b6: bytes32 = sha256(concat(convert(b0_word ^ convert(b5, uint256), bytes32), x"06", dst_prime))
    b7: bytes32 = sha256(concat(convert(b0_word ^ convert(b6, uint256), bytes32), x"07", dst_prime))
    b8: bytes32 = sha256(concat(convert(b0_word ^ convert(b7, uint256), bytes32), x"08", dst_prime))
    return [b1, b2, b3, b4, b5, b6, b7, b8]


@internal
@view
def _reduce_mod_p(high: bytes32, low: bytes32) -> Bytes[64]:
    """
    @dev OS2IP(high || low) mod p with MODEXP (base^1 mod p): a 64-byte
         modulus makes the output the 64-byte EIP-2537 Fp encoding.
    @param high The first 32 bytes of the 64-byte chunk.
    @param low The last 32 bytes.
    @return The reduced element, EIP-2537 Fp encoding.
    """
    return raw_call(
        _MODEXP,
        concat(
            convert(64, bytes32),  # base length
            convert(1, bytes32),  # exponent length
            convert(64, bytes32),  # modulus length
            high,
            low,
            x"01",
            _P_64,
        ),
        max_outsize=64,
        is_static_call=True,
    )


@internal
@view
def _require_gas(precompile_gas: uint256):
    """
    @dev Reverts "bls: too little gas" unless a call forwarding all but 1/64
         of the remaining gas would get `precompile_gas`, with a margin for
         the call's own cost and the code between here and the call.
    """
    assert msg.gas >= precompile_gas * 64 // 63 + 2_000, "bls: too little gas"


@internal
@pure
def _are_field_elements(point: Bytes[256]) -> bool:
    """
    @dev True if every 64-byte coordinate of a 128- or 256-byte encoding is
         an Fp element: top 16 bytes zero and the value below p.
    """
    for i: uint256 in range(4):
        if i * 64 >= len(point):
            break
        high: uint256 = convert(extract32(point, i * 64), uint256)
        low: uint256 = convert(extract32(point, i * 64 + 32), uint256)
        if high > _P_HIGH or (high == _P_HIGH and low >= _P_LOW):
            return False
    return True

