"""Session names: availability and prices, commit-reveal registration, renewal, records."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sesh.contracts.base import ContractError, Tx, Wrapper, view
from sesh.rules import names as rules
from sesh.rules.units import format_sesh, from_units, to_units

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Commitment:
    """What `commit` hid, and what `register` must reveal."""

    name: str
    owner: str
    duration: int
    payer: str
    secret: bytes

    @property
    def digest(self) -> bytes:
        return rules.commitment(self.name, self.owner, self.duration, self.payer, self.secret)


def parse_session_id(text: str) -> bytes:
    """A Session ID: 66 hex characters starting with 05."""
    value = text.strip().lower().removeprefix("0x")
    if len(value) != 66 or not value.startswith("05"):
        raise ContractError(f"not a Session ID (66 hex characters starting with 05): {text}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ContractError(f"not a Session ID (hex): {text}") from None


class Names(Wrapper):
    """SessionNameService: names checked and lowercased before asking the chain."""

    @staticmethod
    def normalize(name: str) -> str:
        """The name lowercased and checked against the name rules (as the contract does)."""
        try:
            return rules.normalize(name)
        except ValueError as exc:
            raise ContractError(f"sns: {exc}") from None

    def available(self, name: str) -> bool:
        return bool(self.contract.available(self.normalize(name)))

    def expiry(self, name: str) -> int:
        return int(self.contract.expiry(self.normalize(name)))

    def owner(self, name: str) -> str | None:
        name = self.normalize(name)
        if not self.expiry(name):
            return None
        return str(self.contract.ownerOf(rules.token_id(name)))

    def register_price(self, name: str, duration: int) -> Decimal:
        return from_units(
            int(view(self.contract, "register_price", self.normalize(name), duration))
        )

    def renew_price(self, name: str, duration: int) -> Decimal:
        return from_units(int(view(self.contract, "renew_price", self.normalize(name), duration)))

    def resolve(self, name: str) -> bytes:
        return bytes(self.contract.resolve(self.normalize(name)))

    def records(self, name: str) -> tuple[bytes, bytes, str]:
        session_id, lokinet, wallet = self.contract.records(self.normalize(name))
        return bytes(session_id), bytes(lokinet), str(wallet)

    def commitment(self, name: str, owner: str, duration: int, payer: str) -> Commitment:
        """A fresh commitment for `payer` to register `name` for `owner` for `duration`."""
        return Commitment(self.normalize(name), owner, duration, payer, secrets.token_bytes(32))

    def commitment_time(self, commitment: Commitment) -> int:
        return int(self.contract.commitments(commitment.digest))

    # ---------------------------------------------------------- transactions

    def commit(self, commitment: Commitment, sender: Any) -> Tx:
        if not self.available(commitment.name):
            raise ContractError(f"sns: name {commitment.name!r} is taken")
        return Tx(self.contract, "commit", (commitment.digest,), sender)

    def register(
        self, commitment: Commitment, duration: int, max_cost: Decimal | None, sender: Any
    ) -> Tx:
        """`register` (or its permit twin) revealing `commitment`, paying at most
        `max_cost` SESH (default: today's price)."""
        if not self.available(commitment.name):
            raise ContractError(f"sns: name {commitment.name!r} is taken")
        if duration != commitment.duration:
            raise ContractError("sns: the commitment was made for another duration")
        cost = self.register_price(commitment.name, duration)
        limit = to_units(max_cost if max_cost is not None else cost)
        if to_units(cost) > limit:
            raise ContractError(
                f"sns: price above max cost ({format_sesh(to_units(cost))} > {format_sesh(limit)})"
            )
        args = (commitment.name, commitment.owner, duration, commitment.secret, limit)
        return self._paid("register", args, limit, sender, f"the name {commitment.name!r}")

    def renew(self, name: str, duration: int, max_cost: Decimal | None, sender: Any) -> Tx:
        name = self.normalize(name)
        if not self.expiry(name):
            raise ContractError(f"sns: name {name!r} is not registered")
        cost = self.renew_price(name, duration)
        limit = to_units(max_cost if max_cost is not None else cost)
        return self._paid("renew", (name, duration, limit), limit, sender, f"renewing {name!r}")

    def set_records(
        self,
        name: str,
        sender: Any,
        session_id: bytes = b"",
        lokinet: bytes = bytes(32),
        wallet: str = ZERO_ADDRESS,
    ) -> Tx:
        name = self.normalize(name)
        return Tx(self.contract, "set_records", (name, session_id, lokinet, wallet), sender)

    def _paid(self, method: str, args: tuple, limit: int, sender: Any, purpose: str) -> Tx:
        permit = self.token.payment(sender, self.address, limit, purpose)
        if permit is None:
            return Tx(self.contract, method, args, sender)
        return Tx(
            self.contract,
            f"{method}_with_permit",
            (*args, *permit.as_args()),
            sender,
            [f"permit: the names contract may pull up to {format_sesh(limit)}"],
        )
