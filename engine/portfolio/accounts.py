"""Account rules that run at bar closes: borrow fees, perpetual funding, maintenance margin.

In: each `Bar` (after `engine.cache.MarketCache` marked it, before strategies see it) and
the ends of liquidation orders. Out: cash flows through `Portfolio.apply_cash_flow`
(published as `CashAdjusted`), `MarginCalled`, liquidation `OrderRequested`s and
`AccountLiquidated`. The kernel subscribes `AccountRules.on_bar` only when one of the rules
is configured, so a plain cash account does no per-bar work here.

Rules (settings in ``[account]`` and ``[[data]]``; the README's fill table lists them):
- Borrow fee (``account.borrow_rate``, annual fraction, ACT/365): charged once per UTC day.
  At the first bar closing at or after a UTC midnight, every short open at that moment
  (except perpetuals) pays ``|quantity| × last close × borrow_rate × days / 365``, where
  ``days`` counts the midnights passed since the last charge (a weekend gap pays for each
  calendar day). A short opened and closed between two midnights pays nothing. With
  several symbols, "the first bar" is the last of the bars closing at that time
  (`engine.clock.CloseTime`): every short is then filled and marked at that close.
- Funding (``[[data]] funding = "rates.csv"``: columns timestamp, rate): a symbol with a
  funding series is a perpetual future. For each funding time ``t`` the position held at
  the close of the symbol's first bar closing at or after ``t`` pays
  ``quantity × that close × rate`` (rate > 0: longs pay, shorts receive). Bars that end at
  the funding times make this exact; a longer bar settles every funding time it spans at
  its close. Perpetuals pay no borrow fee.
- Maintenance margin (``account.maintenance_margin``, fraction of gross exposure): after
  each close time is marked (every symbol's bar of that time), if
  ``equity < maintenance_margin × gross exposure`` the account publishes `MarginCalled`,
  cancels every working order and sends one reduce-only market order per open position
  (strategy id ``LIQ``, tag ``"liquidation"``). Risk checks their form only: no limit of
  the strategy's (instrument minimums, exposure, price bands, plugins, trading state)
  blocks them, and a working one counts as filled when a strategy order is checked
  against leverage. They fill like any market order: at the next bar's open by default
  (at once at the last close under ``execution.market_fill = "same_close"``), paying fees
  and slippage. No new margin call
  is made while they work; when the last one ends, `AccountLiquidated`.
- Currencies: amounts are in the account currency. For a symbol quoted in a foreign
  currency, borrow fees and funding are converted at the rate as of the bar's close
  (``fx``; `engine.portfolio.fx`), and the margin state values positions at that rate.
  A call none of whose orders filled (all denied or rejected: no rate into the account
  currency yet, say) is not repeated until some order fills: one call, not one per bar.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from engine.bus import EventBus
from engine.clock import Clock, CloseTime
from engine.errors import DataError
from engine.feeds.readers import (
    TIMESTAMP_NAMES,
    closest_column,
    read_source,
    repeated_sentence,
    to_epoch_ns,
)
from engine.feeds.timeframe import format_timestamp
from engine.model import (
    LIQUIDATION_STRATEGY_ID,
    AccountLiquidated,
    Bar,
    CancelRequested,
    MarginCalled,
    Order,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.portfolio.portfolio import Portfolio

__all__ = ["LIQUIDATION_STRATEGY_ID", "AccountRules", "FundingRates", "load_funding_rates"]

DAY_NS = 86_400 * 10**9
_NEVER = int(np.iinfo(np.int64).max)  # a time no bar reaches


@dataclass(frozen=True)
class FundingRates:
    """A perpetual's funding schedule: times (int64 ns UTC, increasing) and rates (fractions)."""

    ts: np.ndarray
    rate: np.ndarray


