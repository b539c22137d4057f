"""The live node's user-data stream: fills and cancels between bars, stalls caught by a REST
cross-check, reconciliation after every reconnect.

In: a `UserStream` (`engine.adapters.ccxt.user`), the order manager, the traded instruments,
``publish(updates)`` (hands the manager's updates to the node as order events) and
``note(kind, **data)`` (a line of the node's events.jsonl). Out: nothing returned; `run`
goes on until cancelled, or raises: `ExchangeFatalError` when a reconciliation meets a
wallet it cannot explain (the manager is halted, the report is the message, as on start),
or the engine error of whatever else the contract says stops the node.

One session after another:

1. **Subscribe.** A failure that is transient is tried again after a pause doubling from
   ``backoff_s`` up to ``max_pause_s``; ``max_failures`` failures in a row (subscriptions
   refused, or sessions dropped before delivering anything) raise `ExchangeTransientError`.
2. **Reconcile** (from the second subscription on; the node reconciled before the first):
   `engine.runtime.live.reconcile.reconcile`, the start's, adopts what the gap hid — a fill
   while disconnected is recorded once (the ledger keys fills by trade id) and published.
3. **Watch.** Every report goes through `OrderManager.apply` (the REST answer's path: ids,
   trade-id dedup, the store) and its updates to the node at once, between bars.
4. **Cross-check.** A healthy user stream is silent while nothing happens, so silence
   proves nothing. Every ``check_every_s`` the exchange is asked over REST for the
   account's trades since the session began (``myTrades``, every page: from the last trade
   id + 1, as reconciliation pages, `engine.runtime.live.reconcile.account_trades`; one
   page by time left all but 500 trades of one millisecond unchecked) and its open
   orders: a trade the stream has not carried, or an order that left the open list with
   no final report on the stream, that is still missing ``grace_s`` later makes the
   stream **stale**.
5. **Stale or dropped** (a ccxt ``NetworkError``, which is also how a failed keep-alive
   ping ends): logged (``user_stream_stale`` / ``user_stream_dropped``), the connection
   closed, and back to 1 — a new subscription (Binance spot's websocket API subscribes
   with a signature; where a venue uses a listenKey ccxt asks for a new one), then step 2.

Defaults: a cross-check every 30 s (per symbol ``myTrades`` + ``openOrders``: request
weight 26 on Binance, about 0.01% of its 6,000 a minute), 5 s of grace (a report is pushed
when its trade happens; REST can only see it after that).

Everything here runs on the node's event loop; the manager's REST calls are synchronous, so
nothing else touches the manager or the node while one runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.adapters.ccxt.user import OrderEvent, UserStream
from engine.adapters.ccxt.venue import ExchangeOrder
from engine.errors import ExchangeFatalError, ExchangeTransientError
from engine.model import Instrument
from engine.runtime.live.orders import OrderManager, Update
from engine.runtime.live.reconcile import Reconciliation, account_trades, reconcile

__all__ = ["OUTSIDE_TRADE", "StreamOptions", "StreamStats", "UserDataMonitor"]

#: Why a reconciliation ran (``after`` of its events.jsonl record) when the stream reported
#: a trade of an order the node did not place.
OUTSIDE_TRADE = "a trade of an order placed outside the node"

log = logging.getLogger("engine.runtime.live.stream")


@dataclass(frozen=True)
class StreamOptions:
    """How the user-data stream is checked and recovered (see the module)."""

    check_every_s: float = 30.0
    grace_s: float = 5.0
    backoff_s: float = 0.5
    max_pause_s: float = 30.0
    max_failures: int = 20


@dataclass
class StreamStats:
    """What the user-data stream went through (for the node's stop record)."""

    subscriptions: int = 0
    reports: int = 0
    drops: int = 0
    stale: int = 0
    checks: int = 0
    reconciles: int = 0


class UserDataMonitor:
    """Keeps one account's user-data stream flowing into the order manager."""

    def __init__(
        self,
        stream: UserStream,
        manager: OrderManager,
        instruments: Mapping[str, Instrument],
        publish: Callable[[list[Update]], None],
        note: Callable[..., None],
        options: StreamOptions | None = None,
        initial_cash: float | None = None,
    ) -> None:
        """Feed ``stream``'s reports to ``manager``; hand the updates to ``publish``;
        ``initial_cash`` (the node's) checks a spot account's cash at each reconciliation."""
        self.stream = stream
        self.manager = manager
        self.instruments = instruments
        self.publish = publish
        self.note = note
        self.options = options or StreamOptions()
        self.initial_cash = initial_cash
        self.stats = StreamStats()
        self.subscribed = asyncio.Event()  # set while a subscription is live
        self._since_ms = 0  # exchange time the session began (the cross-check's window)
        self._before: set[str] = set()  # trade ids known when the session began
        self._delivered: set[str] = set()  # trade ids the stream carried
        self._finished: set[str] = set()  # exchange order ids the stream reported not open
        self._open: set[str] = set()  # exchange order ids open at the last cross-check
        self._unreported: set[str] = set()  # closed at the exchange, not on the stream yet

    # -- the sessions ---------------------------------------------------------------------

    async def run(self) -> None:
        """Subscribe, watch and cross-check, again after every drop or stall (the module)."""
        failures = 0
        while True:
            try:
                since_ms = self.manager.exchange.server_time_ms()
                await self.stream.subscribe()
            except ExchangeTransientError as error:
                failures += 1
                if failures >= self.options.max_failures:
                    raise ExchangeTransientError(
                        f"{error} (gave up after {failures} subscriptions)"
                    ) from None
                await asyncio.sleep(self._pause(failures))
                continue
            self.stats.subscriptions += 1
            if self.stats.subscriptions > 1:
                self.reconcile("the user-data stream reconnected")
            self._begin(since_ms)
            self.subscribed.set()
            reports = self.stats.reports
            why = await self._session()
            self.subscribed.clear()
            await self.stream.drop(why)
            if not why.startswith("dropped"):
                failures = 0  # stale: the exchange answered, the connection did not
            else:  # a drop after the stream delivered something starts the count afresh
                failures = 1 if self.stats.reports > reports else failures + 1
                if failures >= self.options.max_failures:
                    raise ExchangeTransientError(
                        f"user-data stream {why} (gave up after {failures} drops in a row)"
                    )
            await asyncio.sleep(self._pause(max(failures, 1)))

    def reconcile(self, why: str) -> Reconciliation:
        """Reconcile as on start; publish what it adopted; halt on what it cannot explain.

        Raises:
            ExchangeFatalError: The wallet differs from what the store explains (the report
                is the message); the manager is halted first.
        """
        try:
            result = reconcile(self.manager, self.instruments, initial_cash=self.initial_cash)
        except ExchangeFatalError as error:
            self.manager.halted = str(error)
            self.note("halt", reason=str(error), after=why)
            raise
        self.stats.reconciles += 1
        self.note("reconciled", after=why, adopted=result.adopted, external=result.external)
        log.warning("%s: %s", why, result.summary())
        if result.updates:
            self.publish(result.updates)
        return result

    def _pause(self, failures: int) -> float:
        options = self.options
        return float(min(options.backoff_s * 2.0 ** (failures - 1), options.max_pause_s))

    def _begin(self, since_ms: int) -> None:
        """Start a session's cross-check: what the exchange shows now is not the stream's."""
        exchange = self.manager.exchange
        symbols = sorted(self.instruments)
        self._since_ms = since_ms
        self._before = {f.trade_id for f in self.manager.ledger.fills()}
        shown = [t for s in symbols for t in account_trades(exchange, s, since_ms)]
        self._before |= {t.trade_id for t in shown}
        self._open = {o.exchange_id for s in symbols for o in exchange.open_orders(s)}
        self._unreported = set()

    async def _session(self) -> str:
        """Watch and cross-check until one of them ends the session; return why."""
        watcher = asyncio.ensure_future(self._watch())
        checker = asyncio.ensure_future(self._check())
        try:
            done, _ = await asyncio.wait({watcher, checker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (watcher, checker):
                task.cancel()
            for task in (watcher, checker):
                with contextlib.suppress(asyncio.CancelledError, ExchangeTransientError):
                    await task
        if checker in done:
            why = f"stale: {checker.result()}"  # raises what the cross-check raised
            self.stats.stale += 1
            self.note("user_stream_stale", reason=why)
        else:
            try:
                watcher.result()
            except ExchangeTransientError as error:
                why = f"dropped: {error}"
                self.stats.drops += 1
                self.note("user_stream_dropped", reason=why)
        log.warning("%s: user-data stream %s; subscribing again", self.stream.name, why)
        return why

    # -- the watch ------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            self.apply(await self.stream.next())

    def apply(self, events: list[OrderEvent]) -> None:
        """Bring the manager up to ``events`` (reports of the stream); publish the updates.

        A trade of an order that is not the node's (placed by hand, or by another program on
        the account) sets off a reconciliation at once, which records it by trade id (once:
        `engine.runtime.live.reconcile`), so the store and the wallet agree while the node
        runs, not only from its next start.
        """
        updates: list[Update] = []
        outside = False
        for event in events:
            self.stats.reports += 1
            self._delivered.update(t.trade_id for t in event.trades)
            if event.order.status not in ("open", ""):
                self._finished.add(event.order.exchange_id)
            updates += self.manager.apply(event.order, event.trades)
            outside = outside or (bool(event.trades) and not self._nodes(event.order))
        if updates:
            self.publish(updates)
        if outside:
            self.reconcile(OUTSIDE_TRADE)

    def _nodes(self, order: ExchangeOrder) -> bool:
        """True if ``order`` is one the node placed (its ledger holds it as the node's)."""
        return self.manager.owns(order) is not None

    # -- the cross-check ------------------------------------------------------------------

    async def _check(self) -> str:
        """Return (ending the session) what REST showed that the stream did not deliver."""
        options = self.options
        while True:
            await asyncio.sleep(options.check_every_s)
            self.stats.checks += 1
            missing = self._missing()
            if not missing:
                continue
            await asyncio.sleep(options.grace_s)
            late = missing & self._missing()
            if late:
                shown = ", ".join(sorted(late)[:5])
                return (
                    f"REST shows {len(late)} update(s) the stream did not deliver within "
                    f"{options.grace_s:g} s ({shown})"
                )

    def _missing(self) -> set[str]:
        """Return the trades and order closes REST shows that the stream has not carried."""
        exchange = self.manager.exchange
        symbols = sorted(self.instruments)
        missing: set[str] = set()
        newest = self._since_ms
        for symbol in symbols:
            for trade in account_trades(exchange, symbol, self._since_ms):
                if trade.trade_id in self._before or trade.trade_id in self._delivered:
                    newest = max(newest, trade.ts_ms)
                else:
                    missing.add(f"trade {trade.trade_id}")
        if not missing:
            # Everything up to here is accounted for: the next look starts there (trades at
            # that very millisecond are read again and found accounted for again).
            self._since_ms = newest
        now_open = {o.exchange_id for s in symbols for o in exchange.open_orders(s)}
        self._unreported |= self._open - now_open
        self._unreported -= self._finished
        self._open = now_open
        missing |= {f"order {order_id} closed" for order_id in self._unreported}
        return missing
