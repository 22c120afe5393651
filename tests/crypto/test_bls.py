"""sesh.crypto.bls against py_ecc (the independent reference) and RFC 9380's vectors;
every malformed input refused with its reason."""

import hashlib

import pytest
from eth_utils import keccak
from py_ecc.bls import G2ProofOfPossession as py_ecc_pop
from py_ecc.bls.hash_to_curve import hash_to_G2
from py_ecc.optimized_bls12_381 import G2, multiply

from sesh.crypto import bls
from tests.bls_helpers import RFC_VECTORS, g2_eip2537, py_ecc_hash_to_g2, rfc_point

STAKING = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ED25519 = bytes(range(32))


@pytest.mark.parametrize("vector", RFC_VECTORS["vectors"], ids=lambda v: v["msg"][:8] or "empty")
def test_hash_to_g2__rfc9380_vectors__match(vector):
    assert bls.hash_to_g2(vector["msg"].encode(), RFC_VECTORS["dst"].encode()) == rfc_point(vector)


def test_dsts__are_the_ietf_proof_of_possession_suite():
    assert bls.DST_SIG == py_ecc_pop.DST
    assert bls.DST_POP == b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"


def test_sign__matches_py_ecc_proof_of_possession_scheme():
    sk = bls.SecretKey(0x1234567890ABCDEF)
    message = b"network signature"
    assert sk.public_key().to_compressed() == py_ecc_pop.SkToPk(0x1234567890ABCDEF)
    assert bls.sign(sk, message).to_compressed() == py_ecc_pop.Sign(0x1234567890ABCDEF, message)


def test_verify__py_ecc_signature__verifies_and_another_message_does_not():
    secret = 987654321
    message = b"signed by py_ecc"
    signature = bls.Signature.from_compressed(py_ecc_pop.Sign(secret, message))
    key = bls.PublicKey.from_compressed(py_ecc_pop.SkToPk(secret))
    assert bls.verify(key, message, signature)
    assert not bls.verify(key, message + b"!", signature)
    assert not bls.verify(key, message, signature, bls.DST_POP)


def test_compressed_and_eip2537_forms__round_trip_and_agree_with_py_ecc():
    sk = bls.SecretKey.generate()
    key = sk.public_key()
    signature = bls.sign(sk, b"m")
    assert bls.PublicKey.from_compressed(key.to_compressed()) == key
    assert bls.PublicKey.from_eip2537(key.to_eip2537()) == key
    assert bls.Signature.from_compressed(signature.to_compressed()) == signature
    assert bls.Signature.from_eip2537(signature.to_eip2537()) == signature
    assert len(key.to_eip2537()) == 128 and len(signature.to_eip2537()) == 256
    # py_ecc computes the same point for the same secret.
    expected = g2_eip2537(
        multiply(hash_to_G2(b"m", bls.DST_SIG, hashlib.sha256), int.from_bytes(sk.to_bytes()))
    )
    assert signature.to_eip2537() == expected


def test_secret_key__bytes_round_trip_and_repr_hides_it():
    sk = bls.SecretKey.generate()
    assert bls.SecretKey.from_bytes(sk.to_bytes()) == sk
    assert sk.to_bytes().hex() not in repr(sk)


@pytest.mark.parametrize(
    "data, reason",
    [
        (bytes(31), "secret key must be 32 bytes"),
        (bytes(32), "secret key out of range"),
        (bls.CURVE_ORDER.to_bytes(32, "big"), "secret key out of range"),
        ("00" * 32, "secret key must be bytes"),
    ],
)
def test_secret_key_from_bytes__malformed__refused_with_reason(data, reason):
    with pytest.raises(bls.BlsError, match=reason):
        bls.SecretKey.from_bytes(data)


def _g1_off_curve() -> bytes:
    key = bls.SecretKey(7).public_key().to_eip2537()
    return key[:-1] + bytes([key[-1] ^ 1])


@pytest.mark.parametrize(
    "data, reason",
    [
        (bytes(127), "public key must be 128 bytes"),
        (bytes(128), "public key is the point at infinity"),
        (_g1_off_curve(), "public key is not on the curve"),
        (bytes(64) + (2).to_bytes(64, "big"), "public key is not in the subgroup"),
        (bls.FIELD_MODULUS.to_bytes(64, "big") * 2, "public key coordinate is not a field element"),
        (b"\x01" + bytes(127), "public key coordinate is not a field element"),
    ],
)
def test_public_key_from_eip2537__malformed__refused_with_reason(data, reason):
    with pytest.raises(bls.BlsError, match=reason):
        bls.PublicKey.from_eip2537(data)


