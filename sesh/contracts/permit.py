"""EIP-2612 permits for SESH: the typed data, and signing it with an Ape account.

Every token pull in the project has a `*_with_permit` twin taking `(deadline, v, r, s)`;
this module produces those four values so a user needs a single transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.messages import SignableMessage, encode_typed_data

PERMIT_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


@dataclass(frozen=True)
class PermitSignature:
    deadline: int
    v: int
    r: bytes
    s: bytes

    def as_args(self) -> tuple[int, int, bytes, bytes]:
        """`(deadline, v, r, s)` in the order every `*_with_permit` function takes them."""
        return (self.deadline, self.v, self.r, self.s)


def permit_message(
    *,
    token_name: str,
    token_version: str,
    chain_id: int,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
) -> SignableMessage:
    """The EIP-712 message an owner signs to let `spender` pull `value` units."""
    return encode_typed_data(
        full_message={
            "types": PERMIT_TYPES,
            "primaryType": "Permit",
            "domain": {
                "name": token_name,
                "version": token_version,
                "chainId": chain_id,
                "verifyingContract": token,
            },
            "message": {
                "owner": owner,
                "spender": spender,
                "value": value,
                "nonce": nonce,
                "deadline": deadline,
            },
        }
    )


def sign_permit(
    account: Any, token: Any, spender: str, value: int, deadline: int, chain_id: int | None = None
) -> PermitSignature:
    """Sign a permit with an Ape account for `token` (a SESH contract instance).

    Reads the token's EIP-5267 domain and the owner's current nonce from the chain;
    `chain_id` overrides the domain's chain id (only tests want that).
    """
    _fields, name, version, domain_chain_id, verifying_contract, _salt, _ext = token.eip712Domain()
    message = permit_message(
        token_name=name,
        token_version=version,
        chain_id=domain_chain_id if chain_id is None else chain_id,
        token=str(verifying_contract),
        owner=str(account.address),
        spender=str(spender),
        value=value,
        nonce=token.nonces(account.address),
        deadline=deadline,
    )
    signature = account.sign_message(message)
    if signature is None:
        raise ValueError(f"account {account.address} refused to sign the permit")
    return PermitSignature(
        deadline=deadline, v=signature.v, r=_word(signature.r), s=_word(signature.s)
    )


def _word(value: bytes | int) -> bytes:
    """r or s as the 32-byte big-endian word `bytes32` needs. Ape may hand them over
    without their leading zero bytes (1 signature in 256), and a shorter `bytes32`
    argument is padded on the right, which turns s into a different (invalid) number."""
    number = value if isinstance(value, int) else int.from_bytes(bytes(value), "big")
    return number.to_bytes(32, "big")