def load_funding_rates(path: str | Path) -> FundingRates:
    """Read a funding-rate CSV: a timestamp column and a ``rate`` column (fraction per payment).

    The timestamp column is named as in bar files (``timestamp``, ``time``, ``date``,
    ``datetime``, ``ts``, ``open_time``; also ``funding_time``), or is an unnamed first
    column; times follow the bar files' rules (epoch s/ms/us/ns by magnitude, or ISO-8601,
    naive = UTC). The rate column is ``rate`` or ``funding_rate``. Names are matched ignoring
    case, spaces and underscores (``fundingRate``). No column is taken for the rate by its
    position: a price file given as a funding file is refused, not read as rates.

    Raises:
        DataError: Missing file (or a folder), no rows, missing, repeated or ambiguous columns,
            unparsable or unordered times, a rate that is not finite or of 100 % or more.
    """
    source = str(path)
    if Path(path).is_dir():
        raise DataError(f"funding file {source!r} is a folder, not a file; name the CSV file")
    if not Path(path).is_file():
        raise DataError(f"funding file {source!r} does not exist")
    table, _ = read_source(path)  # the bar files' formats, compressions and read errors
    columns = [str(name) for name in table.columns]
    time_at = _funding_time_column(source, columns)
    rate_at = _funding_rate_column(source, columns)
    ts, problems = to_epoch_ns(table.iloc[:, time_at], source, columns[time_at])
    if problems:
        raise DataError(problems[0])
    if not len(table):
        raise DataError(
            f"{source}: the funding file has no rows; a perpetual needs its funding rates "
            "(remove `funding` from this [[data]] entry for a spot symbol)"
        )
    rate = pd.to_numeric(table.iloc[:, rate_at], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~(np.abs(rate) < _FUNDING_RATE_LIMIT))  # NaN and inf fail too
    if bad.size:
        row = int(bad[0])
        value = float(rate[row])
        where = f"on data row {row + 1} ({format_timestamp(int(ts[row]))})"
        if np.isnan(value):
            raise DataError(f"{source}: funding rate {where} is not a number; fill or remove it")
        if np.isinf(value):
            raise DataError(
                f"{source}: funding rate {where} is not a finite number; fix or remove it"
            )
        raise DataError(
            f"{source}: funding rate {value:g} {where} would move 100 % or more of the "
            "position's value at one funding time; a rate is a fraction per funding time "
            "(0.0001 = 0.01 %), not a percent or a price; check the file"
        )
    if ts.size > 1 and not bool(np.all(np.diff(ts) > 0)):
        raise DataError(f"{source}: funding times must be strictly increasing; sort the file")
    return FundingRates(ts.astype(np.int64), rate)


# |rate| per funding time at or above which a funding file is refused: 100 % of the
# position's value at one payment is no rate (a percent or a price column read as one).
_FUNDING_RATE_LIMIT = 1.0
_FUNDING_TIME_NAMES = (*TIMESTAMP_NAMES, "funding_time")
_FUNDING_RATE_NAMES = ("rate", "funding_rate")


def _name_key(name: str) -> str:
    """Return ``name`` lowercased without spaces and underscores (``Funding Rate``: fundingrate)."""
    return "".join(char for char in name.strip().lower() if char not in " _")


def _funding_columns(columns: list[str], names: tuple[str, ...]) -> list[int]:
    """Return the positions of the columns whose names are one of ``names``."""
    keys = {_name_key(name) for name in names}
    return [position for position, column in enumerate(columns) if _name_key(column) in keys]


def _funding_time_column(source: str, columns: list[str]) -> int:
    """Return the position of the funding file's timestamp column."""
    for name in _FUNDING_TIME_NAMES:
        found = _funding_columns(columns, (name,))
        if len(found) > 1:
            raise DataError(repeated_sentence(source, name, columns, found))
        if found:
            return found[0]
    first = columns[0].strip().lower() if columns else "-"
    if first == "" or first.startswith("unnamed: 0"):
        return 0
    others = [c for c in columns if _name_key(c) not in {_name_key(n) for n in _FUNDING_RATE_NAMES}]
    raise DataError(
        f"{source}: a funding file needs a timestamp and a rate column; no timestamp column "
        f"(named {', '.join(_FUNDING_TIME_NAMES)}, or an unnamed first column)"
        f"{closest_column('timestamp', others)}; the columns are {', '.join(columns)}."
    )