@pytest.mark.parametrize(
    "data, reason",
    [
        (bytes(47), "public key must be 48 bytes"),
        (bytes([0xC0]) + bytes(47), "public key is the point at infinity"),
        (bytes(48), "public key is not a valid compressed G1 point"),
        (bytes([0x80]) + bytes(46) + b"\x04", "public key is not in the subgroup"),
    ],
)
def test_public_key_from_compressed__malformed__refused_with_reason(data, reason):
    with pytest.raises(bls.BlsError, match=reason):
        bls.PublicKey.from_compressed(data)


def _g2_off_curve() -> bytes:
    signature = bls.sign(bls.SecretKey(7), b"m").to_eip2537()
    return signature[:-1] + bytes([signature[-1] ^ 1])


@pytest.mark.parametrize(
    "data, reason",
    [
        (bytes(255), "signature must be 256 bytes"),
        (_g2_off_curve(), "signature is not on the curve"),
        (b"\x01" + bytes(255), "signature coordinate is not a field element"),
        (bytes(95), "signature must be 96 bytes"),
        (bytes(96), "signature is not a valid compressed G2 point"),
    ],
)
def test_signature_parsers__malformed__refused_with_reason(data, reason):
    parse = bls.Signature.from_eip2537 if len(data) > 96 else bls.Signature.from_compressed
    with pytest.raises(bls.BlsError, match=reason):
        parse(data)


def test_signature_from_eip2537__point_outside_the_subgroup__refused():
    from py_ecc.bls.hash_to_curve import map_to_curve_G2
    from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2

    outside = g2_eip2537(map_to_curve_G2(FQ2([5, 7])))
    with pytest.raises(bls.BlsError, match="signature is not in the subgroup"):
        bls.Signature.from_eip2537(outside)


def test_verify__infinity_key_or_signature__is_false_not_an_error():
    infinity_signature = bls.Signature.from_eip2537(bytes(256))
    key = bls.SecretKey(5).public_key()
    assert not bls.verify(key, b"m", infinity_signature)
    assert not bls.verify(bls.PublicKey(key.point - key.point), b"m", infinity_signature)


@pytest.mark.parametrize("dst", [b"", bytes(256)])
def test_sign__dst_empty_or_too_long__refused(dst):
    with pytest.raises(bls.BlsError, match="DST must be 1 to 255 bytes"):
        bls.sign(bls.SecretKey(3), b"m", dst)


def test_verify__bytes_instead_of_parsed_points__refused_with_hint():
    with pytest.raises(bls.BlsError, match="PublicKey"):
        bls.verify(
            bls.SecretKey(3).public_key().to_compressed(), b"m", bls.sign(bls.SecretKey(3), b"m")
        )


def test_aggregate__all_keys_minus_non_signers__verifies_signers_aggregate():
    keys = [bls.SecretKey(1000 + i) for i in range(12)]
    non_signers = {2, 5, 11}
    message = b"\x42" * 32
    signatures = [bls.sign(k, message) for i, k in enumerate(keys) if i not in non_signers]
    everyone = bls.aggregate_public_keys([k.public_key() for k in keys])
    missing = bls.aggregate_public_keys([keys[i].public_key() for i in sorted(non_signers)])
    signers_key = bls.PublicKey(everyone.point - missing.point)
    aggregate = bls.aggregate_signatures(signatures)
    assert bls.verify(signers_key, message, aggregate)
    # Claiming one fewer non-signer than there were does not verify.
    assert not bls.verify(
        bls.PublicKey(signers_key.point + keys[2].public_key().point), message, aggregate
    )
    # The same aggregate, verified from py_ecc's side.
    assert py_ecc_pop.FastAggregateVerify(
        [k.public_key().to_compressed() for i, k in enumerate(keys) if i not in non_signers],
        message,
        aggregate.to_compressed(),
    )


def test_aggregate__nothing__refused():
    with pytest.raises(bls.BlsError, match="no signature"):
        bls.aggregate_signatures([])
    with pytest.raises(bls.BlsError, match="no public key"):
        bls.aggregate_public_keys([])


def test_verify_batch__one_bad_signature__fails_and_is_found():
    keys = [bls.SecretKey(50 + i) for i in range(9)]
    message = b"batch"
    signatures = [bls.sign(k, message) for k in keys]
    publics = [k.public_key() for k in keys]
    assert bls.verify_batch(publics, message, signatures)
    assert bls.invalid_signatures(publics, message, signatures) == []
    signatures[6] = bls.sign(keys[6], b"other")
    assert not bls.verify_batch(publics, message, signatures)
    assert bls.invalid_signatures(publics, message, signatures) == [6]


