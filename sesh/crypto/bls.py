"""BLS12-381 signatures of the network (DESIGN §4, docs/protocol.md "Network signatures").

Public keys are in G1, signatures in G2, messages are hashed to G2 with RFC 9380 suite
`BLS12381G2_XMD:SHA-256_SSWU_RO_` under the IETF proof-of-possession DSTs: what the
contracts verify (`contracts/modules/bls12_381.vy`) is what any standard BLS library signs.

Keys and signatures travel in two forms: the compressed 48/96-byte forms (APIs, key
files, the network) and EIP-2537's 128/256-byte forms (calldata and events).
Every parser checks encodings, the curve and the subgroup, and raises `BlsError` (a
`ValueError`) with the reason. The arithmetic runs on arkworks (`py_arkworks_bls12381`);
see docs/decisions.md for the choice, and the tests for the cross-checks with py_ecc.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from eth_abi import encode as abi_encode
from eth_utils import is_address, keccak, to_canonical_address
from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

DST_SIG = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
DST_POP = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

FIELD_MODULUS = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB  # noqa: E501
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

MAX_DST_BYTES = 255
_FP_BYTES = 48
_FP_PADDED = 64
_NEG_G1 = -G1Point()
# Random coefficients of batch verification: 64 bits make a forged batch pass with
# probability at most 2**-64.
_BATCH_COEFFICIENT_BITS = 64

_TAG_POP = b"SESH_POP"
_TAG_EXIT = b"SESH_EXIT"
_TAG_REMOVE = b"SESH_REMOVE"
_TAG_LIQUIDATE = b"SESH_LIQUIDATE"


class BlsError(ValueError):
    """A key, signature, message field or DST that cannot be used; the text says why."""


# --- keys and signatures ------------------------------------------------------------


class SecretKey:
    """A BLS secret key: an integer in [1, r - 1] (r the subgroup order)."""

    __slots__ = ("_value",)

    def __init__(self, value: int):
        if not isinstance(value, int) or not 0 < value < CURVE_ORDER:
            raise BlsError("secret key must be an integer in [1, r - 1]")
        self._value = value

    @classmethod
    def generate(cls) -> SecretKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.randbelow(CURVE_ORDER - 1) + 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> SecretKey:
        """A key from its 32-byte big-endian form (as `to_bytes` writes it)."""
        data = _as_bytes(data, "secret key")
        if len(data) != 32:
            raise BlsError(f"secret key must be 32 bytes, got {len(data)}")
        value = int.from_bytes(data, "big")
        if not 0 < value < CURVE_ORDER:
            raise BlsError("secret key out of range: must be in [1, r - 1]")
        return cls(value)

    def to_bytes(self) -> bytes:
        return self._value.to_bytes(32, "big")

    def public_key(self) -> PublicKey:
        return PublicKey(G1Point() * Scalar(self._value))

    def _scalar(self) -> Scalar:
        return Scalar(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and secrets.compare_digest(
            self.to_bytes(), other.to_bytes()
        )

    def __hash__(self) -> int:
        return hash(self.public_key())

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"


class _CurvePoint:
    """What public keys and signatures share: a point, its two encodings, equality."""

    __slots__ = ("point",)
    _group: type = G1Point

    def __init__(self, point):
        self.point = point

    def to_compressed(self) -> bytes:
        return self.point.to_compressed_bytes()

    def to_eip2537(self) -> bytes:
        return _pad_coordinates(self.point.to_xy_bytes_be())

    def is_infinity(self) -> bool:
        return self.point == self._group.identity()

    def __bytes__(self) -> bytes:
        return self.to_compressed()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.point == other.point

    def __hash__(self) -> int:
        return hash(self.to_compressed())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_compressed().hex()})"


class PublicKey(_CurvePoint):
    """A G1 point in the prime-order subgroup. Parsed keys are never the point at
    infinity; only an aggregate can be (and then never verifies)."""

    __slots__ = ()
    _group = G1Point

    @classmethod
    def from_compressed(cls, data: bytes) -> PublicKey:
        """From the 48-byte compressed form; refuses infinity and off-subgroup points."""
        return cls(_not_infinity(_from_compressed(G1Point, _as_bytes(data, "public key"))))

    @classmethod
    def from_eip2537(cls, data: bytes) -> PublicKey:
        """From the 128-byte EIP-2537 form; refuses what the contracts' `_check_pubkey`
        refuses."""
        return cls(_not_infinity(_from_eip2537(G1Point, _as_bytes(data, "public key"))))


class Signature(_CurvePoint):
    """A G2 point in the prime-order subgroup (infinity parses, but never verifies)."""

    __slots__ = ()
    _group = G2Point

    @classmethod
    def from_compressed(cls, data: bytes) -> Signature:
        """From the 96-byte compressed form; refuses off-curve and off-subgroup points."""
        return cls(_from_compressed(G2Point, _as_bytes(data, "signature")))

    @classmethod
    def from_eip2537(cls, data: bytes) -> Signature:
        """From the 256-byte EIP-2537 form."""
        return cls(_from_eip2537(G2Point, _as_bytes(data, "signature")))


# --- signing and verifying ----------------------------------------------------------


def hash_to_g2(message: bytes, dst: bytes = DST_SIG) -> bytes:
    """RFC 9380 hash_to_curve (`BLS12381G2_XMD:SHA-256_SSWU_RO_`), EIP-2537 encoding:
    what the contracts' `_hash_to_g2` returns."""
    return _pad_coordinates(_hash(message, dst).to_xy_bytes_be())


