"""SESH amounts: `Decimal` SESH for people, integer token units (10**9 per SESH) on chain."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DECIMALS = 9
UNIT = 10**DECIMALS
TOTAL_SUPPLY = 240_000_000 * UNIT


def to_units(amount: Decimal | int | str) -> int:
    """Convert SESH (``"12.5"``, ``Decimal("12.5")`` or ``12``) to token units.

    Refuses negative amounts and amounts finer than one unit (1e-9 SESH) instead of
    rounding them silently.
    """
    try:
        value = Decimal(str(amount).strip().replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"not a SESH amount: {amount!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a SESH amount: {amount!r}")
    units = value * UNIT
    if units != units.to_integral_value():
        raise ValueError(f"{amount} SESH has more than {DECIMALS} decimals")
    return int(units)


def from_units(units: int) -> Decimal:
    """Convert token units to `Decimal` SESH, exactly."""
    return Decimal(units).scaleb(-DECIMALS)


def format_sesh(units: int) -> str:
    """``1234500000000`` -> ``"1,234.5 SESH"``: grouped, without trailing zeros."""
    text = f"{from_units(units):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} SESH"
