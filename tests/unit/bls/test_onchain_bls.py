"""The BLS12-381 module on anvil (Prague, EIP-2537) through Ape: the same verification
the titanoboa suites check, on the chain the contracts will run on."""

import ape
import pytest

from sesh.crypto import bls
from tests.bls_helpers import RFC_VECTORS, py_ecc_public_key, py_ecc_sign, rfc_point

ED25519 = bytes(range(32))


@pytest.fixture(scope="module")
def harness(project, deployer):
    return deployer.deploy(project.BlsHarness)


@pytest.fixture(scope="module")
def chain_id(chain):
    return chain.chain_id


@pytest.mark.parametrize("vector", RFC_VECTORS["vectors"], ids=lambda v: v["msg"][:8] or "empty")
def test_hash_to_g2__rfc9380_vectors__match_on_anvil(harness, vector):
    result = harness.hash_to_g2(vector["msg"].encode(), RFC_VECTORS["dst"].encode())
    assert bytes(result) == rfc_point(vector)


def test_hash_to_g2__empty_dst__refused(harness):
    with ape.reverts("bls: empty DST"):
        harness.hash_to_g2(b"m", b"")


def test_dsts__are_the_ietf_proof_of_possession_suite(harness):
    assert bytes(harness.dst_sig()) == bls.DST_SIG
    assert bytes(harness.dst_pop()) == bls.DST_POP


def test_verify__python_signatures__verify_on_anvil(harness):
    sk = bls.SecretKey.generate()
    message = b"\x07" * 32
    signature = bls.sign(sk, message)
    assert harness.verify(
        sk.public_key().to_eip2537(), message, bls.DST_SIG, signature.to_eip2537()
    )
    secret = 0xC0FFEE
    assert harness.verify(
        py_ecc_public_key(secret), message, bls.DST_POP, py_ecc_sign(secret, message, bls.DST_POP)
    )


def test_verify__tampered__is_false_on_anvil(harness):
    sk = bls.SecretKey.generate()
    key = sk.public_key().to_eip2537()
    message = b"\x07" * 32
    signature = bls.sign(sk, message).to_eip2537()
    assert not harness.verify(key, message[:-1] + b"\x08", bls.DST_SIG, signature)
    assert not harness.verify(key, message, bls.DST_POP, signature)
    other = bls.SecretKey.generate().public_key().to_eip2537()
    assert not harness.verify(other, message, bls.DST_SIG, signature)
    assert not harness.verify(
        key, message, bls.DST_SIG, signature[:-1] + bytes([signature[-1] ^ 1])
    )
    assert not harness.verify(key, message, bls.DST_SIG, bytes(256))
    assert not harness.verify(bytes(128), message, bls.DST_SIG, bytes(256))
    assert not harness.verify(key, message, bls.DST_SIG, signature[:128])


def _bad_keys():
    good = bls.SecretKey(3).public_key().to_eip2537()
    p = bls.FIELD_MODULUS
    return [
        (good[:100], "bls: public key is not 128 bytes"),
        (p.to_bytes(64, "big") + good[64:], "bls: public key coordinate is not a field element"),
        (b"\x01" + good[1:], "bls: public key coordinate is not a field element"),
        (bytes(128), "bls: public key is the point at infinity"),
        (good[:-1] + bytes([good[-1] ^ 1]), "bls: public key is not on the curve"),
        (bytes(64) + (2).to_bytes(64, "big"), "bls: public key is not in the subgroup"),
    ]


@pytest.mark.parametrize("key, reason", _bad_keys(), ids=lambda x: x if isinstance(x, str) else "")
def test_check_pubkey__malformed__refused_with_reason(harness, key, reason):
    with ape.reverts(reason):
        harness.check_pubkey(key)


def test_check_pubkey__valid_key__passes(harness):
    assert harness.check_pubkey(bls.SecretKey.generate().public_key().to_eip2537())


def _bad_signatures():
    from py_ecc.bls.hash_to_curve import map_to_curve_G2
    from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2

    from tests.bls_helpers import g2_eip2537

    good = bls.sign(bls.SecretKey(3), b"m").to_eip2537()
    return [
        (good[:255], "bls: signature is not 256 bytes"),
        (b"\x01" + good[1:], "bls: signature coordinate is not a field element"),
        (bytes(256), "bls: signature is the point at infinity"),
        (good[:-1] + bytes([good[-1] ^ 1]), "bls: signature is not on the curve"),
        (g2_eip2537(map_to_curve_G2(FQ2([5, 7]))), "bls: signature is not in the subgroup"),
    ]


