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
