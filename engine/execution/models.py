"""Pluggable cost models: fees and slippage.

Each is a tiny protocol so that the broker's matching code does not change when a model is
swapped. Defaults come from ``[execution]`` in the run config.
"""

from __future__ import annotations

from typing import Protocol

from engine.model import OrderSide

__all__ = ["FeeModel", "FixedBpsSlippage", "PercentFeeModel", "SlippageModel"]


class FeeModel(Protocol):
    """Fee charged for a fill."""

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        """Return the fee in quote currency for ``quantity`` at ``price`` (``taker``/``maker``)."""
        ...

    @property
    def sizing_rate(self) -> float:
        """Return the fee as a fraction of notional to reserve when sizing an order."""
        ...


class SlippageModel(Protocol):
    """Adverse price adjustment of a fill that takes liquidity."""

    def adjust(self, price: float, side: OrderSide) -> float:
        """Return the price actually obtained when taking at ``price``."""
        ...


class PercentFeeModel:
    """Fee = ``rate × quantity × price``, the same for makers and takers."""

    __slots__ = ("rate",)

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        """Return ``rate * quantity * price``."""
        return self.rate * quantity * price

    @property
    def sizing_rate(self) -> float:
        """Return ``rate``."""
        return self.rate


class FixedBpsSlippage:
    """Buys pay ``price × (1 + bps/10⁴)``, sells receive ``price × (1 − bps/10⁴)``."""

    __slots__ = ("_factor", "bps")

    def __init__(self, bps: float) -> None:
        self.bps = bps
        self._factor = bps / 10_000.0

    def adjust(self, price: float, side: OrderSide) -> float:
        """Return ``price`` moved against the taker by ``bps``."""
        if not self._factor:
            return price
        return price * (1.0 + self._factor if side is OrderSide.BUY else 1.0 - self._factor)