@pytest.mark.parametrize(
    "signature, reason", _bad_signatures(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_check_signature__malformed__refused_with_reason(harness, signature, reason):
    with ape.reverts(reason):
        harness.check_signature(signature)


def test_check_signature__valid_signature__passes(harness):
    assert harness.check_signature(bls.sign(bls.SecretKey(9), b"m").to_eip2537())


def test_g1_helpers__agree_with_python(harness):
    a = bls.SecretKey(11).public_key()
    b = bls.SecretKey(12).public_key()
    assert (
        bytes(harness.g1_add(a.to_eip2537(), b.to_eip2537()))
        == bls.aggregate_public_keys([a, b]).to_eip2537()
    )
    assert bytes(harness.g1_negate(a.to_eip2537())) == bls.PublicKey(-a.point).to_eip2537()
    assert bytes(harness.g1_negate(bytes(128))) == bytes(128)
    assert bytes(harness.g1_unpack(harness.g1_pack(a.to_eip2537()))) == a.to_eip2537()


def test_g1_add__point_off_the_curve__refused(harness):
    good = bls.SecretKey(11).public_key().to_eip2537()
    with ape.reverts("bls: not a G1 point"):
        harness.g1_add(good, good[:-1] + bytes([good[-1] ^ 1]))


def test_message_builders__agree_with_python(harness, chain_id):
    operator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    key = bls.SecretKey(21).public_key().to_eip2537()
    assert bytes(harness.pop_message(operator, ED25519, key)) == bls.pop_message(
        chain_id, harness.address, operator, ED25519, key
    )
    for name in ("exit", "remove", "liquidate"):
        on_chain = bytes(getattr(harness, f"{name}_message")(5, 1_700_000_123))
        off_chain = getattr(bls, f"{name}_message")(chain_id, harness.address, 5, 1_700_000_123)
        assert on_chain == off_chain


def test_proof_of_possession__made_in_python__verifies_on_anvil(harness, chain_id):
    operator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    sk = bls.SecretKey.generate()
    key = sk.public_key().to_eip2537()
    proof = bls.prove_possession(sk, chain_id, harness.address, operator, ED25519).to_eip2537()
    digest = bytes(harness.pop_message(operator, ED25519, key))
    assert harness.verify(key, digest, bls.DST_POP, proof)
    assert not harness.verify(key, digest, bls.DST_SIG, proof)


def test_verify_network__all_nodes_minus_non_signers__verifies_on_anvil(
    project, deployer, chain_id
):
    harness = deployer.deploy(project.BlsHarness)
    keys = {node_id: bls.SecretKey(500 + node_id) for node_id in range(1, 8)}
    for node_id, sk in keys.items():
        harness.add_key(node_id, sk.public_key().to_eip2537(), sender=deployer)
    harness.remove_key(4, sender=deployer)
    del keys[4]
    expected = bls.aggregate_public_keys([k.public_key() for k in keys.values()]).to_eip2537()
    assert bytes(harness.aggregate_key()) == expected

    non_signers = [2, 6]
    digest = bls.remove_message(chain_id, harness.address, 3, 1_700_000_000)
    signature = bls.aggregate_signatures(
        [bls.sign(sk, digest) for node_id, sk in keys.items() if node_id not in non_signers]
    ).to_eip2537()
    assert harness.verify_network(digest, signature, non_signers)
    assert not harness.verify_network(digest, signature, [2])
    assert not harness.verify_network(digest, signature, [])
    with ape.reverts("harness: non-signers not strictly increasing"):
        harness.verify_network(digest, signature, [6, 2])
    with ape.reverts("harness: non-signer has no key"):
        harness.verify_network(digest, signature, [2, 4])


def test_add_key__bad_key__refused_and_aggregate_unchanged(project, deployer):
    harness = deployer.deploy(project.BlsHarness)
    harness.add_key(1, bls.SecretKey(5).public_key().to_eip2537(), sender=deployer)
    before = bytes(harness.aggregate_key())
    with ape.reverts("bls: public key is not in the subgroup"):
        harness.add_key(2, bytes(64) + (2).to_bytes(64, "big"), sender=deployer)
    with ape.reverts("harness: node already has a key"):
        harness.add_key(1, bls.SecretKey(6).public_key().to_eip2537(), sender=deployer)
    assert bytes(harness.aggregate_key()) == before
    assert harness.key_count() == 1
