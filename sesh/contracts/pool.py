"""The reward pool: what it holds, has released and would release now."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sesh.units import from_units


class RewardPool:
    def __init__(self, contract: Any, token: Any):
        self.contract = contract
        self.token = token

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def balance(self) -> Decimal:
        return from_units(int(self.token.balanceOf(self.contract)))

    def total_released(self) -> Decimal:
        return from_units(int(self.contract.total_released()))

    def preview_release(self) -> Decimal:
        return from_units(int(self.contract.preview_release()))

    def beneficiary(self) -> str:
        return str(self.contract.beneficiary())
