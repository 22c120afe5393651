"""The native EIP-2537 precompiles (sesh.testing.boa_bls) against py-evm's own, through
titanoboa's EVM: on random valid and invalid inputs both must give the same outcome —
the same output and gas on success, a failure (all gas burnt) on the same inputs.

py-evm's precompiles are slow (a pairing check takes seconds), so the examples here are
a fifth of the profile's."""

import boa
from hypothesis import given, settings
from hypothesis import strategies as st
from py_arkworks_bls12381 import G1Point, G2Point, Scalar
from py_ecc.bls.hash_to_curve import map_to_curve_G1, map_to_curve_G2
from py_ecc.fields import optimized_bls12_381_FQ as FQ
from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2

from sesh.crypto.bls import CURVE_ORDER, FIELD_MODULUS
from sesh.testing import boa_bls
from tests.bls_helpers import g1_eip2537, g2_eip2537

P = FIELD_MODULUS
FEW = settings(max_examples=max(3, settings.default.max_examples // 5))
GAS = 3_000_000

scalars = st.integers(min_value=0, max_value=2**256 - 1)
field_elements = st.integers(min_value=0, max_value=P - 1)
point_kinds = st.sampled_from(
    ["valid", "valid", "valid", "infinity", "not in subgroup", "off curve", "not a field element"]
)


def _pad(xy: bytes) -> bytes:
    return b"".join(bytes(16) + xy[i : i + 48] for i in range(0, len(xy), 48))


def _spoil(point: bytes, kind: str) -> bytes:
    if kind == "off curve":
        return point[:-1] + bytes([point[-1] ^ 1])
    if kind == "not a field element":
        value = int.from_bytes(point[:64], "big") + P
        return value.to_bytes(64, "big") + point[64:]
    return point


@st.composite
def _points(draw, group, map_to_curve, field_elements_per_input, size):
    kind = draw(point_kinds)
    if kind == "infinity":
        return bytes(size)
    if kind == "not in subgroup":
        # SSWU's output before cofactor clearing: on the curve, almost never in the subgroup.
        return map_to_curve(draw(st.lists(field_elements, min_size=field_elements_per_input,
                                          max_size=field_elements_per_input)))  # fmt: skip
    point = _pad((group() * Scalar(draw(st.integers(1, CURVE_ORDER - 1)))).to_xy_bytes_be())
    return _spoil(point, kind)


def g1_points():
    return _points(G1Point, lambda u: g1_eip2537(map_to_curve_G1(FQ(u[0]))), 1, 128)


def g2_points():
    return _points(G2Point, lambda u: g2_eip2537(map_to_curve_G2(FQ2(u))), 2, 256)


def _length_spoiled(data: bytes, cut: int) -> bytes:
    """`cut` 0 leaves the input alone; otherwise drops or adds bytes."""
    if cut == 0:
        return data
    return data[:-cut] if cut > 0 else data + bytes(-cut)


def _outcome(address: str, data: bytes):
    result = boa.env.execute_code(to_address=address, data=data, gas=GAS)
    return result.is_error, bytes(result.output or b""), result.get_gas_used()


def assert_same_outcome(address: str, data: bytes):
    with boa_bls.native_bls_precompiles():
        native = _outcome(address, data)
    with boa_bls.pyevm_bls_precompiles():
        reference = _outcome(address, data)
    assert native == reference
    return native


cuts = st.sampled_from([0, 0, 0, 0, 1, -1, 32])


@given(a=g1_points(), b=g1_points(), cut=cuts)
def test_g1add__native_and_pyevm__agree(a, b, cut):
    assert_same_outcome(boa_bls.G1ADD, _length_spoiled(a + b, cut))


@given(a=g2_points(), b=g2_points(), cut=cuts)
def test_g2add__native_and_pyevm__agree(a, b, cut):
    assert_same_outcome(boa_bls.G2ADD, _length_spoiled(a + b, cut))


@FEW
@given(pairs=st.lists(st.tuples(g1_points(), scalars), min_size=0, max_size=3), cut=cuts)
def test_g1msm__native_and_pyevm__agree(pairs, cut):
    data = b"".join(point + s.to_bytes(32, "big") for point, s in pairs)
    assert_same_outcome(boa_bls.G1MSM, _length_spoiled(data, cut) if data else data)


@FEW
@given(pairs=st.lists(st.tuples(g2_points(), scalars), min_size=0, max_size=2), cut=cuts)
def test_g2msm__native_and_pyevm__agree(pairs, cut):
    data = b"".join(point + s.to_bytes(32, "big") for point, s in pairs)
    assert_same_outcome(boa_bls.G2MSM, _length_spoiled(data, cut) if data else data)


@FEW
@given(value=st.one_of(field_elements, st.integers(P, 2**512 - 1)), cut=cuts)
def test_map_fp_to_g1__native_and_pyevm__agree(value, cut):
    assert_same_outcome(boa_bls.MAP_FP_TO_G1, _length_spoiled(value.to_bytes(64, "big"), cut))


@FEW
@given(
    c0=st.one_of(field_elements, st.integers(P, 2**512 - 1)),
    c1=field_elements,
    cut=cuts,
)
def test_map_fp2_to_g2__native_and_pyevm__agree(c0, c1, cut):
    data = c0.to_bytes(64, "big") + c1.to_bytes(64, "big")
    assert_same_outcome(boa_bls.MAP_FP2_TO_G2, _length_spoiled(data, cut))


@FEW
@given(
    secret=st.integers(1, CURVE_ORDER - 1),
    kind=st.sampled_from(["true", "false", "invalid g1", "invalid g2", "empty"]),
    g1=g1_points(),
    g2=g2_points(),
)
def test_pairing_check__native_and_pyevm__agree(secret, kind, g1, g2):
    """Two pairs, as the module uses it: e(a·g1, g2) · e(-g1, a·g2) is 1 for a true
    case, not 1 for a false one; random (often invalid) points otherwise."""
    g1_gen, g2_gen = G1Point(), G2Point()
    a = _pad((g1_gen * Scalar(secret)).to_xy_bytes_be())
    b = _pad(g2_gen.to_xy_bytes_be())
    c = _pad((-g1_gen).to_xy_bytes_be())
    d = _pad((g2_gen * Scalar(secret if kind != "false" else secret + 1)).to_xy_bytes_be())
    if kind == "invalid g1":
        a = g1
    elif kind == "invalid g2":
        d = g2
    data = b"" if kind == "empty" else a + b + c + d
    failed, output, _ = assert_same_outcome(boa_bls.PAIRING_CHECK, data)
    if kind in ("true", "false"):
        assert not failed and output[-1] == (1 if kind == "true" else 0)