def _funding_rate_column(source: str, columns: list[str]) -> int:
    """Return the position of the funding file's rate column (never guessed by position)."""
    found = _funding_columns(columns, _FUNDING_RATE_NAMES)
    if len(found) > 1:
        shown = ", ".join(repr(columns[p]) for p in found)
        raise DataError(
            f"{source}: several columns could be the funding rate ({shown}); keep exactly one."
        )
    if not found:
        times = {_name_key(n) for n in _FUNDING_TIME_NAMES}
        others = [c for c in columns if _name_key(c) not in times]
        raise DataError(
            f"{source}: a funding file needs a timestamp and a rate column; no column is "
            f"named {' or '.join(_FUNDING_RATE_NAMES)}{closest_column('rate', others)}; the "
            f"columns are {', '.join(columns)}."
        )
    return found[0]


class OpenOrders(Protocol):
    """Every working order, all strategies."""

    def all_open_orders(self) -> list[Order]:
        """Return every working order."""
        ...


class _Schedule:
    """Funding times of one symbol and the index of the next one due."""

    __slots__ = ("index", "next_ts", "rates", "times")

    def __init__(self, rates: FundingRates) -> None:
        self.times: list[int] = rates.ts.tolist()
        self.rates: list[float] = rates.rate.tolist()
        self.index = 0
        self.next_ts = self.times[0] if self.times else _NEVER


