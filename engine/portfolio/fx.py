"""Multi-currency accounts: instruments quoted in a foreign currency, valued in the account's.

In: one rate series per foreign quote currency (``[[fx]]`` in the config), the fills and
the marked closes. Out: cash, fees, cost basis, PnL and position values in the account
currency. Prices, quantities, tick and lot sizes, limit/stop prices, price bands and an
instrument's ``min_notional`` stay in the instrument's quote currency; everything that
is added to or compared with cash or equity is converted.

Definitions (``r(t)`` is the rate of the instrument's quote currency: account-currency
units per unit of quote currency; ``r = 1`` for instruments quoted in the account
currency, which makes every formula below the single-currency one, bit for bit):

- Rate as of ``t``: the close of the last rate bar that closed at or before ``t``
  (``ts_close <= t``; a rate bar is known at its close, like every bar). Never a later
  one. Before the first rate bar closes the rate is unknown (NaN): the backtest refuses
  to start when a rate series begins after the first bar of an instrument quoted in its
  currency, and risk denies orders (check ``fx_rate``) while no rate is known.
- Fill of signed quantity ``q`` at price ``p`` with fee ``f`` (both quote currency),
  converted at ``r_f = r(fill.ts_event)`` (the time the fill happened: the bar's open
  for a fill at the open, the bar's close for an intrabar fill, the tick's time):
  ``cash -= (q × p + f) × r_f``; fees paid grow by ``f × r_f``.
- Cost basis: ``average_cost``, account currency per unit, the quantity-weighted mean of
  ``p × r_f`` over the fills that opened or added to the position (``average_price``
  stays the quote-currency mean, for stops and targets).
- Realized PnL of a reduction of ``c`` units at ``p`` (rate ``r_f``):
  ``c × (p × r_f − average_cost) × sign(position)``. For a long bought at ``p1`` (rate
  ``r1``) and sold at ``p2`` (rate ``r2``) that is ``q × (p2 × r2 − p1 × r1)`` = the price
  PnL at the exit rate ``q × (p2 − p1) × r2`` plus the FX effect on the cost
  ``q × p1 × (r2 − r1)``: proceeds at the exit rate minus cost at the entry rate.
- Mark at time ``t``: value = ``quantity × last close × r(t)``; unrealized PnL =
  ``quantity × (last close × r(t) − average_cost)``, which includes FX revaluation.
  Equity, gross exposure, the margin state and snapshots use these values.
- Identity (checked after every event by the randomized accounting test): realized +
  unrealized − fees + cash flows = equity − initial cash, all in the account currency.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.bus import EventBus
from engine.clock import Clock
from engine.errors import DataError
from engine.feeds import load_bars
from engine.model import EquitySnapshot, OrderFilled, OrderSide
from engine.portfolio.portfolio import Portfolio, Position

__all__ = ["FxPortfolio", "FxPosition", "FxRates", "RateSeries", "load_rate_series"]


@dataclass(frozen=True)
class RateSeries:
    """One currency's rate: when each value became known and the value.

    Attributes:
        currency: The foreign currency.
        ts: int64 ns UTC, strictly increasing: the close time of each rate bar.
        rate: float64, account-currency units per unit of ``currency`` (> 0, finite).
    """

    currency: str
    ts: np.ndarray
    rate: np.ndarray

    def at(self, ts_ns: int) -> float:
        """Return the rate as of ``ts_ns`` (last known at or before it; NaN before the first)."""
        index = int(np.searchsorted(self.ts, ts_ns, side="right")) - 1
        return float(self.rate[index]) if index >= 0 else math.nan


def load_rate_series(
    path: str | Path, currency: str, *, invert: bool = False, timeframe: str | None = None
) -> RateSeries:
    """Read a rate bar file (any format `engine.feeds.load_bars` reads) as a `RateSeries`.

    The rate is each bar's close (``1 / close`` with ``invert``), known at the bar's close
    time.

    Raises:
        DataError: The file is missing or invalid (the bar rules), or a close is not a
            positive finite number.
    """
    frame = load_bars(path, symbol=currency, timeframe=timeframe)
    close = np.asarray(frame.close, dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(close) & (close > 0)))
    if bad.size:
        raise DataError(
            f"{path}: fx rate for {currency} on data row {int(bad[0]) + 1} is {close[bad[0]]:g}; "
            "a rate must be a positive number"
        )
    if len(close) == 0:
        raise DataError(f"{path}: the fx rate file for {currency} has no rows")
    rate = 1.0 / close if invert else close.copy()
    return RateSeries(currency, np.asarray(frame.ts_close_ns, dtype=np.int64), rate)


class FxRates:
    """Conversion factor per symbol into the account currency, as of a time.

    Loaded from the ``[[fx]]`` files before a run; paper and live append rates as a live
    source delivers them (`add_rate`), and every reader sees them at once.
    """

    def __init__(self, series: Mapping[str, RateSeries]) -> None:
        """Keep ``series`` by symbol (only symbols quoted in a foreign currency)."""
        self.series = dict(series)
        self._lookup = {s: (r.ts.tolist(), r.rate.tolist()) for s, r in self.series.items()}

    def rate(self, symbol: str, ts_ns: int) -> float:
        """Return ``symbol``'s quote-to-account rate as of ``ts_ns`` (1.0 if not foreign)."""
        found = self._lookup.get(symbol)
        if found is None:
            return 1.0
        times, rates = found
        index = bisect_right(times, ts_ns) - 1
        return rates[index] if index >= 0 else math.nan

    def add_rate(self, currency: str, ts_ns: int, rate: float) -> None:
        """Append ``currency``'s rate known from ``ts_ns`` on (paper/live: as rates arrive).

        Every symbol quoted in ``currency`` sees it at once (`rate` reads the same lists).
        The rate bar's close time is ``ts_ns``: append it when the bar closes, never
        earlier, so that no mark or fill reads a rate before it was known.

        Raises:
            DataError: ``rate`` is not a positive finite number, ``ts_ns`` is not after the
                currency's last rate, or no symbol of the run is quoted in ``currency``.
        """
        if not (math.isfinite(rate) and rate > 0):
            raise DataError(f"fx {currency}: rate {rate!r} at {ts_ns}; a rate must be > 0")
        symbols = [s for s, series in self.series.items() if series.currency == currency]
        if not symbols:
            known = sorted({series.currency for series in self.series.values()})
            raise DataError(f"fx {currency}: no symbol of the run is quoted in it {known}")
        for symbol in symbols:
            times, rates = self._lookup[symbol]
            if times and ts_ns <= times[-1]:
                raise DataError(
                    f"fx {currency}: rate at {ts_ns} is not after the last one ({times[-1]})"
                )
        for symbol in symbols:
            times, rates = self._lookup[symbol]
            times.append(ts_ns)
            rates.append(float(rate))
            old = self.series[symbol]  # the arrays follow, for the curve and open marks
            self.series[symbol] = RateSeries(
                currency, np.append(old.ts, np.int64(ts_ns)), np.append(old.rate, float(rate))
            )

    def __bool__(self) -> bool:
        return bool(self.series)


