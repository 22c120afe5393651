"""Groups as Session runs them on the storage servers: a group is an account `03` + the
group's Ed25519 key. Admins hold that key and sign every request themselves; members are
given a subaccount token (their own Ed25519 key, read and write access) that an admin
signs, and sign their requests with their own key. Removing a member revokes its token on
the group's swarm (`revoke_subaccount`); the namespaces −(100n+11) stay readable to it (a
removal notice).

Session derives members' subaccount keys from their Session IDs (blinded, so the swarm does
not learn who is in the group); any Ed25519 key works for the storage server, and these
helpers take whichever the caller gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.signing import SigningKey

from sesh.protocol.storage_rpc import RequestSigner, subaccount_token

GROUP_PREFIX = 0x03


@dataclass(frozen=True)
class GroupAdmin:
    """The holder of a group's key."""

    group_key: SigningKey

    @classmethod
    def create(cls) -> GroupAdmin:
        return cls(SigningKey.generate())

    @property
    def account(self) -> str:
        return f"{GROUP_PREFIX:02x}" + bytes(self.group_key.verify_key).hex()

    @property
    def signer(self) -> RequestSigner:
        return RequestSigner.owner(self.account, self.group_key)

    def grant(
        self, member_pubkey: bytes, write: bool = True, delete: bool = False
    ) -> tuple[bytes, bytes]:
        """A member's token and the group's signature of it."""
        token = subaccount_token(GROUP_PREFIX, member_pubkey, read=True, write=write, delete=delete)
        return token, self.group_key.sign(token).signature

    def member_signer(
        self, member_key: SigningKey, write: bool = True, delete: bool = False
    ) -> tuple[RequestSigner, bytes]:
        """What a member signs the group's requests with, and its token (to revoke it)."""
        token, signature = self.grant(bytes(member_key.verify_key), write, delete)
        return RequestSigner.member(self.account, member_key, token, signature), token
