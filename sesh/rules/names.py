"""Session names (SNS): the name rules, token ids, commitments and prices.

Mirrors `contracts/SessionNameService.vy` so the CLI and SDK can check a name, build
the commitment for `commit`, and predict what `register` and `renew` charge.
"""

from __future__ import annotations

import re

from eth_abi import encode
from eth_utils import keccak

from sesh.rules.prices import usd_to_units

MIN_NAME_LENGTH = 3
MAX_NAME_LENGTH = 32
DAY = 86_400
YEAR = 365 * DAY
MIN_COMMITMENT_AGE = 60
MAX_COMMITMENT_AGE = DAY
MIN_DURATION = 28 * DAY
MAX_DURATION = 100 * YEAR
GRACE_PERIOD = 90 * DAY
PREMIUM_PERIOD = 21 * DAY
PREMIUM_DAYS = PREMIUM_PERIOD // DAY
# Yearly price tiers: names of 3, 4, 5 and 6 or more characters.
PRICE_TIERS = 4
SESH_DECIMALS = 9

_NAME = re.compile(r"[a-z0-9-]+")


def name_problem(name: str) -> str | None:
    """Why `name` breaks the name rules (the contract's revert reason), or None."""
    raw = name.encode()
    if len(raw) > MAX_NAME_LENGTH:
        return "sns: name longer than 32 characters"
    if len(raw) < MIN_NAME_LENGTH:
        return "sns: name shorter than 3 characters"
    for i, char in enumerate(name):
        if char == "-":
            if i == 0 or i == len(name) - 1:
                return "sns: name starts or ends with '-'"
        elif not _NAME.fullmatch(char):
            return "sns: name has a character not in a-z 0-9 -"
    return None


def normalize(name: str) -> str:
    """`name` lowercased and checked; raises ValueError with the reason if it is invalid."""
    lowered = name.strip().lower()
    problem = name_problem(lowered)
    if problem is not None:
        raise ValueError(f"{name!r}: {problem.removeprefix('sns: ')}")
    return lowered


def token_id(name: str) -> int:
    """The name's ERC-721 token id: `uint256(keccak256(name))`."""
    return int.from_bytes(keccak(name.encode()), "big")


def commitment(name: str, owner: str, duration: int, payer: str, secret: bytes) -> bytes:
    """What to send to `commit` before `payer` sends `register(name, owner, duration,
    secret, ...)`: only `payer` can reveal it, and only for `duration`."""
    if len(secret) != 32:
        raise ValueError("the secret is 32 bytes")
    return keccak(
        encode(
            ["bytes32", "address", "uint256", "address", "bytes32"],
            [keccak(name.encode()), owner, duration, payer, secret],
        )
    )


def price_tier(name: str) -> int:
    """Index into the yearly price tiers (3, 4, 5, 6+ characters)."""
    return min(max(len(name.encode()), MIN_NAME_LENGTH) - MIN_NAME_LENGTH, PRICE_TIERS - 1)


def premium_usd(premium_start: int, expiry: int, now: int) -> int:
    """The premium (USD, 8 decimals) registering a name that expired at `expiry` carries
    at `now`: halving daily from `premium_start` when the grace period ends (linear within
    a day), minus its value at 21 days so that it reaches zero then."""
    if expiry == 0:
        return 0
    released_at = expiry + GRACE_PERIOD
    if now < released_at or now - released_at >= PREMIUM_PERIOD:
        return 0
    elapsed = now - released_at
    days, into_day = divmod(elapsed, DAY)
    value = premium_start * (2 * DAY - into_day) // (2 * DAY * 2**days)
    residue = premium_start // 2**PREMIUM_DAYS
    return max(value - residue, 0)


def cost_units(
    name: str,
    duration: int,
    yearly_prices: list[int],
    answer: int,
    feed_decimals: int = 8,
    premium: int = 0,
) -> int:
    """SESH units `register` (with `premium` USD) or `renew` (premium 0) charges."""
    usd_times_year = yearly_prices[price_tier(name)] * duration + premium * YEAR
    return usd_to_units(usd_times_year, YEAR, answer, feed_decimals, SESH_DECIMALS)