class AccountRules:
    """Borrow fees, funding payments and maintenance-margin liquidation, at bar closes."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        portfolio: Portfolio,
        orders: OpenOrders,
        *,
        start_ns: int,
        borrow_rate: float = 0.0,
        maintenance_margin: float = 0.0,
        funding: Mapping[str, FundingRates] | None = None,
        fx: Callable[[str, int], float] | None = None,
        close_time: CloseTime | None = None,
    ) -> None:
        """Set up the rules; ``fx(symbol, ts_ns)`` converts quote amounts (None: no FX).

        ``close_time``: the cache's `CloseTime`; borrow fees and the margin check wait for
        the last bar of a close time (None: every bar is the last, as with one symbol).
        """
        self._fx = fx
        self._close_time = CloseTime() if close_time is None else close_time
        self._bus = bus
        self._clock = clock
        self._portfolio = portfolio
        self._orders = orders
        self._borrow_rate = borrow_rate
        self._maintenance = maintenance_margin
        self._schedules = {s: _Schedule(r) for s, r in (funding or {}).items()}
        self._next_midnight = (start_ns // DAY_NS + 1) * DAY_NS if borrow_rate > 0 else _NEVER
        self._liquidating: set[str] = set()  # ids of working liquidation orders
        self._liquidated: tuple[str, ...] = ()
        self._unfilled_call = False  # a margin call was made and nothing has filled since
        self._liquidation_count = 0

    def skip_funding_until(self, ts_ns: int) -> None:
        """Pay no funding due at or before ``ts_ns`` (ns): it is booked already.

        A restarted live node books the funding up to its start from the exchange's
        record (`engine.runtime.live.restore`); without this its first bar would pay every
        earlier funding time again, at the restored position.
        """
        for schedule in self._schedules.values():
            index = bisect.bisect_right(schedule.times, ts_ns, lo=schedule.index)
            schedule.index = index
            schedule.next_ts = schedule.times[index] if index < len(schedule.times) else _NEVER

    def leave_funding(self) -> None:
        """Pay no funding from the rates any more: a live node books the exchange's."""
        self.skip_funding_until(_NEVER)

    @property
    def active(self) -> bool:
        """Return True if any rule is configured (the kernel subscribes `on_bar` only then)."""
        return self._borrow_rate > 0 or self._maintenance > 0 or bool(self._schedules)

    def on_bar(self, bar: Bar) -> None:
        """Apply the rules due at ``bar``'s close (its close is already marked).

        Funding is the symbol's own: paid on each of its bars. Borrow fees and the margin
        check value every position: they run on the last bar of a close time only
        (`engine.clock.CloseTime`), once every symbol's fills and close of that time are in.
        """
        ts = bar.ts_event
        schedule = self._schedules.get(bar.symbol)
        if schedule is not None and ts >= schedule.next_ts:
            self._pay_funding(bar, schedule)
        if not self._close_time.complete:
            return
        if ts >= self._next_midnight:
            self._charge_borrow(ts)
        if (
            self._maintenance
            and not self._liquidating
            and not self._unfilled_call
            and self._portfolio.open_positions()
        ):
            self._check_margin(ts)

    # --- borrow fees and funding ---------------------------------------------------------

    def _charge_borrow(self, ts: int) -> None:
        days = (ts - self._next_midnight) // DAY_NS + 1
        midnight = self._next_midnight + (days - 1) * DAY_NS  # the last midnight passed
        self._next_midnight = midnight + DAY_NS
        portfolio = self._portfolio
        charges = [
            (symbol, position.quantity * portfolio.last_price(symbol))
            for symbol, position in portfolio.open_positions().items()
            if position.quantity < 0 and symbol not in self._schedules
        ]
        for symbol, value in charges:  # value < 0: a short's signed value
            if self._fx is not None:
                value *= self._fx(symbol, ts)
            amount = value * self._borrow_rate * days / 365.0
            portfolio.apply_cash_flow(symbol, amount, "borrow_fee", midnight)

    def _pay_funding(self, bar: Bar, schedule: _Schedule) -> None:
        quantity = self._portfolio.position_quantity(bar.symbol)
        times, rates = schedule.times, schedule.rates
        index = schedule.index
        while index < len(times) and times[index] <= bar.ts_event:
            if quantity:
                amount = -quantity * bar.close * rates[index]
                if self._fx is not None:
                    amount *= self._fx(bar.symbol, bar.ts_event)
                self._portfolio.apply_cash_flow(bar.symbol, amount, "funding", times[index])
            index += 1
        schedule.index = index
        schedule.next_ts = times[index] if index < len(times) else _NEVER

    # --- maintenance margin and liquidation ----------------------------------------------

    def _check_margin(self, ts: int) -> None:
        equity, gross = self._portfolio.margin_state()
        required = self._maintenance * gross
        if not equity < required:
            return
        bus = self._bus
        now = self._clock.timestamp_ns()
        bus.publish(MarginCalled(equity, required, gross, ts, now))
        self._unfilled_call = True
        for order in self._orders.all_open_orders():
            bus.publish(CancelRequested(order.order_id, order.strategy_id, now, now))
        symbols = []
        for symbol, position in self._portfolio.open_positions().items():
            self._liquidation_count += 1
            order_id = f"{LIQUIDATION_STRATEGY_ID}-{self._liquidation_count:06d}"
            self._liquidating.add(order_id)
            symbols.append(symbol)
            bus.publish(
                OrderRequested(
                    order_id=order_id,
                    strategy_id=LIQUIDATION_STRATEGY_ID,
                    symbol=symbol,
                    side=OrderSide.SELL if position.quantity > 0 else OrderSide.BUY,
                    quantity=abs(position.quantity),
                    order_type=OrderType.MARKET,
                    limit_price=None,
                    stop_price=None,
                    time_in_force=TimeInForce.GTC,
                    ts_event=now,
                    ts_init=now,
                    tag="liquidation",
                    reduce_only=True,
                )
            )
        self._liquidated = tuple(symbols)

    def on_order_filled(self, event: OrderFilled) -> None:
        """Any fill allows a new margin call; a liquidation order filled completely has ended."""
        self._unfilled_call = False
        if event.order_id in self._liquidating and event.leaves_quantity <= 0:
            self._ended(event.order_id)

    def on_order_ended(
        self, event: OrderCanceled | OrderDenied | OrderRejected | OrderExpired
    ) -> None:
        """A liquidation order that was canceled, denied, rejected or expired has ended."""
        if event.order_id in self._liquidating:
            self._ended(event.order_id)

    def _ended(self, order_id: str) -> None:
        self._liquidating.discard(order_id)
        if not self._liquidating:
            now = self._clock.timestamp_ns()
            equity, _ = self._portfolio.margin_state()
            self._bus.publish(AccountLiquidated(self._liquidated, equity, now, now))
