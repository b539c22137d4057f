"""SimulatedBroker: the venue of backtests and paper trading, matching orders on bars.

In: approved orders (`submit`), cancels and modifications, and each bar before strategies
see it (`process_bar`). Out on the bus: `OrderAccepted`, `OrderRejected`,
`OrderTriggered`, `OrderFilled`, `OrderModified`, `OrderModifyRejected`,
`OrderCanceled`, `OrderExpired`. Where a bar says a price was reached is decided in
`engine.execution.matching`; this module keeps the working orders and applies the rules.

Rules (each a named setting of ``[execution]``; the README's fill table lists them all):
- Eligibility: an order is matched from the first bar that opens at or after it reached
  the venue (acceptance time + ``latency_ns``). With zero latency that is the bar after
  the one it was decided on. ``market_fill = "same_close"`` fills market orders at the
  close of their symbol's first bar closing at or after the decision instead (`submit`).
- Market and market-on-open fill at the open; market-on-close at the close of the first
  eligible bar. Stops (and trailing stops) trigger on the range and fill at the stop, or at
  the open when the bar gaps beyond it; takers pay slippage, put on the tick grid against
  them and, under ``slippage_within_range`` (default), never beyond the bar's high (buys)
  or low (sells) — on ticks the trade's price or the quote's ask (buys) / bid (sells).
  Limits fill at the limit when the bar trades through it (``limit_fill = "through"``)
  or touches it (``"touch"``), at the open when it opens beyond it (at the limit: only
  under ``"touch"``). A limit marketable on arrival (at the last price when accepted,
  `engine.model.limit_marketable`, the post-only rule; or its first bar opens through it)
  fills on its first bar as a taker, slipped and capped at its limit; one that rested is
  a maker and pays no slippage.
- Stop-limit: when its stop is reached it becomes a limit (`OrderTriggered`); if the limit
  is marketable at the trigger price it fills there at once, else it rests from the next
  bar.
- Trailing stop: the stop starts ``trailing_offset`` away from the last close at
  acceptance (or at the given stop) and follows the best high (sells) or low (buys) of the
  bars since, by price amount or percent; it is checked against a bar before that bar's
  extremes move it (no intrabar ratcheting). Each level is put on the tick grid
  passively (a sell stop down, a buy stop up: 100 − 2.003 sits at 97.99, not 98.00).
- One-cancels-other groups (brackets): a fill of one member reduces the others by the
  same quantity (`OrderModified` to what they filled plus what is left; canceled when
  nothing is left). When a bar reaches two members, one the bar opens through was
  reached first and fills (at the open); when both are first reached inside the bar,
  ``bracket_conflict`` decides which filled: ``"stop_first"`` (default, pessimistic: the
  stop-type order), ``"target_first"`` or ``"path"`` (the first reached along open →
  nearer extreme → farther extreme → close).
- Partial fills: with ``volume_participation`` set, a bar fills at most that fraction of
  its volume; the rest waits for later bars. IOC fills what it can on its first eligible
  bar and cancels the rest; FOK fills completely there or is canceled, whatever would
  have trimmed it (volume, a quote's displayed size, reduce-only, the cash cap).
- Expiry: DAY orders expire at the first bar opening on a later UTC day than their
  acceptance; GTD orders at the first bar opening at or after ``expire_time_ns``.
- Post-only limits that would be marketable at the last close are rejected; reduce-only
  fills are capped at the position they reduce (canceled when there is none).
- How much of a matched order fills and at what price (slippage, volume, reduce-only
  and cash-account caps, sizing at the fill, FOK): `engine.execution.fills`, whose
  `FillMethods` this class inherits.
- Exits attached to a fill at a bar's open (a bracket's OTO children released by it,
  the ``[risk.exits]`` stop and limit placed for it) are matched from the next bar
  (``exits_from = "next_bar"``, default) or, under ``"fill_bar"``, against the same bar
  once they reach the venue (`engine.execution.fill_bar_exits`): the whole range follows the
  open, so the ordinary trigger rules and ``bracket_conflict`` apply, and an exit the open
  is already through fills at the open (the entry's raw fill price). Trailing stops (from
  the fill bar's close, known at its end), market exits (a time stop), fills on ticks and
  intrabar fills (where in the bar is not known) keep the next-bar rule.
- Fill times: fills at the open carry the bar's open time; intrabar fills and closes carry
  the bar's close time (the first moment the engine can know they happened).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.bus import EventBus
from engine.clock import Clock
from engine.execution.amend import amend_terms
from engine.execution.fill_bar_exits import FillBarExits, FillBarExitsDue
from engine.execution.fills import AccountView, BrokerSettings, FillMethods
from engine.execution.matching import (
    WorkingOrder,
    match_bar,
    match_tick,
    prefer_in_group,
    trail_step,
    trailing_level,
)
from engine.execution.models import FeeModel, FixedBpsSlippage, SlippageModel, TieredFeeModel
from engine.model import (
    Bar,
    Instrument,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderTriggered,
    OrderType,
    QuoteTick,
    TimeInForce,
    TradeTick,
    limit_marketable,
)

# members as globals, read per order (see `engine.model.enums`: ~70 ns a lookup otherwise)
_MARKET, _TRAILING_STOP, _GTC = OrderType.MARKET, OrderType.TRAILING_STOP, TimeInForce.GTC
_LIMIT = OrderType.LIMIT
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)

__all__ = ["AccountView", "BrokerSettings", "SimulatedBroker"]


class SimulatedBroker(FillBarExits, FillMethods):
    """Bar-based matching engine with pluggable fees and slippage."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        prices: Mapping[str, float],
        account: AccountView,
        fee_model: FeeModel,
        slippage: SlippageModel,
        settings: BrokerSettings,
        *,
        leverage: float = 1.0,
        fx: Callable[[str, int], float] | None = None,
        last_bar: Callable[[str], tuple[float, float, float | None]] | None = None,
        priced_since: Callable[[str, int], bool] | None = None,
    ) -> None:
        """Build the venue; ``fx(symbol, ts_ns)`` is a quote-to-account rate (None: no FX).

        ``last_bar(symbol)`` is ``(high, low, volume)`` of the bar whose close is the last
        price (`MarketCache.last_bar`): a ``same_close`` fill's slippage stays in that
        range, and volume-share slippage and ``volume_participation`` read that volume.
        ``priced_since(symbol, ts)``: whether the last price is that recent (`MarketCache.
        priced_since`; None: always), as a ``same_close`` fill at it needs (`submit`).
        """
        self._bus = bus
        self._last_bar = last_bar
        self._priced_since = priced_since
        self._fx = fx
        self._clock = clock
        self._instruments = instruments
        self._prices = prices
        self._account = account
        self._fees = fee_model
        self._slippage = slippage
        self._settings = settings
        self._touch = settings.limit_fill == "touch"
        self._cash_account = leverage <= 1.0
        # Read on every fill and submission: settings are fixed for the run, so keep them.
        self._participation = settings.volume_participation
        self._latency_ns = settings.latency_ns
        self._fill_at_close = settings.market_fill == "same_close"
        # a run's close-out (`close_out`): these orders (all while None) fill at the close
        self._close_out: set[str] | None = set()
        # Volume-tiered fees learn each fill's notional from the broker as it is priced.
        self._record_volume = fee_model.record if isinstance(fee_model, TieredFeeModel) else None
        self._within_range = settings.slippage_within_range
        # A model that never moves the price (0 bps) need not be asked on every fill.
        self._slippage_on = not (isinstance(slippage, FixedBpsSlippage) and slippage.bps == 0)
        # symbol -> working orders; a symbol leaves the dict when its last order closes, so
        # the dict is falsy when nothing works and the backtest loop can skip matching.
        self.working: dict[str, list[WorkingOrder]] = {}
        self._fill_count = 0
        # order id -> target fraction of equity, resolved into a quantity at its first fill
        self._fill_targets: dict[str, float] = {}
        # exits_from = "fill_bar": symbol -> (last bar matched, ids of orders that filled at
        # its open), and the exits attached to those fills waiting for their marker
        self._exits_on_fill_bar = settings.exits_from == "fill_bar"
        self._opened: dict[str, tuple[Bar, set[str]]] = {}
        self._fill_bar_exits: dict[str, list[WorkingOrder]] = {}

    # --- commands ------------------------------------------------------------------------

    def close_out(self, order_ids: set[str] | None) -> None:
        """Fill the market orders ``order_ids`` (None: every order) at the last close.

        As under ``market_fill = "same_close"``, when each is submitted: a run's close-out
        of its positions after its last bar (`engine.runtime.closeout`). ``close_out(set())``
        ends it.
        """
        self._close_out = order_ids

    def submit(self, order: OrderRequested) -> None:
        """Accept or reject ``order``; fill at once only under ``market_fill = "same_close"``.

        A ``same_close`` market order fills at the close of its symbol's first bar closing
        at or after the decision: at once if the symbol's last price is that recent, else
        in `process_bar` (decided on another symbol's bar, a timer, a headline: README's
        fill assumptions). A close-out fills at the last close whatever its age.
        """
        now = self._clock.timestamp_ns()
        market = order.order_type is _MARKET
        closing = self._close_out
        forced = closing is None or order.order_id in closing
        at_close = self._fill_at_close or forced
        last = math.nan
        if not market or at_close:  # the last price matters to these only
            last = self._prices.get(order.symbol, math.nan)
        reason = "" if market else self._rejection(order, last)
        if reason:
            self._bus.publish(
                OrderRejected(order.order_id, order.strategy_id, order.symbol, reason, now, now)
            )
            return
        self._bus.publish(
            tuple.__new__(
                OrderAccepted, (order.order_id, order.strategy_id, order.symbol, now, now)
            )
        )
        tif = order.time_in_force
        expiry = None if tif is _GTC else self._expiry(order, now)
        working = WorkingOrder(order, now + self._latency_ns, expiry)
        if order.order_type is _LIMIT and math.isfinite(last):
            assert order.limit_price is not None  # risk denies limits without a price
            working.taking = limit_marketable(order.side, order.limit_price, last)
        if order.order_type is _TRAILING_STOP:
            self._start_trailing(working, last)
        if self._exits_on_fill_bar and self._attached_to_open_fill(order, now):
            waiting = self._fill_bar_exits.setdefault(order.symbol, [])
            if not waiting:
                self._bus.publish(FillBarExitsDue(order.symbol))
            waiting.append(working)
        since = self._priced_since
        if at_close and market and not forced and since and not since(order.symbol, now):
            working.at_close = True  # its symbol's price is older than the decision
        elif at_close and market and math.isfinite(last):
            # at the close of the bar just seen: its range bounds the slipped price and its
            # volume is the one the fill takes a share of (the rest waits for later bars)
            high, low, volume = math.inf, -math.inf, None
            if self._last_bar is not None:
                high, low, volume = self._last_bar(order.symbol)
            self._fill(working, last, "taker", now, volume, None, high, low)
            self._finish_immediate(working, now)
            if working.leaves <= 0:
                return
        self.working.setdefault(order.symbol, []).append(working)

    def own_events(self) -> Sequence[tuple[type, Callable[[Any], None]]]:
        """The fill-bar exits' marker (`engine.execution.venue.OwnEvents`; `Kernel.wire`
        subscribes it); none under the default ``exits_from = "next_bar"``."""
        if not self._exits_on_fill_bar:
            return ()
        return ((FillBarExitsDue, self._match_exits_on_fill_bar),)

    def cancel(self, order_id: str, reason: str = "canceled by request") -> None:
        """Cancel a working order at the current time (unknown ids are ignored)."""
        found = self._find(order_id)
        if found is not None:
            now = self._clock.timestamp_ns()
            self._remove(found)
            self._bus.publish(
                OrderCanceled(
                    order_id, found.order.strategy_id, found.order.symbol, reason, now, now
                )
            )

    def modify(
        self,
        order_id: str,
        quantity: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        """Change a working order's quantity or prices; answer `OrderModified` or a rejection.

        The rules of the new terms (and their rounding): `engine.execution.amend.amend_terms`;
        a post-only limit moved to a price the last price is through is refused with its
        submission's reason (it stays where it was). A limit given a new price arrives
        anew: marketable then, it fills as a taker on its next bar (`match_bar`).
        """
        now = self._clock.timestamp_ns()
        working = self._find(order_id)
        if working is None:
            self._bus.publish(
                OrderModifyRejected(order_id, "", "", "order is not working", now, now)
            )
            return
        order = working.order
        instrument = self._instruments[order.symbol]
        new, problem = amend_terms(order, working.filled, instrument, quantity, limit_price,
                                   stop_price)  # fmt: skip
        if not problem and limit_price is not None and new.post_only:
            # moved to where it would take: refused as at submission (an exchange cancels
            # or refuses it; it never fills as a maker there); it rests at its old price
            problem = self._rejection(new, self._prices.get(order.symbol, math.nan))
        if problem:
            self._bus.publish(
                OrderModifyRejected(order_id, order.strategy_id, order.symbol, problem, now, now)
            )
            return
        working.order = new
        working.leaves = working.order.quantity - (order.quantity - working.leaves)
        if stop_price is not None:
            working.stop = working.order.stop_price
        if limit_price is not None and new.order_type is _LIMIT:
            # a new price is a new arrival (an exchange's amend loses its place): marketable
            # at the last price, it takes on its next bar, as on submission
            assert new.limit_price is not None
            last = self._prices.get(order.symbol, math.nan)
            working.seen = False
            working.taking = math.isfinite(last) and limit_marketable(
                new.side, new.limit_price, last
            )
        self._bus.publish(
            OrderModified(
                order_id,
                new.strategy_id,
                new.symbol,
                new.quantity,
                new.limit_price,
                new.stop_price,
                now,
                now,
            )
        )

    def size_at_fill(self, order_id: str, fraction: float) -> None:
        """Size the market order ``order_id`` at its fill: ``fraction`` of equity then.

        See `engine.execution.fill_sizing`; the order's quantity until then is provisional.
        """
        self._fill_targets[order_id] = fraction

    # --- market data ---------------------------------------------------------------------

    def process_bar(self, bar: Bar) -> None:
        """Match the symbol's working orders against ``bar`` (call before strategies see it).

        Works whether or not the caller skips bars of symbols without working orders.
        """
        orders = self.working.get(bar.symbol)
        if not orders:
            return
        opened: set[str] | None = None
        if self._exits_on_fill_bar:
            opened = set()
            self._opened[bar.symbol] = (bar, opened)
        if len(orders) == 1:  # the common case, by the same rules: one market order, due now
            working = orders[0]
            ts_open = bar.ts_event - bar.timeframe_ns  # `Bar.ts_open`, without the property
            if (
                working.order.order_type is _MARKET
                and working.expire_ns is None
                and working.eligible_from <= ts_open
                and not working.at_close
            ):
                leaves = working.leaves
                self._fill(working, bar.open, "taker", ts_open, bar.volume, None, bar.high, bar.low)
                if opened is not None and working.leaves < leaves:  # `exits_from = "fill_bar"`
                    opened.add(working.order.order_id)
                if working.order.time_in_force in _IMMEDIATE:
                    self._finish_immediate(working, self._clock.timestamp_ns())
                if working.leaves <= 0:
                    self._remove(working)
                return
        candidates: list[tuple[WorkingOrder, float, str, int, float]] = []
        trailing: list[WorkingOrder] = []
        high, low = bar.high, bar.low
        grouped = False
        ts_open = bar.ts_open
        for working in tuple(orders):
            order = working.order
            kind = order.order_type
            if kind is _TRAILING_STOP:
                trailing.append(working)
            if working.expire_ns is not None and ts_open >= working.expire_ns:
                self._remove(working)
                now = self._clock.timestamp_ns()
                self._bus.publish(
                    OrderExpired(order.order_id, order.strategy_id, bar.symbol, now, now)
                )
                continue
            if working.at_close:  # `submit`: at the close of the first bar closing since
                if working.eligible_from <= bar.ts_event:
                    candidates.append((working, bar.close, "taker", bar.ts_event, 0.0))
                continue
            if working.eligible_from > ts_open:
                continue  # not at the venue yet when this bar opened
            if kind is _MARKET:  # the common case, as in `match_bar`
                candidates.append((working, bar.open, "taker", ts_open, 0.0))
                continue
            was_triggered = working.triggered
            matched = match_bar(working, bar, self._touch)
            if working.triggered and not was_triggered:
                self._triggered(working)
            if matched is not None:
                candidates.append((working, *matched))
                grouped = grouped or bool(order.oco_group)
            elif order.time_in_force in _IMMEDIATE:
                self.cancel(order.order_id, f"{order.time_in_force}: not filled")
        if grouped:
            candidates = self._resolve_groups(candidates)
        immediate = _IMMEDIATE
        for working, price, liquidity, ts_fill, _ in candidates:
            if working.leaves > 0 and working in orders:  # a sibling's fill may have ended it
                leaves = working.leaves
                self._fill(working, price, liquidity, ts_fill, bar.volume, None, high, low)
                if opened is not None and ts_fill == ts_open and working.leaves < leaves:
                    opened.add(working.order.order_id)
                if working.order.time_in_force in immediate:
                    self._finish_immediate(working, self._clock.timestamp_ns())
        for working in trailing:
            if working.leaves > 0:
                self._trail(working, bar)
        remaining = self.working.get(bar.symbol)
        if remaining is not None:
            remaining[:] = [w for w in remaining if w.leaves > 0]
            if not remaining:
                del self.working[bar.symbol]

    def process_trade(self, tick: TradeTick) -> None:
        """Match the symbol's working orders against one trade (before strategies see it).

        Takers fill at the trade's price; a buy limit fills at its limit when a trade
        prints below it (``touch``: at it), a sell limit when one prints above; stops
        trigger when a trade reaches them and fill at that trade's price.
        """
        self._process_tick(tick.symbol, tick.ts_event, tick.price, tick.price, tick.size, None)

    def process_quote(self, quote: QuoteTick) -> None:
        """Match the symbol's working orders against a top-of-book update.

        Buys take the ask and sells the bid, at most the displayed size per update; a buy
        limit fills at its limit when the ask drops below it (``touch``: to it), a sell
        limit when the bid rises above it; stops trigger on the price they would trade at.
        """
        self._process_tick(
            quote.symbol,
            quote.ts_event,
            quote.ask_price,
            quote.bid_price,
            None,
            (quote.ask_size, quote.bid_size),
        )

    def _process_tick(
        self,
        symbol: str,
        ts: int,
        buy_price: float,
        sell_price: float,
        size: float | None,
        depth: tuple[float, float] | None,
    ) -> None:
        orders = self.working.get(symbol)
        if not orders:
            return
        for working in tuple(orders):
            order = working.order
            if working.expire_ns is not None and ts >= working.expire_ns:
                self._remove(working)
                now = self._clock.timestamp_ns()
                self._bus.publish(OrderExpired(order.order_id, order.strategy_id, symbol, now, now))
                continue
            if working.eligible_from > ts or working.leaves <= 0:
                continue
            buy = order.side is OrderSide.BUY
            # Where this order would trade: the trade's price, or the ask (buys) / bid
            # (sells). A resting limit fills only when that side moves through it; the
            # opposite side (a bid under a buy limit) says nothing of who would sell to it.
            take = buy_price if buy else sell_price
            was_triggered = working.triggered
            matched = match_tick(working, take, self._touch, depth is not None)
            if working.triggered and not was_triggered:
                self._triggered(working)
            if matched is None:
                if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                    self.cancel(order.order_id, f"{order.time_in_force}: not filled")
            else:
                price, liquidity = matched
                shown = None if depth is None else (depth[0] if buy else depth[1])
                shown = shown if liquidity == "taker" else None
                # a trade's price bounds both sides; a quote: the ask buys, the bid sells
                self._fill(working, price, liquidity, ts, size, shown, buy_price, sell_price)
                self._finish_immediate(working, self._clock.timestamp_ns())
            if order.order_type is OrderType.TRAILING_STOP and working.leaves > 0:
                self._trail_to(working, take)
        remaining = self.working.get(symbol)
        if remaining is not None:
            remaining[:] = [w for w in remaining if w.leaves > 0]
            if not remaining:
                del self.working[symbol]

    # --- matching ------------------------------------------------------------------------

    def _resolve_groups(
        self, candidates: list[tuple[WorkingOrder, float, str, int, float]]
    ) -> list[tuple[WorkingOrder, float, str, int, float]]:
        """Keep one candidate per one-cancels-other group, chosen by ``bracket_conflict``."""
        chosen: dict[str, tuple[WorkingOrder, float, str, int, float]] = {}
        result = []
        rule = self._settings.bracket_conflict
        for candidate in candidates:
            group = candidate[0].order.oco_group
            if not group:
                result.append(candidate)
                continue
            other = chosen.get(group)
            if other is None or prefer_in_group(candidate, other, rule):
                chosen[group] = candidate
        result.extend(chosen.values())
        return result

    def _finish_immediate(self, working: WorkingOrder, now: int) -> None:
        """IOC/FOK: whatever did not fill on the first eligible bar is canceled."""
        tif = working.order.time_in_force
        if working.leaves > 0 and tif in (TimeInForce.IOC, TimeInForce.FOK):
            if self._find(working.order.order_id) is working:
                self.cancel(working.order.order_id, f"{tif}: remainder not filled")
            else:
                working.leaves = 0.0
                self._bus.publish(
                    OrderCanceled(
                        working.order.order_id,
                        working.order.strategy_id,
                        working.order.symbol,
                        f"{tif}: remainder",
                        now,
                        now,
                    )
                )

    def _reduce_siblings(self, filled: WorkingOrder, quantity: float) -> None:
        group = filled.order.oco_group
        for working in tuple(self.working.get(filled.order.symbol, ())):
            if working is filled or working.order.oco_group != group:
                continue
            filled_before = working.filled  # its own fills (``filled`` counts reductions)
            working.leaves = max(working.leaves - quantity, 0.0)
            if working.leaves <= working.order.quantity * 1e-12:
                self.cancel(working.order.order_id, f"oco: {filled.order.order_id} filled")
                continue
            # The order's quantity becomes what filled plus what is left, and the kernel
            # hears it: else its order kept the old quantity and stayed partly filled
            # (open) after filling everything it still could.
            order = working.order._replace(quantity=filled_before + working.leaves)
            working.order = order
            now = self._clock.timestamp_ns()
            self._bus.publish(OrderModified(order.order_id, order.strategy_id, order.symbol,
                                            order.quantity, order.limit_price,
                                            order.stop_price, now, now))  # fmt: skip

    # --- helpers -------------------------------------------------------------------------

    def _rejection(self, order: OrderRequested, last: float) -> str:
        if order.post_only and order.order_type is OrderType.LIMIT and math.isfinite(last):
            limit = order.limit_price
            assert limit is not None
            if limit_marketable(order.side, limit, last):  # as a limit that fills as a taker
                return f"post-only limit {limit:g} would take liquidity at the last price {last:g}"
        trailing = order.order_type is OrderType.TRAILING_STOP
        if trailing and order.stop_price is None and not math.isfinite(last):
            return "a trailing stop needs a last price to start from"
        return ""

    def _expiry(self, order: OrderRequested, now: int) -> int | None:
        if order.time_in_force is TimeInForce.GTD:
            return order.expire_time_ns
        if order.time_in_force is TimeInForce.DAY:
            day = datetime.fromtimestamp(now // 10**9, tz=UTC).replace(hour=0, minute=0, second=0)
            return int((day + timedelta(days=1)).timestamp()) * 10**9
        return None

    def _start_trailing(self, working: WorkingOrder, last: float) -> None:
        working.best = last
        if working.stop is None:
            order = working.order
            working.stop = trailing_level(order, last, self._instruments[order.symbol])

    def _trail(self, working: WorkingOrder, bar: Bar) -> None:
        self._trail_to(working, bar.high if working.order.side is OrderSide.SELL else bar.low)

    def _trail_to(self, working: WorkingOrder, price: float) -> None:
        """Move the best price (high for sells, low for buys) and ratchet the stop."""
        instrument = self._instruments[working.order.symbol]
        working.best, working.stop = trail_step(
            working.order, working.best, working.stop, price, instrument
        )

    def _triggered(self, working: WorkingOrder) -> None:
        now = self._clock.timestamp_ns()
        order = working.order
        self._bus.publish(OrderTriggered(order.order_id, order.strategy_id, order.symbol, now, now))

    def _find(self, order_id: str) -> WorkingOrder | None:
        for orders in self.working.values():
            for working in orders:
                if working.order.order_id == order_id:
                    return working
        return None

    def _remove(self, working: WorkingOrder) -> None:
        working.leaves = 0.0
        orders = self.working.get(working.order.symbol)
        if orders is not None and working in orders:
            orders.remove(working)
            if not orders:
                del self.working[working.order.symbol]
