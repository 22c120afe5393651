"""Session Pro: what `subscribe` charges, and how expiries move.

Mirrors `contracts/SessionPro.vy` so the CLI and SDK can quote a plan and predict a
key's expiry after a payment, a grant or a revocation.
"""

from __future__ import annotations

from sesh.rules.prices import usd_to_units

DAY = 86_400
MIN_DURATION = DAY
MAX_DURATION = 3 * 365 * DAY


def plan_amount(usd_price: int, answer: int, feed_decimals: int, token_decimals: int) -> int:
    """Token units a plan priced `usd_price` (USD, 8 decimals) costs, rounded up."""
    return usd_to_units(usd_price, 1, answer, feed_decimals, token_decimals)


def extended_expiry(expiry: int, now: int, duration: int) -> int:
    """A key's expiry after buying or being granted `duration` seconds at `now`."""
    return max(now, expiry) + duration


def revoked_expiry(expiry: int, now: int, grant_end: int, grant_duration: int) -> int:
    """A key's expiry after revoking a grant whose period (moved by later revocations)
    ends at `grant_end`: what is left of the period is taken back, never more, and never
    below `now`."""
    if grant_end <= now or expiry <= now:
        return expiry
    start = max(grant_end - grant_duration, 0)
    return expiry - min(grant_end - max(now, start), expiry - now)
