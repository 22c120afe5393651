"""The BLS12-381 module on titanoboa against py_ecc (the independent reference) and
sesh.crypto.bls (the native backend): hashing to G2 for random messages and DSTs, and
signatures made in Python that verify on chain while every tampered variant does not."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sesh.crypto import bls
from tests.bls_helpers import (
    py_ecc_compressed_signature,
    py_ecc_hash_to_g2,
    py_ecc_public_key,
    py_ecc_sign,
)

from .boa_helpers import deployer_for

P = bls.FIELD_MODULUS

messages = st.binary(max_size=1024)
dsts = st.binary(min_size=1, max_size=255)
secrets = st.integers(min_value=1, max_value=bls.CURVE_ORDER - 1)
short_messages = st.binary(max_size=96)
signing_dsts = st.one_of(st.sampled_from([bls.DST_SIG, bls.DST_POP]), dsts)


@pytest.fixture(scope="module")
def harness():
    return deployer_for("mocks/BlsHarness.vy").deploy()


@given(message=messages, dst=dsts)
def test_hash_to_g2__random_message_and_dst__equals_py_ecc_and_the_native_backend(
    harness, message, dst
):
    expected = py_ecc_hash_to_g2(message, dst)
    assert harness.hash_to_g2(message, dst) == expected
    assert bls.hash_to_g2(message, dst) == expected


@given(secret=secrets, message=short_messages, dst=signing_dsts)
def test_verify__py_ecc_signature__verifies_on_chain_and_in_python(harness, secret, message, dst):
    pubkey = py_ecc_public_key(secret)
    signature = py_ecc_sign(secret, message, dst)
    assert harness.verify(pubkey, message, dst, signature)
    # The native backend reads py_ecc's points, and agrees on the compressed form.
    parsed = bls.Signature.from_eip2537(signature)
    assert parsed.to_compressed() == py_ecc_compressed_signature(signature)
    assert bls.verify(bls.PublicKey.from_eip2537(pubkey), message, parsed, dst)


def _swap_fp2_halves(point: bytes) -> bytes:
    """(x.c0, x.c1, y.c0, y.c1) -> (x.c1, x.c0, y.c1, y.c0): a conjugate-like mix-up."""
    c = [point[i : i + 64] for i in range(0, 256, 64)]
    return c[1] + c[0] + c[3] + c[2]


def _swap_x_y(point: bytes) -> bytes:
    return point[128:] + point[:128]


def _negate_g2(point: bytes) -> bytes:
    c = [int.from_bytes(point[i : i + 64], "big") for i in range(0, 256, 64)]
    return b"".join(v.to_bytes(64, "big") for v in (c[0], c[1], (P - c[2]) % P, (P - c[3]) % P))


def _coordinate_not_in_field(point: bytes) -> bytes:
    value = int.from_bytes(point[:64], "big") + P
    return value.to_bytes(64, "big") + point[64:]


def _top_bytes_set(point: bytes) -> bytes:
    return b"\x01" + point[1:]


def _flip_last_byte(point: bytes) -> bytes:
    return point[:-1] + bytes([point[-1] ^ 1])


def _other_dst(dst: bytes) -> bytes:
    return bls.DST_POP if dst != bls.DST_POP else bls.DST_SIG


# Each tampering of (pubkey, message, dst, signature), given another valid key.
TAMPERS = {
    "other message": lambda k, m, d, s, other: (k, m + b"\x00", d, s),
    "other dst": lambda k, m, d, s, other: (k, m, _other_dst(d), s),
    "other key": lambda k, m, d, s, other: (other, m, d, s),
    "negated signature": lambda k, m, d, s, other: (k, m, d, _negate_g2(s)),
    "signature halves swapped": lambda k, m, d, s, other: (k, m, d, _swap_fp2_halves(s)),
    "signature x and y swapped": lambda k, m, d, s, other: (k, m, d, _swap_x_y(s)),
    "signature off the curve": lambda k, m, d, s, other: (k, m, d, _flip_last_byte(s)),
    "signature coordinate not below p": lambda k, m, d, s, other: (
        k,
        m,
        d,
        _coordinate_not_in_field(s),
    ),
    "signature top bytes not zero": lambda k, m, d, s, other: (k, m, d, _top_bytes_set(s)),
    "signature truncated": lambda k, m, d, s, other: (k, m, d, s[:-1]),
    "signature at infinity": lambda k, m, d, s, other: (k, m, d, bytes(256)),
    "key at infinity": lambda k, m, d, s, other: (bytes(128), m, d, s),
    "key and signature at infinity": lambda k, m, d, s, other: (bytes(128), m, d, bytes(256)),
    "key off the curve": lambda k, m, d, s, other: (_flip_last_byte(k), m, d, s),
    "key truncated": lambda k, m, d, s, other: (k[:64], m, d, s),
}


@given(
    secret=secrets,
    other_secret=secrets,
    message=short_messages,
    dst=signing_dsts,
    tamper=st.sampled_from(sorted(TAMPERS)),
)
def test_verify__tampered_signature__is_refused_on_chain_and_in_python(
    harness, secret, other_secret, message, dst, tamper
):
    sk = bls.SecretKey(secret)
    if other_secret == secret:
        other_secret = secret % (bls.CURVE_ORDER - 1) + 1
    other_key = bls.SecretKey(other_secret).public_key().to_eip2537()
    signature = bls.sign(sk, message, dst).to_eip2537()
    pubkey, message, dst, signature = TAMPERS[tamper](
        sk.public_key().to_eip2537(), message, dst, signature, other_key
    )

    assert harness.verify(pubkey, message, dst, signature) is False
    try:
        parsed_key = bls.PublicKey.from_eip2537(pubkey)
        parsed_signature = bls.Signature.from_eip2537(signature)
    except bls.BlsError:
        return  # refused with a reason: the unit tests check each reason
    assert not bls.verify(parsed_key, message, parsed_signature, dst)


@given(secret=secrets, message=short_messages, dst=signing_dsts)
def test_verify__native_signature__verifies_on_chain_and_with_py_ecc(harness, secret, message, dst):
    sk = bls.SecretKey(secret)
    signature = bls.sign(sk, message, dst).to_eip2537()
    assert harness.verify(sk.public_key().to_eip2537(), message, dst, signature)
    assert signature == py_ecc_sign(secret, message, dst)


@pytest.mark.parametrize("gas", [90_000, 150_000])
def test_verify__too_little_gas_for_the_pairing__reverts_rather_than_returning_false(harness, gas):
    """Otherwise a relayer could make a valid network signature read as invalid."""
    import boa

    sk = bls.SecretKey(12345)
    message = b"\x01" * 32
    args = (sk.public_key().to_eip2537(), message, bls.DST_SIG, bls.sign(sk, message).to_eip2537())
    with boa.reverts("bls: too little gas"):
        harness.verify(*args, gas=gas)
    assert harness.verify(*args, gas=1_000_000)