def test_verify_batch__two_bad_signatures_that_cancel__still_fail():
    """Plain aggregation accepts sig_a + d and sig_b - d; the random coefficients do not."""
    keys = [bls.SecretKey(70 + i) for i in range(3)]
    message = b"cancel"
    signatures = [bls.sign(k, message) for k in keys]
    delta = bls.sign(bls.SecretKey(99), b"anything").point
    signatures[0] = bls.Signature(signatures[0].point + delta)
    signatures[1] = bls.Signature(signatures[1].point - delta)
    publics = [k.public_key() for k in keys]
    assert bls.verify(
        bls.aggregate_public_keys(publics), message, bls.aggregate_signatures(signatures)
    )
    assert not bls.verify_batch(publics, message, signatures)
    assert bls.invalid_signatures(publics, message, signatures) == [0, 1]


def test_network_messages__are_the_documented_abi_layout():
    """keccak256(TAG left-aligned ‖ chain_id ‖ staking ‖ node_id ‖ timestamp), each a
    32-byte word, derived here by hand rather than with an ABI encoder."""

    def word(value: int) -> bytes:
        return value.to_bytes(32, "big")

    staking = bytes.fromhex(STAKING[2:])
    for tag, build in [
        (b"SESH_EXIT", bls.exit_message),
        (b"SESH_REMOVE", bls.remove_message),
        (b"SESH_LIQUIDATE", bls.liquidate_message),
    ]:
        expected = keccak(
            tag.ljust(32, b"\x00")
            + word(42161)
            + bytes(12)
            + staking
            + word(7)
            + word(1_700_000_000)
        )
        assert build(42161, STAKING, 7, 1_700_000_000) == expected


def test_pop_message__is_the_documented_abi_layout():
    key = bls.SecretKey(11).public_key().to_eip2537()
    operator = bytes.fromhex(OPERATOR[2:])
    expected = keccak(
        b"SESH_POP".ljust(32, b"\x00")
        + (412346).to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(STAKING[2:])
        + bytes(12)
        + operator
        + ED25519
        + (6 * 32).to_bytes(32, "big")  # offset of the dynamic `bytes`
        + (128).to_bytes(32, "big")
        + key
    )
    assert bls.pop_message(412346, STAKING, OPERATOR, ED25519, key) == expected


def test_proof_of_possession__verifies_for_its_registration_only():
    sk = bls.SecretKey.generate()
    proof = bls.prove_possession(sk, 412346, STAKING, OPERATOR, ED25519)
    key = sk.public_key()
    assert bls.verify_possession(key, proof, 412346, STAKING, OPERATOR, ED25519)
    assert not bls.verify_possession(key, proof, 412346, STAKING, STAKING, ED25519)
    assert not bls.verify_possession(key, proof, 1, STAKING, OPERATOR, ED25519)
    # A proof is a signature under DST_POP: it is no network signature of the same digest.
    digest = bls.pop_message(412346, STAKING, OPERATOR, ED25519, key)
    assert not bls.verify(key, digest, proof, bls.DST_SIG)


@pytest.mark.parametrize(
    "call, reason",
    [
        (lambda: bls.exit_message(1, "0x1234", 1, 1), "staking address is not an address"),
        (lambda: bls.exit_message(1, STAKING, 2**64, 1), "node id must be an integer"),
        (lambda: bls.remove_message(-1, STAKING, 1, 1), "chain id must be an integer"),
        (lambda: bls.liquidate_message(1, STAKING, 1, 2**256), "timestamp must be an integer"),
        (lambda: bls.pop_message(1, STAKING, OPERATOR, bytes(31), bytes(128)), "Ed25519"),
        (lambda: bls.pop_message(1, STAKING, OPERATOR, ED25519, bytes(48)), "128 bytes"),
    ],
)
def test_message_builders__malformed_fields__refused_with_reason(call, reason):
    with pytest.raises(bls.BlsError, match=reason):
        call()


def test_hash_to_g2__pop_dst__matches_py_ecc():
    assert bls.hash_to_g2(b"\x00" * 32, bls.DST_POP) == py_ecc_hash_to_g2(b"\x00" * 32, bls.DST_POP)


def test_g2_generator_encoding__matches_eip2537_order():
    """EIP-2537 orders G2 as x.c0, x.c1, y.c0, y.c1; so does py_ecc's (c0, c1)."""
    encoded = g2_eip2537(G2)
    generator = bls.Signature.from_eip2537(encoded)
    assert generator.to_eip2537() == encoded