def sign(secret_key: SecretKey, message: bytes, dst: bytes = DST_SIG) -> Signature:
    """`secret_key`'s signature of `message`: sk * H(message)."""
    if not isinstance(secret_key, SecretKey):
        raise BlsError("sign needs a SecretKey")
    return Signature(_hash(message, dst) * secret_key._scalar())


def verify(
    public_key: PublicKey, message: bytes, signature: Signature, dst: bytes = DST_SIG
) -> bool:
    """Whether `signature` is `public_key`'s signature of `message` under `dst`: the
    contracts' `_verify` (false for infinity as key or signature)."""
    _check_types([public_key], [signature])
    if public_key.is_infinity() or signature.is_infinity():
        return False
    return GT.pairing_check([public_key.point, _NEG_G1], [_hash(message, dst), signature.point])


def aggregate_signatures(signatures: Sequence[Signature]) -> Signature:
    """The sum of the signatures (the network's aggregate signature)."""
    _check_types([], signatures)
    return Signature(_sum(signatures, G2Point, "no signature to aggregate"))


def aggregate_public_keys(public_keys: Sequence[PublicKey]) -> PublicKey:
    """The sum of the keys: the key that verifies the aggregate of their signatures of
    one message. Safe against rogue keys only for keys with a proof of possession."""
    _check_types(public_keys, [])
    return PublicKey(_sum(public_keys, G1Point, "no public key to aggregate"))


def verify_batch(
    public_keys: Sequence[PublicKey],
    message: bytes,
    signatures: Sequence[Signature],
    dst: bytes = DST_SIG,
) -> bool:
    """Whether every `signatures[i]` is `public_keys[i]`'s signature of the one `message`.

    One pairing check for the whole batch: e(sum c_i pk_i, H(m)) == e(g1, sum c_i sig_i)
    with fresh random 64-bit c_i, so invalid signatures cannot cancel each other out
    (unlike a plain check of the aggregate)."""
    _check_types(public_keys, signatures)
    if len(public_keys) != len(signatures):
        raise BlsError(f"{len(public_keys)} keys for {len(signatures)} signatures")
    if not signatures:
        raise BlsError("no signature to verify")
    if any(k.is_infinity() for k in public_keys) or any(s.is_infinity() for s in signatures):
        return False
    coefficients = [Scalar(secrets.randbits(_BATCH_COEFFICIENT_BITS) | 1) for _ in signatures]
    key_sum = G1Point.multiexp_unchecked([k.point for k in public_keys], coefficients)
    signature_sum = G2Point.multiexp_unchecked([s.point for s in signatures], coefficients)
    return GT.pairing_check([key_sum, _NEG_G1], [_hash(message, dst), signature_sum])


