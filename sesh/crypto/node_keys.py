"""A service node's two identities and what `register_node` needs from them.

Ed25519: the node's identity in the network (its Session-style node id, its X25519 key
for onion requests). BLS12-381: its vote in network signatures. Registration binds
them: the Ed25519 key signs `ed25519_pubkey || bls_pubkey` (checked by every node off
chain) and the BLS key proves possession of itself for this operator, chain and
staking contract (checked on chain).
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from sesh.crypto import bls


@dataclass(frozen=True)
class NodeKeys:
    ed25519: SigningKey
    bls: bls.SecretKey

    @classmethod
    def generate(cls) -> NodeKeys:
        return cls(ed25519=SigningKey.generate(), bls=bls.SecretKey.generate())

    @classmethod
    def from_seeds(cls, ed25519_seed: bytes, bls_secret: bytes) -> NodeKeys:
        return cls(ed25519=SigningKey(ed25519_seed), bls=bls.SecretKey.from_bytes(bls_secret))

    @property
    def ed25519_pubkey(self) -> bytes:
        return bytes(self.ed25519.verify_key)

    @property
    def bls_pubkey(self) -> bls.PublicKey:
        return self.bls.public_key()

    @property
    def node_id_hex(self) -> str:
        """The node's identity as the network shows it: its Ed25519 key in hex."""
        return self.ed25519_pubkey.hex()

    def registration_signature(self) -> bytes:
        """`ed25519_sig`: the Ed25519 signature of `ed25519_pubkey || bls_pubkey (EIP-2537)`."""
        message = registration_message(self.ed25519_pubkey, self.bls_pubkey.to_eip2537())
        return self.ed25519.sign(message).signature

    def proof_of_possession(self, chain_id: int, staking: str, operator: str) -> bytes:
        """`bls_pop` in EIP-2537 form, for this operator, chain and staking contract."""
        proof = bls.prove_possession(self.bls, chain_id, staking, operator, self.ed25519_pubkey)
        return proof.to_eip2537()

    def registration_args(self, chain_id: int, staking: str, operator: str) -> tuple:
        """`(ed25519_pubkey, ed25519_sig, bls_pubkey, bls_pop)`, the first four arguments
        of `register_node`."""
        return (
            self.ed25519_pubkey,
            self.registration_signature(),
            self.bls_pubkey.to_eip2537(),
            self.proof_of_possession(chain_id, staking, operator),
        )


def registration_message(ed25519_pubkey: bytes, bls_pubkey_eip2537: bytes) -> bytes:
    if len(ed25519_pubkey) != 32 or len(bls_pubkey_eip2537) != 128:
        raise ValueError("expected a 32-byte Ed25519 key and a 128-byte EIP-2537 BLS key")
    return bytes(ed25519_pubkey) + bytes(bls_pubkey_eip2537)


def verify_registration_signature(
    ed25519_pubkey: bytes, bls_pubkey_eip2537: bytes, signature: bytes
) -> bool:
    """Whether `signature` is the node's Ed25519 signature of its two keys."""
    try:
        message = registration_message(ed25519_pubkey, bls_pubkey_eip2537)
        VerifyKey(bytes(ed25519_pubkey)).verify(message, bytes(signature))
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True
