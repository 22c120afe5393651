"""The reward pool: what it holds, has released and would release now."""

from __future__ import annotations

from decimal import Decimal

from sesh.contracts.base import Wrapper
from sesh.rules.units import from_units


class RewardPool(Wrapper):
    """RewardRatePool; `token` is the SESH contract it holds."""

    def balance(self) -> Decimal:
        return from_units(int(self.token.balanceOf(self.contract)))

    def total_released(self) -> Decimal:
        return from_units(int(self.contract.total_released()))

    def preview_release(self) -> Decimal:
        return from_units(int(self.contract.preview_release()))

    def beneficiary(self) -> str:
        return str(self.contract.beneficiary())
