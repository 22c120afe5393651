"""Session Pro: plans, quotes, subscriptions by Pro public key, status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sesh.contracts.base import ContractError, Tx, Wrapper, indexed_ids, view
from sesh.rules.units import format_sesh


@dataclass(frozen=True)
class Plan:
    plan_id: int
    duration: int
    usd_price: int


def parse_pro_key(text: str) -> bytes:
    """A Pro public key: 32 bytes of hex (the user's Ed25519 key)."""
    value = text.strip().lower().removeprefix("0x")
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != 32 or key == bytes(32):
        raise ContractError(f"not a Pro public key (64 hex characters): {text}")
    return key


class Pro(Wrapper):
    """SessionPro: plans, quotes in SESH, subscriptions by Pro key."""

    def plans(self, from_block: int = 0) -> list[Plan]:
        """The plans on offer now (from the `PlanUpdated` history, checked on chain)."""
        plans = []
        for plan_id in indexed_ids(self.contract, "PlanUpdated", from_block):
            duration, usd_price = self.contract.plans(plan_id)
            if duration:
                plans.append(Plan(plan_id, int(duration), int(usd_price)))
        return plans

    def quote(self, plan_id: int, pay_token: str | None = None) -> int:
        """Units of `pay_token` (SESH by default) the plan costs now."""
        self._require_plan(plan_id)
        return int(view(self.contract, "quote", plan_id, pay_token or self.token.address))

    def expiry(self, pro_key: bytes) -> int:
        return int(self.contract.pro_expiry(pro_key))

    def is_pro(self, pro_key: bytes) -> bool:
        return bool(self.contract.is_pro(pro_key))

    def subscribe(
        self, pro_key: bytes, plan_id: int, payer: Any, max_amount: int | None = None
    ) -> Tx:
        """`subscribe` in SESH (or its permit twin when the allowance is short)."""
        amount = self.quote(plan_id)
        limit = amount if max_amount is None else max_amount
        if amount > limit:
            raise ContractError(
                f"pro: price above max amount ({format_sesh(amount)} > {format_sesh(limit)})"
            )
        args = (pro_key, plan_id, self.token.address, limit)
        permit = self.token.payment(payer, self.address, limit, f"plan {plan_id}")
        if permit is None:
            return Tx(self.contract, "subscribe", args, payer)
        return Tx(
            self.contract,
            "subscribe_with_permit",
            (*args, *permit.as_args()),
            payer,
            [f"permit: the Pro contract may pull up to {format_sesh(limit)}"],
        )

    def _require_plan(self, plan_id: int) -> None:
        duration, _price = self.contract.plans(plan_id)
        if not duration:
            raise ContractError(f"pro: unknown plan {plan_id}")
