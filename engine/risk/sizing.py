"""Sizers: turn an intent (a signal strength in [-1, 1]) into a quantity.

A sizer answers ``quantity(inputs)`` with an unsigned quantity in base units for a full
signal (strength 1), before lot rounding; `size` scales it by the strength and rounds it
toward zero to the lot size. Strategies reach them through `Context.size` and
`Context.order_target_signal`; the run's sizer is ``[risk.sizer]``.

- `FixedQuantity`: always ``quantity`` units.
- `FixedNotional`: ``notional / price``.
- `FixedFraction`: ``equity × fraction / price``.
- `VolatilityTarget`: risk ``risk_fraction`` of equity at a stop ``atr_multiple × σ``
  away: ``equity × risk_fraction / (atr_multiple × σ)``, where σ is the ATR (default) or
  the realized volatility of close-to-close changes over the same bars, in price units.
- `FractionalKelly`: ``equity × f / price`` with ``f = kelly_fraction × (W − (1 − W) / R)``
  from the last ``window`` closed round trips (W win rate, R average win / average loss),
  clipped to ``[0, max_fraction]``; ``fallback_fraction`` until ``min_trades`` trips closed.
- `inverse_volatility_weights`: equal-risk weights across symbols (∝ 1 / volatility).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from engine.model import Instrument, OrderFilled
from engine.risk.guards import RoundTrips

if TYPE_CHECKING:  # numpy is imported where it is used: the run config imports this module
    import numpy as np

__all__ = [
    "FixedFraction",
    "FixedNotional",
    "FixedQuantity",
    "FractionalKelly",
    "Sizer",
    "SizingInputs",
    "VolatilityTarget",
    "average_true_range",
    "inverse_volatility_weights",
    "kelly_fraction",
    "realized_volatility",
    "size",
]


@dataclass(frozen=True)
class SizingInputs:
    """What a sizer may look at.

    Attributes:
        equity: Account equity now (account currency).
        price: Price the order is expected to trade at (the last close).
        atr: The sizer's volatility of the symbol in price units: the average true range,
            or the realized volatility for ``measure = "realized"`` (NaN when not known).
    """

    equity: float
    price: float
    atr: float = math.nan


class Sizer(Protocol):
    """Quantity for a full-strength signal."""

    name: str
    needs_fills: bool  # whether `on_order_filled` must be wired (closed-trade statistics)
    atr_period: int  # bars of ATR the sizer needs (0: none)

    def quantity(self, inputs: SizingInputs) -> float:
        """Return the unsigned quantity for strength 1 (before lot rounding)."""
        ...

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Account for a fill (only wired when ``needs_fills``)."""
        ...


def size(sizer: Sizer, inputs: SizingInputs, strength: float, instrument: Instrument) -> float:
    """Return the signed quantity for ``strength`` in [-1, 1], rounded toward zero to lots.

    A strength outside [-1, 1] is clipped; a result that is not a finite number (no price,
    no ATR yet) is 0.
    """
    if not math.isfinite(strength):
        return 0.0
    strength = max(-1.0, min(1.0, strength))
    base = sizer.quantity(inputs)
    if not math.isfinite(base) or base <= 0:
        return 0.0
    quantity = instrument.round_quantity(abs(strength) * base)
    return math.copysign(quantity, strength) if quantity else 0.0


