"""Reference arithmetic of the network's economics, shared by tests, SDK and docs.

`releasable` mirrors RewardRatePool.vy to the unit (same fixed point, same rounding);
`ideal_release` is the exact real-number figure it approximates.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

ONE = 10**36
DAY = 86_400
YEARLY_RETENTION = Decimal("0.86")
# 0.86 ** (1/365) to 36 decimals, rounded down, as in RewardRatePool.vy.
DAILY_FACTOR = 999586871964364604355980143256095640
POOL_LAUNCH_BALANCE = 40_000_000 * 10**9


def exact_daily_factor(digits: int = 60) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = digits + 10
        return (YEARLY_RETENTION.ln() / 365).exp()


def daily_factor_fixed_point() -> int:
    """0.86 ** (1/365) in 36-decimal fixed point, rounded down (derives DAILY_FACTOR)."""
    with localcontext() as ctx:
        ctx.prec = 80
        return int(exact_daily_factor(70) * ONE)


def _mul_up(a: int, b: int) -> int:
    return -((-a * b) // ONE)


def pow_up(base: int, exponent: int) -> int:
    """`base**exponent` in 36-decimal fixed point, every product rounded up."""
    result, square = ONE, base
    while exponent:
        if exponent & 1:
            result = _mul_up(result, square)
        exponent >>= 1
        if exponent:
            square = _mul_up(square, square)
    return result


def releasable(balance: int, days: int) -> int:
    """What the pool pays for `days` whole days on `balance` (token units, rounded down)."""
    if days == 0:
        return 0
    return balance * (ONE - pow_up(DAILY_FACTOR, days)) // ONE


def ideal_release(balance: int, days: int) -> Decimal:
    """The exact `balance * (1 - 0.86**(days/365))`."""
    with localcontext() as ctx:
        ctx.prec = 70
        return Decimal(balance) * (1 - exact_daily_factor() ** days)
