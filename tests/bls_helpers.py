"""Shared by the BLS suites: py_ecc (the independent reference) in EIP-2537 encodings."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from py_ecc.bls.g2_primitives import G2_to_signature
from py_ecc.bls.hash_to_curve import hash_to_G2
from py_ecc.optimized_bls12_381 import G1, multiply, normalize

RFC_VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "rfc9380_bls12381g2.json").read_text()
)


def fp(value: int) -> bytes:
    return int(value).to_bytes(64, "big")


def g1_eip2537(point) -> bytes:
    """A py_ecc G1 point (optimized, Jacobian) in EIP-2537's 128 bytes."""
    x, y = normalize(point)
    return fp(x) + fp(y)


def g2_eip2537(point) -> bytes:
    """A py_ecc G2 point (optimized) in EIP-2537's 256 bytes."""
    x, y = normalize(point)
    return fp(x.coeffs[0]) + fp(x.coeffs[1]) + fp(y.coeffs[0]) + fp(y.coeffs[1])


def py_ecc_hash_to_g2(message: bytes, dst: bytes) -> bytes:
    return g2_eip2537(hash_to_G2(message, dst, hashlib.sha256))


def py_ecc_public_key(secret: int) -> bytes:
    return g1_eip2537(multiply(G1, secret))


def py_ecc_sign(secret: int, message: bytes, dst: bytes) -> bytes:
    """sk * H(m) with py_ecc alone, EIP-2537 encoding."""
    return g2_eip2537(multiply(hash_to_G2(message, dst, hashlib.sha256), secret))


def py_ecc_compressed_signature(signature_eip2537: bytes) -> bytes:
    """py_ecc's own compression of an EIP-2537 G2 point (to cross-check ours)."""
    from py_ecc.fields import optimized_bls12_381_FQ2 as FQ2

    c = [int.from_bytes(signature_eip2537[i : i + 64], "big") for i in range(0, 256, 64)]
    return G2_to_signature((FQ2([c[0], c[1]]), FQ2([c[2], c[3]]), FQ2.one()))


def rfc_point(vector: dict) -> bytes:
    """A vector's P in EIP-2537 encoding."""
    return b"".join(bytes(16) + bytes.fromhex(c) for c in vector["P"]["x"] + vector["P"]["y"])
