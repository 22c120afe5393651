"""Native EIP-2537 precompiles for titanoboa.

titanoboa runs on py-evm, whose BLS12-381 precompiles are pure Python (py_ecc): about a
second per pairing check, which would make every stateful suite that registers, removes
or exits nodes crawl. This module replaces the seven EIP-2537 precompiles, for titanoboa
only, with functions doing the same thing on arkworks (the backend of `sesh.crypto.bls`):
same inputs accepted and refused, same outputs, same gas. The test suite cross-checks
them against py-evm's own on random valid and invalid inputs
(tests/property/test_boa_bls_precompiles.py).

    from sesh.testing.boa_bls import native_bls_precompiles

    with native_bls_precompiles():
        ...  # every titanoboa call in here uses the native precompiles

or `install()` / `uninstall()`. The switch is global to titanoboa (as its precompile
registry is); nothing else (Ape, anvil, web3) is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from boa.vm.py_evm import deregister_raw_precompile, register_raw_precompile
from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth.precompiles.bls12_381.constants import (
    BLS12_G1_ADD_GAS,
    BLS12_G1_MSM_GAS,
    BLS12_G2_ADD_GAS,
    BLS12_G2_MSM_GAS,
    BLS12_MAP_FP2_G2_GAS,
    BLS12_MAP_FP_G1_GAS,
    G1_MSM_DISCOUNTS,
    G1_MSM_MAX_DISCOUNT,
    G2_MSM_DISCOUNTS,
    G2_MSM_MAX_DISCOUNT,
    MSM_MULTIPLIER,
)
from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from sesh.crypto.bls import CURVE_ORDER, FIELD_MODULUS

G1ADD = "0x000000000000000000000000000000000000000b"
G1MSM = "0x000000000000000000000000000000000000000c"
G2ADD = "0x000000000000000000000000000000000000000d"
G2MSM = "0x000000000000000000000000000000000000000e"
PAIRING_CHECK = "0x000000000000000000000000000000000000000f"
MAP_FP_TO_G1 = "0x0000000000000000000000000000000000000010"
MAP_FP2_TO_G2 = "0x0000000000000000000000000000000000000011"

# EIP-2537's pairing price: 32,600 per pair plus 37,700.
PAIRING_GAS_PER_PAIR = 32_600
PAIRING_GAS_BASE = 37_700

_FP = 64  # an Fp element, padded
_G1 = 2 * _FP
_G2 = 4 * _FP
_SCALAR = 32


def _fp(data: bytes) -> bytes:
    """A 64-byte EIP-2537 Fp element as arkworks' 48 bytes; VMError unless below p."""
    value = int.from_bytes(data, "big")
    if value >= FIELD_MODULUS:
        raise VMError("BLS12-381: coordinate is not a field element")
    return value.to_bytes(48, "big")


def _decode(point_type, name: str, data: bytes, subgroup: bool):
    """An EIP-2537 point (all zero: infinity); VMError off the curve, and outside the
    subgroup when `subgroup`."""
    coordinates = b"".join(_fp(data[i : i + _FP]) for i in range(0, len(data), _FP))
    if not any(coordinates):
        return point_type.identity()
    try:
        point = point_type.from_xy_bytes_unchecked_be(coordinates)
    except ValueError as exc:
        raise VMError(f"BLS12-381: {name} point is not on the curve") from exc
    if subgroup and not point.is_in_subgroup():
        raise VMError(f"BLS12-381: {name} point is not in the subgroup")
    return point


def _g1(data: bytes, subgroup: bool) -> G1Point:
    return _decode(G1Point, "G1", data, subgroup)


def _g2(data: bytes, subgroup: bool) -> G2Point:
    return _decode(G2Point, "G2", data, subgroup)


@dataclass(frozen=True)
class _Group:
    """What G1's and G2's ADD and MSM precompiles differ in."""

    name: str
    size: int
    point: type
    decode: Callable[[bytes, bool], object]
    add_gas: int
    msm_gas: int
    discounts: list[int]
    max_discount: int


_G1_GROUP = _Group(
    "BLS12_G1", _G1, G1Point, _g1, BLS12_G1_ADD_GAS, BLS12_G1_MSM_GAS,
    G1_MSM_DISCOUNTS, G1_MSM_MAX_DISCOUNT,
)  # fmt: skip
_G2_GROUP = _Group(
    "BLS12_G2", _G2, G2Point, _g2, BLS12_G2_ADD_GAS, BLS12_G2_MSM_GAS,
    G2_MSM_DISCOUNTS, G2_MSM_MAX_DISCOUNT,
)  # fmt: skip


def _encode(xy: bytes) -> bytes:
    return b"".join(bytes(16) + xy[i : i + 48] for i in range(0, len(xy), 48))


def _add(group: _Group, computation: ComputationAPI) -> ComputationAPI:
    """G1ADD / G2ADD: two points on the curve (no subgroup check), their sum."""
    data = computation.msg.data_as_bytes
    if len(data) != 2 * group.size:
        raise VMError(f"{group.name}ADD: input must be {2 * group.size} bytes")
    computation.consume_gas(group.add_gas, reason=f"{group.name}ADD")
    total = group.decode(data[: group.size], False) + group.decode(data[group.size :], False)
    computation.output = _encode(total.to_xy_bytes_be())
    return computation