def invalid_signatures(
    public_keys: Sequence[PublicKey],
    message: bytes,
    signatures: Sequence[Signature],
    dst: bytes = DST_SIG,
) -> list[int]:
    """Indices of the signatures that do not verify, found by halving the batch: about
    2·b·log2(n) batch checks for b bad signatures among n."""
    if len(public_keys) != len(signatures):
        raise BlsError(f"{len(public_keys)} keys for {len(signatures)} signatures")

    def search(lo: int, hi: int) -> list[int]:
        if verify_batch(public_keys[lo:hi], message, signatures[lo:hi], dst):
            return []
        if hi - lo == 1:
            return [lo]
        mid = (lo + hi) // 2
        return search(lo, mid) + search(mid, hi)

    return search(0, len(signatures)) if signatures else []


# --- network messages (docs/interfaces.md) ------------------------------------------


def pop_message(
    chain_id: int,
    staking_address: str | bytes,
    operator: str | bytes,
    ed25519_pubkey: bytes,
    bls_pubkey_eip2537: bytes | PublicKey,
) -> bytes:
    """The 32-byte digest a node's key signs (under DST_POP) when it registers:
    keccak256(abi_encode("SESH_POP", chain_id, staking, operator, ed25519_pubkey,
    bls_pubkey)) with the key as dynamic `bytes` (128, EIP-2537)."""
    if isinstance(bls_pubkey_eip2537, PublicKey):
        bls_pubkey_eip2537 = bls_pubkey_eip2537.to_eip2537()
    bls_pubkey = _as_bytes(bls_pubkey_eip2537, "BLS public key")
    if len(bls_pubkey) != 128:
        raise BlsError(f"BLS public key must be 128 bytes (EIP-2537), got {len(bls_pubkey)}")
    ed25519 = _as_bytes(ed25519_pubkey, "Ed25519 public key")
    if len(ed25519) != 32:
        raise BlsError(f"Ed25519 public key must be 32 bytes, got {len(ed25519)}")
    return keccak(
        abi_encode(
            ["bytes32", "uint256", "address", "address", "bytes32", "bytes"],
            [
                _TAG_POP,
                _uint(chain_id, 256, "chain id"),
                _address(staking_address, "staking address"),
                _address(operator, "operator"),
                ed25519,
                bls_pubkey,
            ],
        )
    )


def exit_message(
    chain_id: int, staking_address: str | bytes, node_id: int, timestamp: int
) -> bytes:
    """The digest the network signs (DST_SIG) to fast-track `node_id`'s exit."""
    return _network_message(_TAG_EXIT, chain_id, staking_address, node_id, timestamp)


def remove_message(
    chain_id: int, staking_address: str | bytes, node_id: int, timestamp: int
) -> bytes:
    """The digest the network signs (DST_SIG) to remove a failing node."""
    return _network_message(_TAG_REMOVE, chain_id, staking_address, node_id, timestamp)


def liquidate_message(
    chain_id: int, staking_address: str | bytes, node_id: int, timestamp: int
) -> bytes:
    """The digest the network signs (DST_SIG) to liquidate a node."""
    return _network_message(_TAG_LIQUIDATE, chain_id, staking_address, node_id, timestamp)


def prove_possession(
    secret_key: SecretKey,
    chain_id: int,
    staking_address: str | bytes,
    operator: str | bytes,
    ed25519_pubkey: bytes,
) -> Signature:
    """The `bls_pop` of `register_node`: the key's signature of its `pop_message`."""
    message = pop_message(
        chain_id, staking_address, operator, ed25519_pubkey, secret_key.public_key()
    )
    return sign(secret_key, message, DST_POP)


def verify_possession(
    public_key: PublicKey,
    proof: Signature,
    chain_id: int,
    staking_address: str | bytes,
    operator: str | bytes,
    ed25519_pubkey: bytes,
) -> bool:
    """Whether `proof` is a valid proof of possession of `public_key` for this
    registration (what `register_node` checks on chain)."""
    _check_types([public_key], [proof])
    if public_key.is_infinity():
        return False
    message = pop_message(chain_id, staking_address, operator, ed25519_pubkey, public_key)
    return verify(public_key, message, proof, DST_POP)


# --- internals ----------------------------------------------------------------------


