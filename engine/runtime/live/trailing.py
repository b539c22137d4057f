"""Node-managed trailing stops: a plain exchange stop that the node moves, as the backtest trails.

Why not Binance's own trailing stop (``trailingDelta``): it trails in basis points from the
price at which it is *activated* and triggers on the exchange's ticks; the backtest's
trailing stop (`engine.execution.broker`) starts ``trailing_offset`` from the last close at
acceptance (or at the given stop) and follows the best high (sells) or low (buys) of the bars
since, by a price amount or a percent, on the tick grid. A native order would fill elsewhere
than the backtest. So the node does what NautilusTrader's order emulator does: it holds a
real STOP_LOSS at the exchange (a stop-market; Binance locks its funds at placement) and
moves it — one rule for both, `engine.execution.matching.trail_step`.

In: the venue's trailing stop orders (`Trailer.start`), the prices the node sees
(`Trailer.follow`: a bar's high for a sell, its low for a buy, after the bar was matched at
the exchange, as the backtest checks a bar before the bar moves the stop; a trade's price; a
quote's bid for a sell, its ask for a buy). Out: the order manager's `Update`s, and the chain
of exchange orders in the store.

The chain: a trailing stop is one engine order and a chain of exchange stop orders ("links"
0, 1, ...). Link n's client id is the order manager's deterministic id of
``"<order id>#<n>"`` (link 0: of the order id itself) in the session that sent it. A move:

1. the new best, stop, link number and the new link's client id are written to
   ``live_trails`` with ``state = "replacing"`` and ``replaces`` = the old link's client id
   (committed before anything is sent);
2. the old link is canceled (the exchange's truth: a cancel that meets a fill reports the
   fill, and the move ends there — the position is closed);
3. the new link is sent under the client id written in 1. (its row is committed first, as
   every order's); a stop the last price seen is already through is sent as a market
   order (the backtest fills it at the next open), and one the exchange refuses as
   "would trigger immediately" is sent as a market order as the next link (the chain's
   own stand-in, not the order manager's `engine.runtime.live.triggered`: a link is named
   in ``live_trails`` first, which settles a crash);
4. ``state = "working"``.

Spot locks the stop's base asset, so the new link can only be placed once the old one is
canceled: for the few milliseconds between 2. and 3. the position has no stop. On a USDⓈ-M
perpetual the links are Binance algo orders (`engine.adapters.ccxt.algo`), sent
``reduceOnly`` when they close the position (`Trailer._reduces`, the venue's rule), and a
reduce-only stop locks nothing, so the new link could go first; the order is kept the same
there all the same: cancel first can never leave two live links, and a link that is not
reduce-only (a trailing entry) could otherwise fill twice and double or flip the position;
a crash between 2. and 3. is finished by `settle` (the new link is sent), so there is never
none once settled. A crash at
any point leaves the store saying what to do, and `Trailer.settle` (run on a restart's first
report or poll, `engine.runtime.live.restore`) finishes the move: canceling a link that is
already final is a no-op, sending a link whose row exists reads it instead (found by client
id, or UNKNOWN until it is), so a crash never leaves two stops, and never none once settled.

The kernel sees one order: the first link's acceptance, its links' fills, the cancel or
end; the links replaced in between are not published (`Trailer.hides`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from engine.adapters.ccxt.contract import would_trigger
from engine.adapters.ccxt.venue import OrderSpec
from engine.execution.matching import trail_step, trailing_level
from engine.model import Instrument, OrderRequested, OrderSide
from engine.runtime.live.ledger import LiveOrder, LiveStatus, StoredTrail
from engine.runtime.live.orders import OrderManager, Update

__all__ = ["Trailer"]

_OPEN = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED)


class Trailer:
    """The node's trailing stops: their state, their moves, their chains (see the module)."""

    def __init__(
        self,
        manager: OrderManager,
        instruments: Mapping[str, Instrument],
        last_price: Callable[[str], float],
    ) -> None:
        """Send through ``manager``; ``last_price(symbol)``: the last price the node saw."""
        self.manager = manager
        self.instruments = instruments
        self.last_price = last_price
        self.trails: dict[str, StoredTrail] = {}  # engine order id -> its trail (active)
        self.orders: dict[str, OrderRequested] = {}
        self.quantity: dict[str, float] = {}  # what the exchange stop is for
        self.seen: dict[str, float] = {}  # the latest price per symbol given to `follow`

    def __contains__(self, order_id: object) -> bool:
        """True while ``order_id`` is an active trailing stop."""
        return order_id in self.trails

    # -- placing and following ------------------------------------------------------------

    def start(self, order: OrderRequested, quantity: float) -> list[Update]:
        """Place trailing stop ``order`` for ``quantity`` as link 0; return the updates.

        The stop starts at ``order.stop_price`` if given, else ``trailing_offset`` from the
        last price (`engine.execution.broker`'s start); the venue refuses one with neither.
        """
        last = self.last_price(order.symbol)
        self.seen[order.symbol] = last
        instrument = self.instruments[order.symbol]
        stop = order.stop_price
        if stop is None:
            stop = trailing_level(order, last, instrument)
        client_id = self._client_id(order.order_id, 0)
        trail = StoredTrail(order.order_id, float(order.trailing_offset or 0.0),
                            str(order.trailing_offset_type), last, stop, 0, client_id, "",
                            "working")  # fmt: skip
        self.manager.ledger.save_trail(trail)  # before link 0 is sent
        self.resume(trail, order, quantity)
        return self._send(trail)

    def resume(self, trail: StoredTrail, order: OrderRequested, quantity: float) -> None:
        """Hold ``trail`` of ``order`` (``quantity`` at the exchange): a start or a restart."""
        self.trails[order.order_id] = trail
        self.orders[order.order_id] = order
        self.quantity[order.order_id] = quantity

    def follow(self, symbol: str, sell: float, buy: float, last: float) -> list[Update]:
        """Let ``symbol``'s trailing stops see the market; move those whose stop moved.

        ``sell`` / ``buy``: the price a sell / buy stop trails (a bar's high / low, a
        trade's price, a quote's bid / ask); ``last``: the latest price (a bar's close): a
        new stop it is already through is sent as a market order.
        """
        self.seen[symbol] = last
        updates: list[Update] = []
        for order_id, trail in list(self.trails.items()):
            order = self.orders[order_id]
            if order.symbol != symbol or trail.state != "working":
                continue
            instrument = self.instruments[symbol]
            price = buy if order.side is OrderSide.BUY else sell
            best, stop = trail_step(order, trail.best, trail.stop, price, instrument)
            if stop != trail.stop:
                updates += self._move(trail, best, stop)
            elif best != trail.best:
                self._save(trail.but(best=best))
        return updates

    def settle(self) -> list[Update]:
        """Finish every move a crash or a failed cancel left half done (see the module)."""
        updates: list[Update] = []
        for trail in list(self.trails.values()):
            if trail.state == "replacing":
                updates += self._finish(trail)
        return updates

    def resend(self, order_id: str) -> list[Update]:
        """Send trailing stop ``order_id`` as a new link: its current one was never placed
        (the order manager gave it up, UNKNOWN past ``settle_ms``)."""
        trail = self.trails[order_id]
        link = trail.link + 1
        fresh = trail.but(link=link, client_id=self._client_id(order_id, link), replaces="",
                          state="replacing")  # fmt: skip
        self._save(fresh)
        return self._send(fresh)

    def cancel(self, order_id: str) -> list[Update]:
        """Cancel trailing stop ``order_id``'s exchange order(s); return what happened."""
        trail = self.trails[order_id]
        ledger = self.manager.ledger
        updates: list[Update] = []
        self._save(trail.but(state="done"))
        for client_id in (trail.replaces, trail.client_id):
            record = ledger.get(client_id) if client_id else None
            if record is not None:
                updates += self.manager.cancel_record(record)
        return updates

    def end(self, order_id: str) -> None:
        """Forget ``order_id`` once its end was published (filled, canceled, rejected)."""
        trail = self.trails.pop(order_id, None)
        if trail is not None and trail.state != "done":
            self.manager.ledger.save_trail(trail.but(state="done"))

    def hides(self, update: Update) -> bool:
        """True if ``update`` is of a link the kernel must not hear of (see the module).

        Those are the replaced links' ends (canceled, expired, a refusal sent on as a
        market order) and any link's acceptance after the first.
        """
        trail = self.trails.get(update.order.order_id)
        if trail is None or update.kind in ("filled", "accepted"):
            return False  # the venue publishes an order's acceptance once
        return update.order.client_id != trail.client_id

    # -- internals ------------------------------------------------------------------------

    def _client_id(self, order_id: str, link: int) -> str:
        name = order_id if link == 0 else f"{order_id}#{link}"
        return self.manager.client_id(name)

    def _save(self, trail: StoredTrail) -> None:
        """Write ``trail``; a done one stays held until `end` (its updates are sorted by it)."""
        self.manager.ledger.save_trail(trail)
        self.trails[trail.order_id] = trail

    def _move(self, trail: StoredTrail, best: float, stop: float) -> list[Update]:
        link = trail.link + 1
        moved = trail.but(best=best, stop=stop, link=link, replaces=trail.client_id,
                          client_id=self._client_id(trail.order_id, link),
                          state="replacing")  # fmt: skip
        self._save(moved)  # 1. committed before the old link is touched
        return self._finish(moved)

    def _finish(self, trail: StoredTrail) -> list[Update]:
        ledger = self.manager.ledger
        updates: list[Update] = []
        old = ledger.get(trail.replaces) if trail.replaces else None
        if old is not None:
            updates += self.manager.cancel_record(old)  # 2. (a no-op once final)
            old = ledger.get(old.client_id) or old
            if old.status in _OPEN or old.status in (LiveStatus.UNKNOWN, LiveStatus.SENDING):
                return updates  # not ended yet: tried again at the next settle
        if self._leaves(trail.order_id) <= 0:
            self._save(trail.but(state="done"))  # the old link filled: nothing to protect
            return updates
        updates += self._send(trail)  # 3.
        return updates

    def _send(self, trail: StoredTrail) -> list[Update]:
        """Send ``trail``'s current link; a refused stop goes on as a market order."""
        order = self.orders[trail.order_id]
        spec = self._spec(order, trail)  # refused as triggered: the next link, not a stand-in
        updates = self.manager.submit(
            order.order_id, order.strategy_id, spec, trail.client_id, fallback=False
        )
        sent = self.manager.ledger.get(trail.client_id)
        if sent is not None and sent.status is LiveStatus.REJECTED and would_trigger(sent.reason):
            link = trail.link + 1
            market = trail.but(link=link, client_id=self._client_id(trail.order_id, link),
                               replaces=sent.client_id, state="replacing")  # fmt: skip
            self._save(market)
            spec = self._spec(order, market, market_order=True)
            updates += self.manager.submit(
                order.order_id, order.strategy_id, spec, market.client_id
            )
            trail = market
        current = self.manager.ledger.get(trail.client_id)
        final = current is not None and current.status.final
        self._save(trail.but(replaces="", state="done" if final else "working"))
        return updates

    def _spec(
        self, order: OrderRequested, trail: StoredTrail, market_order: bool = False
    ) -> OrderSpec:
        last = self.seen.get(order.symbol, math.nan)
        buy = order.side is OrderSide.BUY
        through = math.isfinite(last) and (last >= trail.stop if buy else last <= trail.stop)
        stop = None if market_order or through else trail.stop
        quantity = self._leaves(order.order_id)
        return OrderSpec("", order.symbol, str(order.side).lower(), "market", quantity,
                         None, "GTC", stop, self._reduces(order, quantity))  # fmt: skip

    def _reduces(self, order: OrderRequested, quantity: float) -> bool:
        """True if a link of ``order`` goes reduce-only: on a perpetual, when it closes
        (part of) the position at the exchange, the venue's rule (`Wallet.reducing`), or
        when an earlier link went out so (another exit may have closed the position since:
        the next link must not open the other side)."""
        exchange = self.manager.exchange
        if not exchange.perpetual(order.symbol):
            return False
        if any(o.reduce_only for o in self.manager.ledger.orders(order_id=order.order_id)):
            return True
        held = exchange.positions([order.symbol])[order.symbol].quantity
        closing = held != 0.0 and (held > 0) != (order.side is OrderSide.BUY)
        return order.reduce_only or (closing and quantity <= abs(held) * (1 + 1e-9))

    def _leaves(self, order_id: str) -> float:
        """Return what the chain has still to fill (its quantity less every link's fills)."""
        links: list[LiveOrder] = self.manager.ledger.orders(order_id=order_id)
        filled = sum(o.filled_quantity for o in links)
        lot = self.instruments[self.orders[order_id].symbol].lot_size
        leaves = self.quantity[order_id] - filled
        return round(math.floor(leaves / lot + 1e-9) * lot, 12) if leaves > lot * 1e-9 else 0.0