def _msm(group: _Group, computation: ComputationAPI) -> ComputationAPI:
    """G1MSM / G2MSM: k (point in the subgroup, 32-byte scalar) pairs, sum of products.
    Scalars are not required to be below r; n·P = (n mod r)·P in the subgroup."""
    data = computation.msg.data_as_bytes
    pair = group.size + _SCALAR
    if not data or len(data) % pair:
        raise VMError(f"{group.name}MSM: input must be a positive multiple of {pair} bytes")
    k = len(data) // pair
    discount = group.discounts[k - 1] if k <= len(group.discounts) else group.max_discount
    computation.consume_gas(k * group.msm_gas * discount // MSM_MULTIPLIER, f"{group.name}MSM")
    points, scalars = [], []
    for i in range(0, len(data), pair):
        points.append(group.decode(data[i : i + group.size], True))
        scalar = int.from_bytes(data[i + group.size : i + pair], "big")
        scalars.append(Scalar(scalar % CURVE_ORDER))
    result = group.point.multiexp_unchecked(points, scalars)
    computation.output = _encode(result.to_xy_bytes_be())
    return computation


def g1_add(computation: ComputationAPI) -> ComputationAPI:
    return _add(_G1_GROUP, computation)


def g2_add(computation: ComputationAPI) -> ComputationAPI:
    return _add(_G2_GROUP, computation)


def g1_msm(computation: ComputationAPI) -> ComputationAPI:
    return _msm(_G1_GROUP, computation)


def g2_msm(computation: ComputationAPI) -> ComputationAPI:
    return _msm(_G2_GROUP, computation)


def pairing_check(computation: ComputationAPI) -> ComputationAPI:
    data = computation.msg.data_as_bytes
    pair = _G1 + _G2
    if not data or len(data) % pair:
        raise VMError("BLS12_PAIRING_CHECK: input must be a positive multiple of 384 bytes")
    k = len(data) // pair
    computation.consume_gas(PAIRING_GAS_PER_PAIR * k + PAIRING_GAS_BASE, "BLS12_PAIRING_CHECK")
    g1s, g2s = [], []
    for i in range(0, len(data), pair):
        g1s.append(_g1(data[i : i + _G1], subgroup=True))
        g2s.append(_g2(data[i + _G1 : i + pair], subgroup=True))
    computation.output = bytes(31) + (b"\x01" if GT.pairing_check(g1s, g2s) else b"\x00")
    return computation


def map_fp_to_g1(computation: ComputationAPI) -> ComputationAPI:
    data = computation.msg.data_as_bytes
    if len(data) != _FP:
        raise VMError("BLS12_MAP_FP_TO_G1: input must be 64 bytes")
    computation.consume_gas(BLS12_MAP_FP_G1_GAS, reason="BLS12_MAP_FP_TO_G1")
    point = G1Point.map_from_fp_be(_fp(data))
    computation.output = _encode(point.to_xy_bytes_be())
    return computation


def map_fp2_to_g2(computation: ComputationAPI) -> ComputationAPI:
    data = computation.msg.data_as_bytes
    if len(data) != 2 * _FP:
        raise VMError("BLS12_MAP_FP2_TO_G2: input must be 128 bytes")
    computation.consume_gas(BLS12_MAP_FP2_G2_GAS, reason="BLS12_MAP_FP2_TO_G2")
    point = G2Point.map_from_fp2_be(_fp(data[:_FP]) + _fp(data[_FP:]))
    computation.output = _encode(point.to_xy_bytes_be())
    return computation


NATIVE_PRECOMPILES: dict[str, Callable[[ComputationAPI], ComputationAPI]] = {
    G1ADD: g1_add,
    G1MSM: g1_msm,
    G2ADD: g2_add,
    G2MSM: g2_msm,
    PAIRING_CHECK: pairing_check,
    MAP_FP_TO_G1: map_fp_to_g1,
    MAP_FP2_TO_G2: map_fp2_to_g2,
}

_installed = False


def install() -> None:
    """Use the native precompiles in every titanoboa environment from now on."""
    global _installed
    for address, function in NATIVE_PRECOMPILES.items():
        register_raw_precompile(address, function, force=True)
    _installed = True


def uninstall() -> None:
    """Back to py-evm's own precompiles."""
    global _installed
    for address in NATIVE_PRECOMPILES:
        deregister_raw_precompile(address)
    _installed = False


def installed() -> bool:
    return _installed


@contextmanager
def native_bls_precompiles() -> Iterator[None]:
    """Native precompiles inside the block; whatever was in force before, after it."""
    was_installed = _installed
    install()
    try:
        yield
    finally:
        if not was_installed:
            uninstall()


@contextmanager
def pyevm_bls_precompiles() -> Iterator[None]:
    """py-evm's own precompiles inside the block (for cross-checks and benchmarks)."""
    was_installed = _installed
    uninstall()
    try:
        yield
    finally:
        if was_installed:
            install()
