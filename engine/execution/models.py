"""Pluggable cost models: fees and slippage.

Each is a tiny protocol so that the broker's matching code does not change when a model is
swapped. The run config chooses and parameterizes them (``[execution]`` flat keys, or the
``[execution.fees]`` / ``[execution.slippage]`` tables read by
`engine.execution.costs_config.build_cost_models`).

Units everywhere: ``quantity`` in units of the instrument (shares, contracts, coins),
``price`` in quote currency per unit, notional = ``quantity × price`` in quote currency,
fees in quote currency, rates as fractions (0.001 = 0.1% = 10 bps).

Fees:
- `PercentFeeModel`: a fraction of notional, maker/taker by liquidity.
- `PerUnitFeeModel`: per share / per contract with a minimum and an optional maximum.
- `TieredFeeModel`: maker/taker rates chosen by the account's traded notional (all time
  or a rolling window), like an exchange's VIP levels.

Slippage (applied to fills that take liquidity; the price is moved against the taker):
- `FixedBpsSlippage`: a fixed number of basis points.
- `HalfSpreadSlippage`: half the bid/ask spread (quoted, or a configured bps).
- `VolumeShareSlippage`: impact growing with the fill's share of the bar's volume.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from engine.clock import Clock
from engine.model import OrderFilled, OrderSide

__all__ = [
    "FeeModel",
    "FeeTierRates",
    "FixedBpsSlippage",
    "HalfSpreadSlippage",
    "PerUnitFeeModel",
    "PercentFeeModel",
    "SlippageModel",
    "TieredFeeModel",
    "VolumeShareSlippage",
]

_NS_PER_DAY = 86_400 * 1_000_000_000


class FeeModel(Protocol):
    """Fee charged for a fill.

    The broker's cash-account cap asks `fee` for candidate quantities of one fill and
    reserves exactly that, so ``fee`` must not decrease when the quantity grows (all
    models here satisfy it); ``sizing_rate`` is only for sizing orders before the fill.
    """

    def fee(self, quantity: float, price: float, liquidity: str, at_ns: int | None = None) -> float:
        """Return the fee in quote currency for ``quantity`` at ``price`` (``taker``/``maker``).

        ``at_ns``: the time of the fill being priced (a fill at a bar's open is earlier
        than the clock, which reads the bar's close); None: now, by the clock. Only a
        model whose rate depends on time (a rolling volume window) reads it.
        """
        ...

    @property
    def sizing_rate(self) -> float:
        """Return the fee as a fraction of notional to reserve when sizing an order."""
        ...


class SlippageModel(Protocol):
    """Adverse price adjustment of a fill that takes liquidity.

    ``adjust(price, side)`` must always work; the keyword arguments are optional facts a
    caller may know about the fill (``None`` = unknown), which some models use.
    """

    def adjust(
        self,
        price: float,
        side: OrderSide,
        *,
        quantity: float | None = None,
        bar_volume: float | None = None,
        spread: float | None = None,
    ) -> float:
        """Return the price actually obtained when taking at ``price``.

        Args:
            price: Reference price of the fill (open, stop, close or mid), quote currency.
            side: Side of the taker; buys pay more, sells receive less.
            quantity: Quantity of this fill (instrument units), if known.
            bar_volume: Traded volume of the bar the fill happens in (same units), if known.
            spread: Quoted ask − bid at the fill (quote currency), if known.
        """
        ...

    @property
    def sizing_rate(self) -> float:
        """Return the expected adverse move as a fraction of price, for sizing orders."""
        ...


def _taker(liquidity: str) -> bool:
    # Anything that is not explicitly maker pays the taker rate (the conservative side).
    return liquidity != "maker"


class PercentFeeModel:
    """Fee as a fraction of notional, by liquidity.

    ``fee = rate × quantity × price`` where ``rate`` is ``maker_rate`` for a fill that
    provided liquidity (``liquidity == "maker"``) and ``taker_rate`` otherwise. Rates are
    fractions of notional (0.001 = 0.1%); the fee is in quote currency.

    ``PercentFeeModel(rate)`` charges ``rate`` on both sides (the historical form);
    ``maker_rate`` / ``taker_rate`` override it per side.
    """

    __slots__ = ("_sizing_rate", "maker_rate", "rate", "taker_rate")

    def __init__(
        self,
        rate: float = 0.0,
        *,
        maker_rate: float | None = None,
        taker_rate: float | None = None,
        sizing_rate: float | None = None,
    ) -> None:
        self.rate = rate
        self.maker_rate = rate if maker_rate is None else maker_rate
        self.taker_rate = rate if taker_rate is None else taker_rate
        self._sizing_rate = (
            max(self.maker_rate, self.taker_rate) if sizing_rate is None else sizing_rate
        )

    def fee(self, quantity: float, price: float, liquidity: str, at_ns: int | None = None) -> float:
        """Return ``(taker_rate or maker_rate) × quantity × price`` (at any time)."""
        # `_taker`, inlined: three fees per order (risk, the cash cap, the fill)
        rate = self.maker_rate if liquidity == "maker" else self.taker_rate
        return rate * quantity * price

    @property
    def sizing_rate(self) -> float:
        """Return ``max(maker_rate, taker_rate)`` (liquidity is unknown when sizing).

        A ``sizing_rate`` given to the constructor replaces it.
        """
        return self._sizing_rate


class PerUnitFeeModel:
    """Fee per share / per contract with a minimum and an optional maximum.

    ``fee = min(max(per_unit × quantity, minimum), maximum_rate × quantity × price)``

    ``per_unit`` is quote currency per instrument unit, ``minimum`` quote currency per
    fill, ``maximum_rate`` a fraction of the fill's notional (``None``: no maximum). The
    maximum wins over the minimum, as in Interactive Brokers' fixed US-stock pricing
    ($0.005/share, minimum $1.00, maximum 1% of trade value): 100 shares at $50 pay
    max(0.50, 1.00) = $1.00; 10 shares at $1 pay min(1.00, 0.01 × 10) = $0.10.

    The minimum applies per fill, so an order filled in three parts pays up to three
    minimums (conservative; brokers usually apply it per order).

    ``sizing_rate`` is ``maximum_rate`` when set (an upper bound of fee / notional), else
    the ``sizing_rate`` given (default 0.001); a per-unit fee has no fixed fraction.
    """

    __slots__ = ("_sizing_rate", "maximum_rate", "minimum", "per_unit")

    def __init__(
        self,
        per_unit: float,
        *,
        minimum: float = 0.0,
        maximum_rate: float | None = None,
        sizing_rate: float | None = None,
    ) -> None:
        self.per_unit = per_unit
        self.minimum = minimum
        self.maximum_rate = maximum_rate
        if sizing_rate is not None:
            self._sizing_rate = sizing_rate
        elif maximum_rate is not None:
            self._sizing_rate = maximum_rate
        else:
            self._sizing_rate = 0.001

    def fee(self, quantity: float, price: float, liquidity: str, at_ns: int | None = None) -> float:
        """Return ``min(max(per_unit × quantity, minimum), maximum_rate × notional)``."""
        if quantity <= 0:
            return 0.0
        fee = max(self.per_unit * quantity, self.minimum)
        if self.maximum_rate is not None:
            fee = min(fee, self.maximum_rate * quantity * price)
        return fee

    @property
    def sizing_rate(self) -> float:
        """Return ``maximum_rate``, or the configured sizing rate (default 0.001)."""
        return self._sizing_rate


class FeeTierRates:
    """One volume tier: applies while traded notional is below ``up_to_volume``."""

    __slots__ = ("maker", "taker", "up_to_volume")

    def __init__(self, up_to_volume: float | None, maker: float, taker: float) -> None:
        self.up_to_volume = math.inf if up_to_volume is None else up_to_volume
        self.maker = maker
        self.taker = taker


class TieredFeeModel:
    """Maker/taker rates chosen by the account's traded notional (VIP levels).

    ``fee = rate(V) × quantity × price``, where ``V`` is the notional (quote currency)
    the account traded *before* this fill, and ``rate(V)`` is the maker or taker rate of
    the first tier with ``V < up_to_volume`` (the last tier has no bound). A fill is
    charged entirely at one tier, even if it crosses a boundary (exchanges re-rate levels
    between trades, not inside one).

    Window: ``window_days = None`` counts all notional since the run started; a number
    keeps a rolling window of that many days of fill timestamps (``ts_event``). Notional
    leaves the window when it is ``window_days`` old at the time of the next fee query:
    the fill's own time when the broker prices a fill (``fee(..., at_ns=ts)``: a fill at
    a bar's open is priced at the open, not at the close the clock reads), else the
    clock's (sizing an order at a close), else that of the latest recorded fill. Expiry is
    final, so a fill priced earlier than a time already queried (a daily bar's fill at
    its open after an hourly bar's at a later hour) sees the window as of that later time.

    The model learns volume only through `record` or `on_fill`; `fee` itself never adds
    volume, so calling it twice for one fill is harmless. The `SimulatedBroker` calls
    `record` as it prices each fill, so a second fill on the same bar or tick already
    sees the first one's notional (a bus subscriber would hear of it only after the whole
    bar was matched); use `on_fill` on the bus only with another venue, never both.
    Volume is summed in each fill's quote currency without conversion.

    ``sizing_rate`` is the highest rate of any tier (rolling volume can fall back into a
    dearer tier).
    """

    __slots__ = ("_clock", "_fills", "_sizing_rate", "_window_ns", "tiers", "volume")

    def __init__(
        self,
        tiers: Sequence[FeeTierRates],
        *,
        window_days: float | None = None,
        clock: Clock | None = None,
        sizing_rate: float | None = None,
    ) -> None:
        if not tiers:
            raise ValueError("TieredFeeModel needs at least one tier")
        self.tiers = tuple(tiers)
        self._sizing_rate = (
            max(max(t.maker, t.taker) for t in self.tiers) if sizing_rate is None else sizing_rate
        )
        self._window_ns = None if window_days is None else int(window_days * _NS_PER_DAY)
        self._clock = clock
        self._fills: deque[tuple[int, float]] = deque()
        self.volume = 0.0

    def record(self, notional: float, ts_ns: int) -> None:
        """Add ``notional`` (quote currency) traded at ``ts_ns`` to the volume."""
        if self._window_ns is not None:
            self._fills.append((ts_ns, notional))
            self._expire(ts_ns)
        self.volume += notional

    def on_fill(self, event: OrderFilled) -> None:
        """Bus handler: add the fill's notional ``quantity × price`` at ``ts_event``."""
        self.record(event.quantity * event.price, event.ts_event)

    def tier(self, at_ns: int | None = None) -> FeeTierRates:
        """Return the tier of a fill at ``at_ns`` (None: the next fill, at the clock's time)."""
        if self._window_ns is not None:
            if at_ns is not None:
                self._expire(at_ns)
            elif self._clock is not None:
                self._expire(self._clock.timestamp_ns())
        volume = self.volume
        for tier in self.tiers:
            if volume < tier.up_to_volume:
                return tier
        return self.tiers[-1]

    def fee(self, quantity: float, price: float, liquidity: str, at_ns: int | None = None) -> float:
        """Return ``rate(V) × quantity × price`` for the tier at ``at_ns`` and ``liquidity``."""
        tier = self.tier(at_ns)
        rate = tier.taker if _taker(liquidity) else tier.maker
        return rate * quantity * price

    @property
    def sizing_rate(self) -> float:
        """Return the highest maker or taker rate of any tier (or the one given)."""
        return self._sizing_rate

    def _expire(self, now_ns: int) -> None:
        assert self._window_ns is not None
        cutoff = now_ns - self._window_ns
        fills = self._fills
        while fills and fills[0][0] <= cutoff:
            self.volume -= fills.popleft()[1]
        if not fills:
            self.volume = 0.0  # drop accumulated rounding error
        elif self.volume < 0.0:
            self.volume = 0.0


def _against(price: float, side: OrderSide, fraction: float) -> float:
    if not fraction:
        return price
    return price * (1.0 + fraction if side is OrderSide.BUY else 1.0 - fraction)


class FixedBpsSlippage:
    """Buys pay ``price × (1 + bps/10⁴)``, sells receive ``price × (1 − bps/10⁴)``.

    ``bps`` is in basis points of price (10 bps = 0.1%); the fill's size is ignored.
    """

    __slots__ = ("_factor", "bps")

    def __init__(self, bps: float) -> None:
        self.bps = bps
        self._factor = bps / 10_000.0

    def adjust(
        self,
        price: float,
        side: OrderSide,
        *,
        quantity: float | None = None,
        bar_volume: float | None = None,
        spread: float | None = None,
    ) -> float:
        """Return ``price`` moved against the taker by ``bps``."""
        return _against(price, side, self._factor)

    @property
    def sizing_rate(self) -> float:
        """Return ``bps / 10⁴``."""
        return self._factor


class HalfSpreadSlippage:
    """A taker crosses half the bid/ask spread from the reference (mid) price.

    With a quoted spread (``spread`` = ask − bid in quote currency, passed by the caller):
    buys pay ``price + spread / 2``, sells receive ``price − spread / 2``.
    Without one: buys pay ``price × (1 + spread_bps / 2 / 10⁴)``, sells receive
    ``price × (1 − spread_bps / 2 / 10⁴)``, where ``spread_bps`` is the full spread in
    basis points of price.

    Use it with a mid or last-trade reference price; a fill already priced at the ask or
    bid (quote-tick matching at the touch) has paid the spread and should not be adjusted
    again.
    """

    __slots__ = ("_half", "spread_bps")

    def __init__(self, spread_bps: float) -> None:
        self.spread_bps = spread_bps
        self._half = spread_bps / 20_000.0

    def adjust(
        self,
        price: float,
        side: OrderSide,
        *,
        quantity: float | None = None,
        bar_volume: float | None = None,
        spread: float | None = None,
    ) -> float:
        """Return ``price`` moved against the taker by half the spread."""
        if spread is not None and math.isfinite(spread) and spread >= 0.0:
            half = spread / 2.0
            return price + half if side is OrderSide.BUY else price - half
        return _against(price, side, self._half)

    @property
    def sizing_rate(self) -> float:
        """Return ``spread_bps / 2 / 10⁴``."""
        return self._half


class VolumeShareSlippage:
    """Price impact that grows with the fill's share of the bar's volume.

    ``impact = min(impact_coefficient × (quantity / bar_volume) ** exponent, max_impact)``

    as a fraction of price; buys pay ``price × (1 + impact)``, sells receive
    ``price × (1 − impact)``. ``quantity / bar_volume`` is the participation (both in
    instrument units).

    Reference: zipline's ``VolumeShareSlippage`` is this model with ``exponent = 2``
    (impact = price_impact × volume_share², defaults price_impact 0.1 and volume share
    capped at 2.5%): 5% of a bar's volume costs 0.1 × 0.05² = 0.025% of price.
    ``exponent = 0.5`` gives the square-root law of market impact (impact ∝ √(Q/V), e.g.
    Almgren et al. 2005, Tóth et al. 2011), where the coefficient is typically of the
    order of the daily volatility. To charge, as zipline does, the impact of everything
    filled on the bar, pass ``quantity`` = this fill plus the bar's earlier fills.

    Missing facts are charged pessimistically: when ``quantity`` or ``bar_volume`` is not
    given, or ``bar_volume <= 0`` with a positive quantity, the impact is ``max_impact``.
    A fill of quantity 0 has no impact.

    ``sizing_rate`` is the impact at ``sizing_participation`` (the share of a bar an order
    is expected to take; set it to the broker's volume-participation cap).
    """

    __slots__ = ("exponent", "impact_coefficient", "max_impact", "sizing_participation")

    def __init__(
        self,
        impact_coefficient: float = 0.1,
        exponent: float = 2.0,
        *,
        max_impact: float = 0.1,
        sizing_participation: float = 0.1,
    ) -> None:
        self.impact_coefficient = impact_coefficient
        self.exponent = exponent
        self.max_impact = max_impact
        self.sizing_participation = sizing_participation

    def impact(self, quantity: float | None, bar_volume: float | None) -> float:
        """Return the impact as a fraction of price for ``quantity`` in ``bar_volume``."""
        if quantity is None or bar_volume is None:
            return self.max_impact
        if quantity <= 0.0:
            return 0.0
        if bar_volume <= 0.0:
            return self.max_impact
        raw = self.impact_coefficient * float((quantity / bar_volume) ** self.exponent)
        return min(raw, self.max_impact)

    def adjust(
        self,
        price: float,
        side: OrderSide,
        *,
        quantity: float | None = None,
        bar_volume: float | None = None,
        spread: float | None = None,
    ) -> float:
        """Return ``price`` moved against the taker by the volume-share impact."""
        return _against(price, side, self.impact(quantity, bar_volume))

    @property
    def sizing_rate(self) -> float:
        """Return the impact at ``sizing_participation`` of a bar's volume."""
        return self.impact(self.sizing_participation, 1.0)