class FxPosition(Position):
    """A position whose cost basis and realized PnL are in the account currency.

    ``average_price`` is in the quote currency; ``average_cost`` (account currency per
    unit) and ``realized_pnl`` follow the module's definitions.
    """

    __slots__ = ("average_cost",)

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.average_cost = 0.0

    def apply_converted(self, signed_quantity: float, price: float, rate: float) -> float:
        """Apply a fill at ``price`` (quote) converted at ``rate``; return the PnL realized."""
        old = self.quantity
        new = old + signed_quantity
        if abs(new) <= 1e-9 * max(abs(old), abs(signed_quantity)):
            new = 0.0  # same dust rule as Position.apply
        value = price * rate
        realized = 0.0
        if old == 0.0 or (old > 0) == (signed_quantity > 0):
            size = abs(signed_quantity)
            self.average_price = (abs(old) * self.average_price + size * price) / abs(new)
            self.average_cost = (abs(old) * self.average_cost + size * value) / abs(new)
        else:
            closed = min(abs(signed_quantity), abs(old))
            realized = closed * (value - self.average_cost) * (1.0 if old > 0 else -1.0)
            if new == 0.0:
                self.average_price = self.average_cost = 0.0
            elif (new > 0) != (old > 0):
                self.average_price = price
                self.average_cost = value
        self.quantity = new
        self.realized_pnl += realized
        return realized

    def unrealized_pnl(self, last_price: float, rate: float = 1.0) -> float:
        """Return ``quantity × (last_price × rate − average_cost)`` (account currency)."""
        return self.quantity * (last_price * rate - self.average_cost) if self.quantity else 0.0