class _NoFills:
    needs_fills = False
    atr_period = 0
    measure = "atr"  # which volatility `SizingInputs.atr` carries: "atr" or "realized"

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Ignore fills."""


class FixedQuantity(_NoFills):
    """Always the same quantity."""

    name = "fixed_quantity"

    def __init__(self, quantity: float) -> None:
        self.fixed = quantity

    def quantity(self, inputs: SizingInputs) -> float:
        """Return the fixed quantity."""
        return self.fixed


class FixedNotional(_NoFills):
    """The quantity worth ``notional`` at the price."""

    name = "fixed_notional"

    def __init__(self, notional: float) -> None:
        self.notional = notional

    def quantity(self, inputs: SizingInputs) -> float:
        """Return ``notional / price``."""
        return self.notional / inputs.price if inputs.price > 0 else math.nan


class FixedFraction(_NoFills):
    """The quantity worth ``fraction`` of equity at the price, its costs reserved.

    ``cost_rate`` (the fee model's and the slippage model's sizing rates, as
    ``order_target_percent`` reserves them) makes 1.0 affordable on a cash account: was
    ``equity / price``, which with a 0.1 % fee cost 10,009.95 of 10,000 and the cash check
    denied every full-size entry.
    """

    name = "fixed_fraction"

    def __init__(self, fraction: float, cost_rate: float = 0.0) -> None:
        self.fraction = fraction
        self.cost_rate = cost_rate

    def quantity(self, inputs: SizingInputs) -> float:
        """Return ``equity * fraction / (price * (1 + cost_rate))``."""
        if inputs.price <= 0 or inputs.equity <= 0:
            return math.nan
        return inputs.equity * self.fraction / (inputs.price * (1.0 + self.cost_rate))


class VolatilityTarget(_NoFills):
    """Risk ``risk_fraction`` of equity per trade at a stop ``atr_multiple × ATR`` away.

    ``max_fraction`` caps the position value at that fraction of equity (a quiet market
    would otherwise ask for a huge position).
    """

    name = "volatility_target"

    def __init__(
        self,
        risk_fraction: float,
        atr_multiple: float = 2.0,
        atr_period: int = 14,
        max_fraction: float = 1.0,
        measure: str = "atr",
        cost_rate: float = 0.0,
    ) -> None:
        self.risk_fraction = risk_fraction
        self.atr_multiple = atr_multiple
        self.atr_period = atr_period
        self.max_fraction = max_fraction
        self.measure = measure
        self.cost_rate = cost_rate  # reserved in the max_fraction cap, as FixedFraction

    def quantity(self, inputs: SizingInputs) -> float:
        """Return ``equity * risk_fraction / (atr_multiple * ATR)``, capped."""
        stop = self.atr_multiple * inputs.atr
        if not (stop > 0 and inputs.price > 0 and inputs.equity > 0):
            return math.nan
        wanted = inputs.equity * self.risk_fraction / stop
        cap = inputs.equity * self.max_fraction / (inputs.price * (1.0 + self.cost_rate))
        return min(wanted, cap)


def kelly_fraction(pnls: Sequence[float]) -> float:
    """Return the full Kelly fraction ``W - (1 - W) / R`` of closed-trade PnLs.

    W is the share of winning trades (PnL > 0), R the average win over the average loss
    (absolute). All wins: 1.0; no wins: the formula gives -inf → callers clip at 0.
    """
    wins = [p for p in pnls if p > 0]
    losses = [-p for p in pnls if p <= 0]
    if not pnls:
        return 0.0
    win_rate = len(wins) / len(pnls)
    if not losses or sum(losses) == 0:
        return 1.0
    if not wins:
        return -math.inf
    payoff = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
    return win_rate - (1.0 - win_rate) / payoff


class FractionalKelly:
    """A fraction of the Kelly bet estimated from the strategy's recent closed trades."""

    name = "fractional_kelly"
    needs_fills = True
    atr_period = 0

    def __init__(
        self,
        fraction: float = 0.5,
        window: int = 50,
        min_trades: int = 10,
        fallback_fraction: float = 0.1,
        max_fraction: float = 1.0,
        cost_rate: float = 0.0,
    ) -> None:
        self.cost_rate = cost_rate  # reserved, as FixedFraction
        self.fraction = fraction
        self.window = window
        self.min_trades = min_trades
        self.fallback_fraction = fallback_fraction
        self.max_fraction = max_fraction
        self.round_trips = RoundTrips()

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Track closed round trips."""
        self.round_trips.on_order_filled(fill)

    def equity_fraction(self) -> float:
        """Return the fraction of equity to hold now."""
        closed = self.round_trips.closed[-self.window :]
        if len(closed) < self.min_trades:
            return self.fallback_fraction
        return max(0.0, min(self.max_fraction, self.fraction * kelly_fraction(closed)))

    def quantity(self, inputs: SizingInputs) -> float:
        """Return ``equity * f / (price * (1 + cost_rate))``."""
        if inputs.price <= 0 or inputs.equity <= 0:
            return math.nan
        return inputs.equity * self.equity_fraction() / (inputs.price * (1.0 + self.cost_rate))


def average_true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> float:
    """Return the simple mean of the last ``period`` true ranges (NaN if too few bars).

    True range = max(high, previous close) - min(low, previous close); the first bar of
    the arrays has no previous close and is not used.
    """
    import numpy as np  # here, not at the top: `engine.config` imports this module

    n = close.size
    if period < 1 or n < period + 1:
        return math.nan
    h, lo, prev = high[n - period :], low[n - period :], close[n - period - 1 : n - 1]
    true_range = np.maximum(h, prev) - np.minimum(lo, prev)
    return float(true_range.mean())


def realized_volatility(close: np.ndarray, period: int) -> float:
    """Return the standard deviation (ddof=1) of the last ``period`` close-to-close changes.

    In price units, comparable with an ATR: σ of ``close[t] - close[t-1]`` over the window.
    NaN when fewer than ``period + 1`` closes are known.
    """
    import numpy as np  # here, not at the top: `engine.config` imports this module

    n = close.size
    if period < 2 or n < period + 1:
        return math.nan
    changes = np.diff(close[n - period - 1 :])
    return float(np.std(changes, ddof=1))


def inverse_volatility_weights(volatilities: Mapping[str, float]) -> dict[str, float]:
    """Return equal-risk weights ∝ 1 / volatility, summing to 1.

    Symbols with a volatility that is not a positive number get weight 0.
    """
    inverse = {
        symbol: 1.0 / vol if math.isfinite(vol) and vol > 0 else 0.0
        for symbol, vol in volatilities.items()
    }
    total = sum(inverse.values())
    return {symbol: (value / total if total > 0 else 0.0) for symbol, value in inverse.items()}