def _network_message(
    tag: bytes, chain_id: int, staking_address: str | bytes, node_id: int, timestamp: int
) -> bytes:
    return keccak(
        abi_encode(
            ["bytes32", "uint256", "address", "uint64", "uint256"],
            [
                tag,
                _uint(chain_id, 256, "chain id"),
                _address(staking_address, "staking address"),
                _uint(node_id, 64, "node id"),
                _uint(timestamp, 256, "timestamp"),
            ],
        )
    )


def _sum(items: Sequence[_CurvePoint], group: type, empty_reason: str):
    if not items:
        raise BlsError(empty_reason)
    total = group.identity()
    for item in items:
        total = total + item.point
    return total


def _hash(message: bytes, dst: bytes) -> G2Point:
    message = _as_bytes(message, "message")
    dst = _as_bytes(dst, "DST")
    if not 0 < len(dst) <= MAX_DST_BYTES:
        raise BlsError(f"DST must be 1 to {MAX_DST_BYTES} bytes, got {len(dst)}")
    return G2Point.hash_to_curve(message, dst)


def _as_bytes(data: object, what: str) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise BlsError(f"{what} must be bytes, got {type(data).__name__}")


def _uint(value: object, bits: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise BlsError(f"{what} must be an integer in [0, 2**{bits})")
    return value


def _address(value: object, what: str) -> bytes:
    if isinstance(value, bytes | bytearray) and len(value) == 20:
        return bytes(value)
    if isinstance(value, str) and is_address(value):
        return to_canonical_address(value)
    raise BlsError(f"{what} is not an address: {value!r}")


def _check_types(public_keys: Sequence[object], signatures: Sequence[object]) -> None:
    if not all(isinstance(k, PublicKey) for k in public_keys):
        raise BlsError("expected PublicKey objects (parse bytes with PublicKey.from_*)")
    if not all(isinstance(s, Signature) for s in signatures):
        raise BlsError("expected Signature objects (parse bytes with Signature.from_*)")


def _pad_coordinates(xy: bytes) -> bytes:
    """48-byte big-endian coordinates → EIP-2537's 64-byte ones (16 zero bytes first)."""
    return b"".join(
        bytes(_FP_PADDED - _FP_BYTES) + xy[i : i + _FP_BYTES] for i in range(0, len(xy), _FP_BYTES)
    )


def _unpad_coordinates(data: bytes, what: str) -> bytes:
    """EIP-2537 coordinates → 48-byte ones; each must be a canonical field element."""
    out = []
    for i in range(0, len(data), _FP_PADDED):
        coordinate = int.from_bytes(data[i : i + _FP_PADDED], "big")
        if coordinate >= FIELD_MODULUS:
            raise BlsError(f"{what} coordinate is not a field element (not below p)")
        out.append(coordinate.to_bytes(_FP_BYTES, "big"))
    return b"".join(out)


# What a parser calls each group, and its sizes: (name, G1 or G2, compressed bytes).
_GROUPS = {G1Point: ("public key", "G1", _FP_BYTES), G2Point: ("signature", "G2", 2 * _FP_BYTES)}


def _from_eip2537(group: type, data: bytes):
    what, name, compressed_size = _GROUPS[group]
    size = compressed_size // _FP_BYTES * 2 * _FP_PADDED
    if len(data) != size:
        raise BlsError(f"{what} must be {size} bytes (EIP-2537 {name}), got {len(data)}")
    xy = _unpad_coordinates(data, what)
    try:
        point = group.from_xy_bytes_unchecked_be(xy)
    except ValueError as exc:
        raise BlsError(f"{what} is not on the curve") from exc
    return _in_subgroup(point, what)


def _from_compressed(group: type, data: bytes):
    what, name, size = _GROUPS[group]
    if len(data) != size:
        raise BlsError(f"{what} must be {size} bytes compressed, got {len(data)}")
    try:
        point = group.from_compressed_bytes_unchecked(data)
    except ValueError as exc:
        raise BlsError(f"{what} is not a valid compressed {name} point") from exc
    return _in_subgroup(point, what)


def _in_subgroup(point, what: str):
    if not point.is_in_subgroup():
        raise BlsError(f"{what} is not in the subgroup")
    return point


def _not_infinity(point: G1Point) -> G1Point:
    if point == G1Point.identity():
        raise BlsError("public key is the point at infinity")
    return point
