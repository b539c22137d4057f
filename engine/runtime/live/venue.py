"""LiveVenue: the `Venue` protocol over the order manager — real orders, the kernel unchanged.

In: approved orders, cancels and modifications from the `ExecutionEngine`, market
data from the driver (``process_bar`` and the ticks: a poll of the working orders before
strategies see the data), and updates that arrive between market data (``report``: the
user-data stream's reports and reconciliations, `engine.runtime.live.stream`). Out: the
order events the simulated broker would publish (`OrderAccepted`, `OrderFilled`,
`OrderCanceled`, `OrderRejected`, `OrderExpired`, `OrderModified`, `OrderModifyRejected`),
built from the order manager's `Update`s (`engine.runtime.live.orders`).

What differs from the simulated broker, on purpose:

* Market, market-on-open (a market order: sent after a bar closed, it fills at the next
  open, as the backtest's), limit, stop-market, stop-limit and trailing stop orders are
  sent (`engine.runtime.live.sendable` says what is not, and why: market-on-close); a
  reduce-only sell is a plain sell (cut to the wallet anyway, see below), a reduce-only
  buy is refused (a spot account holds no shorts).
* A post-only limit goes as LIMIT_MAKER (a perpetual's: GTX); one the last price is
  through is rejected here (the backtest's words), one only the exchange's price is through
  is refused there (-2010, -5022): `OrderRejected` either way; maker fills.
* DAY and GTD orders go as GTC: the node cancels them at their expiry (the backtest's, kept
  in the store) and the kernel hears `OrderExpired` with the next bar, as in a backtest
  (`engine.runtime.live.expiry`; a fill racing the cancel is the exchange's truth).
* Trailing stops are node-managed (`engine.runtime.live.trailing`): a STOP_LOSS (a
  perpetual's: an algo STOP_MARKET) the node moves after each bar (cancel, then a new
  one) by the backtest's rule, not Binance's ``trailingDelta`` (which trails in basis
  points from its activation, not from the best price since placement). A move's fills
  reach the kernel at the next poll, as the backtest matches the moved stop next bar.
* A one-cancels-other group of one stop and one limit (a bracket's exits) is sent as one
  exchange OCO (`engine.runtime.live.groups`): its legs arrive one `submit` each, are held,
  and go out together when the venue's `OcoReady` marker comes off the bus. The leg the
  exchange expires when the other trades is published as `OrderCanceled`; canceling either
  leg cancels both (Binance cancels the whole list). Other groups are rejected with a
  reason; a group of one order is sent plainly. OTO children (a bracket's exits) reach the
  venue only once their parent filled (the execution engine holds them) and are sent then.
* Stops live at the exchange (Binance spot STOP_LOSS / STOP_LOSS_LIMIT, see
  `engine.adapters.ccxt.venue.CcxtExchange.create`): untriggered, such an order is a working
  order like a resting limit — polled, reconciled, cancellable, adopted by `restore` with
  its stop price, cancelled by the kill switch. The exchange triggers it on its own prices:
  a triggered stop-limit rests as a limit at once (the backtest: from the next bar), a
  stop-market fills at the market (the backtest: at the stop, or the open on a gap). A
  stop the node's last price is through is sent as its market or limit order (the
  backtest triggers it at the next open), and so is one the exchange refuses as through
  (`engine.runtime.live.triggered`); a stop-limit then hears `OrderTriggered`.
* A sell is never larger than the wallet's free base asset: a larger one is cut to the free
  amount (floored to the lot; `OrderModified` tells the kernel) or rejected if nothing is
  left. A working sell stop locks its coins, so a second sell is cut or rejected the same
  way, except a market sell: the engine's exits (``[risk.exits]``) go first (`Wallet.
  locking_exits`: the backtest sells, then cancels them).
* A buy is never larger than the wallet's free quote asset pays, with the fee the run's fee
  model charges, as a backtest's cash account (`engine.execution.caps.affordable_quantity`,
  the same function): at its limit price for a limit order, and for a market order at the
  price it would reach in the exchange's order book when sent (the worst ask level its
  quantity takes; `CcxtExchange.book_price`). Under ``execution.cash_shortfall = "reduce"``
  (the default) a larger buy is cut to whole lots it pays (`OrderModified`), under
  ``"cancel"`` it is rejected, and one that pays for nothing is rejected either way.
  Without this, an all-in order sized at the last close costs more than the wallet once
  the fee is added: the exchange refuses it and the strategy never trades live.
  The book can still move before the fill: the exchange refuses, the strategy hears why.
  A buy stop is priced at its limit price, or, a stop-market, at its stop (what Binance
  locks); the reserve is conservative when the fee is taken from the asset bought.
* A fee in the base asset reduces the position (buys and sells): the fill carries what the
  wallet's base moved by and the fee valued in quote, so cash moves by the gross notional;
  the order's quantity moves by the fee first (`OrderModified`) so it ends FILLED. A fee in
  BNB is not converted: the portfolio sees 0 (`engine.runtime.live.wallet.kernel_fill`).
* Perpetuals (`CcxtExchange.perpetual`: a symbol with a ``[[data]] funding`` series,
  traded as Binance USDⓈ-M in one-way mode): the two wallet caps above do not apply (there
  is no base asset to sell, and the exchange checks the margin: a refusal is
  InsufficientFunds, the strategy hears it). "Never sell more than the wallet holds"
  becomes "never close more than the position": an order against the exchange's position
  (``positionAmt``) no larger than it is sent ``reduceOnly`` (so it can never open the
  other side); a reduce-only order larger than it is cut to it (`OrderModified`), one with
  nothing to reduce is rejected; a larger order without the flag closes and reverses, as
  in a backtest. Stops on perpetuals are Binance algo orders (`engine.adapters.ccxt.algo`);
  trailing stops are their chains, OCO groups node-managed pairs (`.pairs`).
* A modification is Binance's cancel-replace (`engine.runtime.live.modify`): checked by
  the backtest's rules first, then sent as a new exchange order for what is left under a
  client id written to the store first; `OrderModified` when the exchange took it, else
  `OrderModifyRejected` (or `OrderCanceled` if the exchange canceled the old one and
  refused the new). A trailing stop (the node moves it) and a leg of an exchange OCO are
  not modified: rejected with a reason. On a perpetual a resting limit is modified in
  place, a stop is not (`engine.runtime.live.amend`). Refused ones are stored, logged.
* ``execution.target_sizing = "fill"`` cannot be honoured (an exchange order's quantity
  is fixed when it is sent): `size_at_fill` raises `ConfigError`.
* Every order refused here before sending (a kind not sent, nothing to sell or pay with, a
  cut below the exchange's minimums, an OCO it cannot pair) is a rejected row, a cut one's
  row says why (`.refusals`); refusals, rejections and cuts go to the account's log
  (``notify``), and so do the risk and execution engines' denials of orders and
  modifications (heard on the bus: `own_events`).
* An order whose send left its outcome unknown (a timeout, a 5xx) is polled with the working
  orders before each bar, trade or quote (`_watch_unknown`): found, it is accepted with its
  fills; past the manager's ``settle_ms`` it is rejected as never placed — at the first
  bar after, not when the strategy happens to send its next order.
* Orders of an earlier run of the node are published only once `restore` took them over
  (``adopt``: the strategy's own working orders); others (another strategy's, the kill
  switch's, external ones) are not: reconciliation reports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from engine.bus import EventBus
from engine.clock import Clock
from engine.errors import ConfigError
from engine.execution.amend import amend_terms
from engine.execution.models import FeeModel, PercentFeeModel
from engine.model import (
    Bar,
    Instrument,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderTriggered,
    OrderType,
    QuoteTick,
    TradeTick,
)
from engine.runtime.live import refusals
from engine.runtime.live.expiry import Expiries, expiry_ns
from engine.runtime.live.groups import Leg, OcoGroups, OcoReady, pair
from engine.runtime.live.ledger import LiveStatus
from engine.runtime.live.modify import Modifications
from engine.runtime.live.orders import OrderManager, Update
from engine.runtime.live.sendable import order_spec, stop_to_send, takes, unsupported
from engine.runtime.live.trailing import Trailer
from engine.runtime.live.wallet import Wallet, kernel_fill
from engine.runtime.modes import RunMode, VenueParts

__all__ = ["LiveVenue", "kernel_fill", "live_mode"]


class LiveVenue:
    """Orders to an exchange through `OrderManager`; its answers as the kernel's events."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        manager: OrderManager,
        instruments: Mapping[str, Instrument],
        prices: Mapping[str, float] | None = None,
        *,
        fees: FeeModel | None = None,
        cash_shortfall: str = "reduce",
    ) -> None:
        """Publish on ``bus`` at ``clock``'s time; send through ``manager``.

        ``prices``: the last price the node saw per symbol (the kernel's cache; where a
        stop stands). ``fees`` (the run's fee model; None: no fee) and ``cash_shortfall``
        (``"reduce"`` or ``"cancel"``) decide how a buy the wallet cannot pay is cut or
        refused.
        """
        self._bus = bus
        self._clock = clock
        self._manager = manager
        self._instruments = instruments
        self._fees: FeeModel = fees if fees is not None else PercentFeeModel(0.0)
        self._cash_shortfall = cash_shortfall
        self.working: set[str] = set()  # engine order ids open at the exchange (or unknown)
        self._orders: dict[str, OrderRequested] = {}
        self._quantity: dict[str, float] = {}  # what the kernel holds as the order's quantity
        self._filled: dict[str, float] = {}
        self.prices: Mapping[str, float] = prices if prices is not None else {}
        self._accepted: set[str] = set()  # engine order ids the kernel heard accepted
        self.trailer = Trailer(manager, instruments, self._last)
        self._deferred: list[Update] = []  # a trailing move's fills, for the next poll
        self._groups = OcoGroups()
        self.expiries = Expiries()  # DAY/GTD orders (`engine.runtime.live.expiry`)
        self.modifications = Modifications(manager)
        self.wallet = Wallet(manager, instruments, self._fees, cash_shortfall)
        self._cuts: dict[str, str] = {}  # order id -> why the wallet cut it (until sent)
        # the account's log (events.jsonl): order refusals, rejections and cuts
        self.notify: Callable[..., None] = lambda kind, **data: None
        self._said: object = None  # the venue's own event being published (`_own`)

    # -- commands -------------------------------------------------------------------------

    def submit(self, order: OrderRequested) -> None:
        """Send ``order`` (market, limit, stop, stop-limit); publish the exchange's answer."""
        now = self._clock.timestamp_ns()
        perpetual = self._manager.exchange.perpetual(order.symbol)
        refused = unsupported(order, self._last(order.symbol), perpetual)
        expires = expiry_ns(order, now)
        if not refused and expires is not None and expires <= now:  # would fill, not expire
            refused = f"its expiry ({expires} ns) is not after now ({now} ns): nothing to send"
        if refused:
            self._refuse(order, refused, now, expires)
            return
        self._orders[order.order_id] = order
        self._quantity[order.order_id] = order.quantity
        self._filled[order.order_id] = 0.0
        if not perpetual and order.side is OrderSide.SELL:
            for exit_id in self.wallet.locking_exits(order, self._orders, self.working):
                if exit_id in self.working:  # a list's legs end together
                    self.cancel(exit_id)
        cap = self.wallet.cap(order, perpetual, self._stop_to_send(order), self._last(order.symbol))
        quantity, reduce_only = cap.quantity, cap.reduce_only
        if cap.refused:
            self._refuse(order, cap.refused, now, expires)
            return
        if quantity < order.quantity:
            self._modify(order, quantity, now)
            self._cuts[order.order_id] = cap.cut
        spec = None
        if order.order_type is not OrderType.TRAILING_STOP:  # its trailer builds its specs
            spec = order_spec(order, quantity, expires, reduce_only, self._stop_to_send(order))
        self.expiries.start(order.order_id, expires)
        leg = Leg(order, quantity, spec)
        if not order.oco_group:
            self._send(leg)
        elif self._groups.add(leg):  # the other legs follow in this delivery of the bus
            self._bus.publish(OcoReady(order.oco_group))

    def own_events(self) -> list[tuple[type, Callable[[Any], None]]]:
        """Return what the venue hears on the bus (`Kernel.wire`): OCO markers, denials."""
        return [(OcoReady, self.on_oco_ready), (OrderDenied, self.on_order_denied),
                (OrderModifyRejected, self.on_modify_rejected)]  # fmt: skip

    def on_modify_rejected(self, event: OrderModifyRejected) -> None:
        """Log a modification refused before the venue (`.refusals.note_modify_denied`)."""
        if event is not self._said:  # the venue's own are logged where they are decided
            refusals.note_modify_denied(self.notify, event)

    def on_order_denied(self, event: OrderDenied) -> None:
        """Log an order the risk engine refused before it reached the venue (``notify``)."""
        refusals.note_denied(self.notify, event)

    def on_oco_ready(self, event: OcoReady) -> None:
        """Send a one-cancels-other group once all its legs arrived (see `groups`)."""
        legs = self._groups.take(event.group)
        if len(legs) == 1:
            self._send(legs[0])
            return
        found = pair(legs)
        now = self._clock.timestamp_ns()
        if isinstance(found, str):
            for leg in legs:
                self._refuse(leg.order, found, now, self.expiries.at.get(leg.order.order_id))
            return
        stop, target = found
        assert stop.spec is not None
        assert target.spec is not None
        last = self._last(stop.order.symbol)
        sell = stop.order.side is OrderSide.SELL
        assert target.order.limit_price is not None
        taken = math.isfinite(last) and (
            last >= target.order.limit_price if sell else last <= target.order.limit_price
        )
        # One leg the last price is through goes alone, as the backtest fills it at the next
        # open: a stop as its market (or limit) order, a take-profit as a limit that takes.
        alone, other = (stop, target) if stop.spec.stop_price is None else (target, stop)
        if stop.spec.stop_price is None or taken:
            why = f"oco: {alone.order.order_id} was sent alone, the last price is through it"
            sid, symbol = other.order.strategy_id, other.order.symbol
            self._bus.publish(OrderCanceled(other.order.order_id, sid, symbol, why, now, now))
            self._send(alone)
            return
        legs_sent = ((stop.order.order_id, stop.spec), (target.order.order_id, target.spec))
        self._publish(self._manager.submit_oco(stop.order.strategy_id, *legs_sent))
        self._after_send(stop.order.order_id, target.order.order_id)

    def cancel(self, order_id: str, reason: str = "") -> None:
        """Cancel ``order_id`` at the exchange; publish how it ended (maybe filled).

        A trailing stop's current exchange order is canceled; a leg of an OCO cancels both
        legs (the exchange cancels the whole list).
        """
        if order_id in self.trailer:
            self._publish(self.trailer.cancel(order_id))
            return
        self._publish(self._manager.cancel(order_id))

    def modify(
        self,
        order_id: str,
        quantity: float | None,
        limit_price: float | None,
        stop_price: float | None,
    ) -> None:
        """Send a working order's new terms (`.modify`; a perpetual's in place: `.amend`);
        publish `OrderModified` once the exchange took them, else why not."""
        order = self._orders.get(order_id)
        now = self._clock.timestamp_ns()
        expiring = order_id in self.expiries.expiring  # gone there; expires with the next bar
        if order is not None and order_id in self.working and not expiring:
            self.poll()  # its latest fills first: the new order is for what is left
        problem = "order is not working"
        if order is not None and order_id in self.working:
            new, problem = amend_terms(order, self._filled[order_id],
                                       self._instruments[order.symbol], quantity, limit_price,
                                       stop_price)  # fmt: skip
            if not expiring:
                problem = problem or self._unmodifiable(order_id, new)
            elif limit_price is not None:  # the backtest's rules only: nothing is sent
                problem = problem or takes(new, self._last(new.symbol))
        if order is None or problem:  # stored and logged, as a refused order (`.refusals`)
            refusals.trace_modification(self._manager, self.notify, order_id, order,
                                        (quantity, limit_price, stop_price), problem)  # fmt: skip
            symbol, strategy = (order.symbol, order.strategy_id) if order else ("", "")
            self._own(OrderModifyRejected(order_id, strategy, symbol, problem, now, now))
            return
        if expiring:  # answered as the backtest answers it (`engine.runtime.live.expiry`)
            self._orders[order_id] = new
            self._modify(new, new.quantity, now)
            return
        leaves = new.quantity - self._filled[order_id]
        spec = order_spec(
            new, leaves, self.expiries.at.get(order_id), False, self._stop_to_send(new)
        )
        self._publish(self.modifications.send(new, spec))

    def size_at_fill(self, order_id: str, fraction: float) -> None:
        """Refuse: live orders are sized when sent (``target_sizing = "decision"``)."""
        raise ConfigError(
            'execution.target_sizing = "fill" cannot be used live: an exchange order\'s '
            'quantity is fixed when it is sent; set target_sizing = "decision"'
        )

    # -- market data: poll the working orders ---------------------------------------------

    def process_bar(self, bar: Bar) -> None:
        """Read the working orders' fills before strategies see ``bar``, then move the
        trailing stops by its high (sells) / low (buys)."""
        self.poll()
        if self.trailer.trails:
            self._follow(self.trailer.follow(bar.symbol, bar.high, bar.low, bar.close))

    def process_trade(self, tick: TradeTick) -> None:
        """Read the working orders' fills before strategies see ``tick``; trail by it."""
        self.poll()
        if self.trailer.trails:
            price = tick.price
            self._follow(self.trailer.follow(tick.symbol, price, price, price))

    def process_quote(self, quote: QuoteTick) -> None:
        """Read the working orders' fills before strategies see ``quote``; trail by it
        (a sell by the bid, a buy by the ask)."""
        self.poll()
        if self.trailer.trails:
            bid, ask = quote.bid_price, quote.ask_price
            self._follow(self.trailer.follow(quote.symbol, bid, ask, (bid + ask) / 2))

    def poll(self) -> None:
        """Publish whatever happened to the working orders since the last look."""
        if self.working:
            deferred, self._deferred = self._deferred, []
            self._publish(deferred)
            self._publish(self.trailer.settle())
            updates = self._manager.refresh_open()
            # an OCO leg the exchange expired because the other filled: after that fill
            updates.sort(key=lambda u: u.kind == "expired" and bool(u.order.list_id))
            self._publish(updates)
            for order_id in self.expiries.due(self._clock.timestamp_ns()):
                if order_id in self.working:  # canceled now: `OrderExpired` when confirmed
                    self._publish(self._manager.cancel(order_id))

    def report(self, updates: list[Update]) -> None:
        """Publish ``updates`` that arrived between market data (the user-data stream, a
        reconciliation) through `TradingNode.deliver`; a half-done trailing move first."""
        deferred, self._deferred = self._deferred, []
        self._publish(deferred)  # the bar that held them back was seen by then
        self._publish(self.trailer.settle())
        self._publish(updates)

    def knows(self, order_id: str) -> bool:
        """True if the kernel holds ``order_id`` (submitted or adopted by this process)."""
        return order_id in self._orders

    # -- internals ------------------------------------------------------------------------

    def _unmodifiable(self, order_id: str, new: OrderRequested) -> str:
        """Return why ``order_id`` cannot take the terms ``new`` live ("" if it can)."""
        if order_id in self.trailer:
            return "a live trailing stop cannot be modified (the node moves it): cancel it"
        current = self.modifications.working(order_id)
        if current is None:
            return "its exchange order is not open (its outcome is unknown): try again"
        if self._manager.exchange.perpetual(new.symbol):
            return self.modifications.unamendable(new, current, self._last(new.symbol))
        if current.list_id:  # a group of one was sent plainly: that one can be replaced
            return "a leg of an exchange OCO cannot be modified: cancel the pair, place anew"
        taking = takes(new, self._last(new.symbol))
        if taking:
            return taking
        return self.wallet.refit(new, new.quantity - self._filled[order_id], current)

    def _stop_to_send(self, order: OrderRequested) -> float | None:
        """Return the stop price to send (`engine.runtime.live.sendable.stop_to_send`)."""
        return stop_to_send(order, self.prices.get(order.symbol))

    def _reject(self, order: OrderRequested, reason: str, now: int, kind: str = "rejected") -> None:
        """Publish `OrderRejected` and log it (``order_<kind>``)."""
        event = OrderRejected(order.order_id, order.strategy_id, order.symbol, reason, now, now)
        self._bus.publish(event)
        self.notify(f"order_{kind}", order_id=order.order_id, strategy_id=order.strategy_id,
                    symbol=order.symbol, reason=reason)  # fmt: skip

    def _refuse(self, order: OrderRequested, reason: str, now: int, expires: int | None) -> None:
        """Reject ``order`` before sending it: stored, logged, published (`.refusals`)."""
        refusals.record_refusal(self._manager, order, reason, expires)
        self._reject(order, reason, now, "refused")

    def _modify(self, order: OrderRequested, quantity: float, now: int) -> None:
        self._quantity[order.order_id] = quantity
        self._bus.publish(OrderModified(order.order_id, order.strategy_id, order.symbol,
                                        quantity, order.limit_price, order.stop_price, now,
                                        now))  # fmt: skip

    def _follow(self, updates: list[Update]) -> None:
        """Publish a trailing move's updates; hold its fills until the next poll (a move
        happens after a bar: a stop the market is through fills at the next open, where the
        backtest fills it too — when the next bar is matched, not before this bar's hooks)."""
        self._publish([u for u in updates if u.kind != "filled"])
        self._deferred += [u for u in updates if u.kind == "filled"]

    def _send(self, leg: Leg) -> None:
        """Send one order alone (a trailing stop through its trailer)."""
        order = leg.order
        if leg.spec is None:
            self._publish(self.trailer.start(order, leg.quantity))
        else:
            self._publish(self._manager.submit(order.order_id, order.strategy_id, leg.spec))
        self._after_send(order.order_id)

    def _after_send(self, *order_ids: str) -> None:
        """Write why the wallet cut each of ``order_ids`` on its row and log it
        (`.refusals.note_cut`); poll at every bar those whose outcome the send left unknown,
        until accepted or (past ``settle_ms``) rejected (audit F4: one stayed so 103 s)."""
        for order_id in order_ids:
            if order_id in self._cuts:
                refusals.note_cut(self._manager, self.notify, self._orders[order_id],
                         self._quantity[order_id], self._cuts.pop(order_id))  # fmt: skip
            if order_id in self.working or order_id in self._accepted:
                continue  # answered: nothing unknown about it
            record = self._manager.current(order_id)
            if record is not None and record.status in (LiveStatus.UNKNOWN, LiveStatus.SENDING):
                self.working.add(order_id)

    def _own(self, event: Any) -> None:
        """Publish the venue's own ``event`` (its refusals are logged already)."""
        self._said = event
        self._bus.publish(event)

    def _last(self, symbol: str) -> float:
        return self.prices.get(symbol, math.nan)

    def _publish(self, updates: list[Update]) -> None:
        for update in updates:
            order = self._orders.get(update.order.order_id)
            if order is None or self.trailer.hides(update):
                continue  # not submitted by this process (see the module docstring)
            now = self._clock.timestamp_ns()
            oid, sid, symbol = order.order_id, order.strategy_id, order.symbol
            kind = update.kind
            if kind in ("amended", "amend_rejected", "amend_canceled"):  # a perpetual's
                event, new = self.modifications.answer(order, update, now, self.notify)
                if new is not None:
                    self._orders[oid], self._quantity[oid] = new, new.quantity
                if kind == "amend_canceled":
                    self.working.discard(oid)
                    self.expiries.end(oid)
                self._own(event)
                continue
            if (update.order.replaces or kind == "canceled") and self._modified(update, now):
                continue
            if kind == "accepted":
                self.working.add(oid)
                if oid not in self._accepted:  # a trailing stop's later links: once only
                    self._accepted.add(oid)
                    self._bus.publish(OrderAccepted(oid, sid, symbol, now, now))
                    self._triggered(order, update, now)
            elif kind == "filled" and update.fill is not None:
                self._fill(order, update, now)
            elif kind == "canceled" and oid in self.expiries.expiring:
                if self.expiries.hold(oid):  # heard with the next bar, as the backtest's
                    self._deferred.append(update)
                    continue
                self.working.discard(oid)
                self._bus.publish(OrderExpired(oid, sid, symbol, now, now))
            elif kind == "canceled" or (kind == "expired" and update.order.list_id):
                self.working.discard(oid)
                why = "oco: the other leg filled" if kind == "expired" else "canceled"
                self._bus.publish(OrderCanceled(oid, sid, symbol, why, now, now))
            elif kind == "expired":
                self.working.discard(oid)
                self._bus.publish(OrderExpired(oid, sid, symbol, now, now))
            elif (
                kind == "rejected" and oid in self.trailer and "never placed" in update.order.reason
            ):
                self._publish(self.trailer.resend(oid))  # a link lost in flight: sent anew
                continue
            elif kind == "rejected" and oid in self._accepted:  # a trailing stop's new link
                self.working.discard(oid)
                reason = f"trailing stop: its moved stop was refused: {update.order.reason}"
                self._bus.publish(OrderCanceled(oid, sid, symbol, reason, now, now))
            elif kind == "rejected":
                self.working.discard(oid)
                self._reject(order, update.order.reason, now)
            if oid in self.trailer and oid not in self.working and kind != "accepted":
                self.trailer.end(oid)
            if oid not in self.working and kind != "accepted":
                self.expiries.end(oid)

    def _triggered(self, order: OrderRequested, update: Update, now: int) -> None:
        """`OrderTriggered` for a stop-limit sent as its limit order, as the backtest's."""
        if order.order_type is OrderType.STOP_LIMIT and update.order.stop_price is None:
            oid, sid, symbol = order.order_id, order.strategy_id, order.symbol
            self._bus.publish(OrderTriggered(oid, sid, symbol, now, now))

    def _modified(self, update: Update, now: int) -> bool:
        """Publish what ``update`` of a modification means (`engine.runtime.live.modify`);
        False: it is an ordinary update."""
        oid = update.order.order_id
        order = self._orders[oid]
        outcome = self.modifications.outcome(update, lambda: order, self.notify)
        sid, symbol = order.strategy_id, order.symbol
        if outcome.kind == "modified" and outcome.request is not None:
            self.working.add(oid)
            new = outcome.request._replace(quantity=self._filled[oid] + update.order.quantity)
            self._orders[oid] = new
            self._quantity[oid] = new.quantity
            self._bus.publish(OrderModified(oid, sid, symbol, new.quantity, new.limit_price,
                                            new.stop_price, now, now))  # fmt: skip
            self._triggered(new, update, now)
        elif outcome.kind == "modify_rejected":
            self._own(OrderModifyRejected(oid, sid, symbol, outcome.reason, now, now))
        elif outcome.kind == "canceled":
            self.working.discard(oid)
            self.expiries.end(oid)
            self._bus.publish(OrderCanceled(oid, sid, symbol, outcome.reason, now, now))
        return outcome.kind != "publish"

    def adopt(
        self,
        order: OrderRequested,
        quantity: float,
        filled: float,
        working: bool,
        accepted: bool = True,
    ) -> None:
        """Take over ``order``, placed before this process started (`restore`).

        ``quantity``, ``filled``: the kernel's (base fees applied: `kernel_fill`);
        ``working``: open or unknown, polled at each bar; ``accepted``: booked accepted (False:
        the kernel hears its acceptance when the exchange's answer is found)."""
        self._orders[order.order_id] = order
        self._quantity[order.order_id] = quantity
        self._filled[order.order_id] = filled
        if accepted:
            self._accepted.add(order.order_id)  # booked at its state: no second acceptance
        if working:
            self.working.add(order.order_id)
            self.expiries.start(order.order_id, order.expire_time_ns)

    def adopted_request(self, order_id: str) -> OrderRequested:
        """Return the request of ``order_id`` as `adopt` booked it."""
        return self._orders[order_id]

    def _fill(self, order: OrderRequested, update: Update, now: int) -> None:
        fill = update.fill
        assert fill is not None
        oid = order.order_id
        quantity, fee, held = kernel_fill(fill, self._instruments[order.symbol])
        if held:
            self._modify(order, self._quantity[oid] - held, now)
        self._filled[oid] += quantity
        leaves = max(self._quantity[oid] - self._filled[oid], 0.0)
        if leaves <= self._quantity[oid] * 1e-9:
            leaves = 0.0
            self.working.discard(oid)
        self._bus.publish(OrderFilled(oid, order.strategy_id, f"X-{fill.trade_id}", order.symbol,
                                      order.side, quantity, fill.price, fee, fill.liquidity,
                                      leaves, now, now))  # fmt: skip


def live_mode(manager: OrderManager) -> RunMode:
    """Return the node's run mode whose venue sends orders through ``manager``."""

    def venue(parts: VenueParts) -> LiveVenue:
        return LiveVenue(
            parts.bus,
            parts.clock,
            manager,
            parts.instruments,
            parts.prices,
            fees=parts.fee_model,
            cash_shortfall=parts.settings.cash_shortfall,
        )

    return RunMode("live", streaming=True, snapshots=True, venue=venue)