class FxPortfolio(Portfolio):
    """A `Portfolio` holding instruments quoted in several currencies.

    The kernel uses it only when some instrument is quoted in a foreign currency; a
    single-currency run keeps the plain `Portfolio`. Marks convert at the rate as of the
    clock's time; fills at the rate as of their ``ts_event``.
    """

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        initial_cash: float,
        prices: dict[str, float],
        rates: FxRates,
        *,
        publish_snapshots: bool = False,
    ) -> None:
        super().__init__(bus, clock, initial_cash, prices, publish_snapshots=publish_snapshots)
        self.rates = rates
        self.positions: dict[str, Position] = {s: FxPosition(s) for s in prices}

    def fx_rate(self, symbol: str, ts_ns: int | None = None) -> float:
        """Return ``symbol``'s rate into the account currency as of ``ts_ns`` (default: now)."""
        now = self._clock.timestamp_ns() if ts_ns is None else ts_ns
        return self.rates.rate(symbol, now)

    def _values(self, now: int | None = None) -> tuple[float, float]:
        """Return ``(Σ value, Σ |value|)`` of the open positions at the rates as of ``now``."""
        last = self._last
        if now is None:
            now = self._clock.timestamp_ns()
        rate = self.rates.rate
        value = 0.0
        gross = 0.0
        for symbol, position in self._open.items():
            amount = position.quantity * last[symbol] * rate(symbol, now)
            value += amount
            gross += abs(amount)
        return value, gross

    def equity(self) -> float:
        """Return ``cash + Σ quantity × last close × rate now`` (account currency)."""
        return self._cash + self._values()[0]

    def gross_exposure(self) -> float:
        """Return ``Σ |quantity × last close × rate now|`` (account currency)."""
        return self._values()[1]

    def margin_state(self) -> tuple[float, float]:
        """Return ``(equity, gross_exposure)`` at current rates."""
        value, gross = self._values()
        return self._cash + value, gross

    def _fill_cash(self, fill: OrderFilled, signed: float) -> float:
        """Return what ``fill`` takes from cash, at the rate as of its ``ts_event``."""
        return (signed * fill.price + fill.fee) * self.rates.rate(fill.symbol, fill.ts_event)

    def on_order_filled(self, fill: OrderFilled) -> None:
        """Apply a fill converted at the rate as of ``fill.ts_event``; publish `PositionChanged`."""
        position = self.positions[fill.symbol]
        assert isinstance(position, FxPosition)
        rate = self.rates.rate(fill.symbol, fill.ts_event)
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        self._cash -= (signed * fill.price + fill.fee) * rate
        fee = fill.fee * rate
        self.fees_paid += fee
        position.fees += fee
        position.apply_converted(signed, fill.price, rate)
        self._position_changed(fill, position)

    def snapshot(self, ts_ns: int) -> None:
        """Record (and maybe publish) the `EquitySnapshot` at ``ts_ns`` at its rates."""
        value, gross = self._values(ts_ns)
        cash = self._cash
        snapshot = EquitySnapshot(ts_ns, ts_ns, cash, cash + value, gross)
        self.equity_curve.append(snapshot)
        if self._publish_snapshots:
            self._bus.publish(snapshot)
