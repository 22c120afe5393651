"""USD prices converted to token amounts exactly as `contracts/modules/price_feed.vy` does.

USD amounts carry 8 decimals. The conversion rounds up, once, so a payer never pays less
than the USD price; the SDK and the test models use these functions to predict, to the
unit, what the contracts charge.
"""

from __future__ import annotations

USD_DECIMALS = 8
# One USD with 8 decimals.
USD = 10**USD_DECIMALS
# How long after the L2 sequencer came back up prices stay refused.
SEQUENCER_GRACE_PERIOD = 3600


def usd_to_units(
    usd_numerator: int,
    usd_denominator: int,
    answer: int,
    feed_decimals: int,
    token_decimals: int,
) -> int:
    """Token units worth `usd_numerator / usd_denominator` USD (8 decimals) at a feed
    answer of `answer` (with `feed_decimals` decimals), rounded up."""
    if answer <= 0 or usd_denominator <= 0:
        raise ValueError("the answer and the denominator must be positive")
    numerator = usd_numerator * 10**token_decimals * 10**feed_decimals
    denominator = usd_denominator * answer * 10**USD_DECIMALS
    return -(-numerator // denominator)
