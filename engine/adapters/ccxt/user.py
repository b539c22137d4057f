"""The account's user-data websocket through ccxt.pro: order updates and their trades, as they
happen.

In: an async ccxt.pro exchange with keys (`open_user_exchange`). Out: `OrderEvent`s — an
order's state as the exchange pushed it (`ExchangeOrder`) with the trades of it the stream
has carried (`ExchangeTrade`, each with the exchange's trade id) — from `UserStream.next`.

How (Binance spot, ccxt 4.5): ``watch_orders`` subscribes through the websocket API
(``userDataStream.subscribe.signature`` on ``/ws-api/v3``; no listenKey to keep alive) and
each ``executionReport`` updates ccxt's order cache and, for a fill, its trade cache
(``myTrades``) in the same message, trade first. Binance USDⓈ-M (``perpetuals``): ccxt asks
for a listenKey (``POST /fapi/v1/listenKey``, kept alive with ``PUT`` every 20 minutes) and
``watch_orders`` dials ``/private/ws?listenKey=...``, whose ``ORDER_TRADE_UPDATE`` fills
both caches the same way (its ``ACCOUNT_UPDATE``, wallet and positions, goes to ccxt's
balance and position caches, unused here: the node reads those over REST); `subscribe`
returns once that websocket is open, and the symbols of what it returns are the engine's
(``BTC/USDT``, not ccxt's ``BTC/USDT:USDT``). `next` returns the orders of ccxt's cache
that changed since it last looked, each with every trade of it in ccxt's trade cache, so an
order whose NEW report the stream never saw (the subscription came later) still brings its
trades, and a report that came while no watch was waiting is not left behind.

ccxt's errors are translated (`engine.adapters.ccxt.errors.translate`): a dropped connection
reaches `next` as `ExchangeTransientError` (ccxt's ``NetworkError``; so does a failed
keep-alive ping: ccxt closes the connection itself). `drop` closes the connection on
purpose (a stall detected from outside: `engine.runtime.live.stream`); `subscribe` then
dials a new one and subscribes again. Nothing here retries or decides: the monitor does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Collection
from dataclasses import dataclass, replace
from typing import Any

from engine.adapters.ccxt.algo import algo_progress
from engine.adapters.ccxt.errors import translate
from engine.adapters.ccxt.venue import (
    Credentials,
    ExchangeOrder,
    ExchangeTrade,
    linear_swap,
    parse_order,
    parse_trade,
)

__all__ = ["OrderEvent", "UserStream", "open_user_exchange"]


@dataclass(frozen=True)
class OrderEvent:
    """An order as the user-data stream reported it, with the trades of it seen so far."""

    order: ExchangeOrder
    trades: tuple[ExchangeTrade, ...]


def open_user_exchange(
    exchange_id: str,
    credentials: Credentials,
    *,
    sandbox: bool,
    local_url: str | None = None,
    perpetual: bool = False,
) -> Any:
    """Return an async ccxt.pro exchange with keys, for the account's websocket.

    The same settings as `engine.adapters.ccxt.venue.open_trading_exchange` (ccxt's retries
    off, the sandbox, ``local_url`` for the local exchange, ``perpetual`` for the USDⓈ-M
    account), on ccxt.pro.

    Raises:
        ExchangeInputError: Unknown exchange id, no websockets for it in ccxt.pro, or a
            sandbox the exchange does not have.
    """
    import ccxt.pro

    from engine.adapters.ccxt.venue import open_trading_exchange
    from engine.errors import ExchangeInputError

    if exchange_id not in ccxt.pro.exchanges:
        raise ExchangeInputError(
            f"{exchange_id} has no websockets in ccxt.pro: live trading needs its user-data "
            "stream (watch_orders)"
        )
    return open_trading_exchange(
        exchange_id, credentials, sandbox=sandbox, local_url=local_url, module=ccxt.pro,
        perpetual=perpetual,
    )  # fmt: skip


class UserStream:
    """One account's order updates from a ccxt.pro exchange (see the module)."""

    def __init__(self, exchange: Any, perpetuals: Collection[str] = ()) -> None:
        """Watch on ``exchange`` (async ccxt.pro, with keys); ``perpetuals``: the engine's
        symbols traded as linear perpetuals (the USDⓈ-M account's stream)."""
        exchange.newUpdates = True  # each watch returns what changed since the last one
        self.exchange = exchange
        self.name = str(getattr(exchange, "id", "exchange"))
        self.perpetual = bool(perpetuals)
        self._engine_symbol = {linear_swap(s): s for s in perpetuals}
        self._seen: dict[str, tuple[str, float, int]] = {}  # order id -> state returned
        self._watching: asyncio.Future[Any] | None = None  # the USDⓈ-M watch subscribe began

    async def subscribe(self) -> None:
        """Open the connection and subscribe; return once the exchange has acknowledged.

        Raises:
            ExchangeTransientError: The connection failed (the caller tries again later).
            ExchangeError: Anything else, translated (bad keys: `ExchangeInputError`).
        """
        if not self.exchange.markets:
            await self._ccxt("loading markets", self.exchange.load_markets())
        # ccxt makes its balance cache in watch_orders, after subscribing: a balance message
        # (Binance sends one with every order report) arriving in between would raise in
        # ccxt's handler and end its receive loop, silently.
        balance = getattr(self.exchange, "balance", None)
        if isinstance(balance, dict):
            balance.setdefault("spot", {})
        if self.perpetual:
            await self._open_listen_key_stream()
            return
        authenticate = getattr(self.exchange, "authenticate", None)
        if authenticate is not None:  # Binance: the websocket API's signed subscription
            await self._ccxt("subscribing to the user-data stream", authenticate({"type": "spot"}))

    async def _open_listen_key_stream(self) -> None:
        """Get the USDⓈ-M listenKey and open its websocket (the first ``watch_orders``).

        The watch begun here is the one `next` awaits first: the websocket is open when
        this returns, so no report after it is missed.
        """
        what = "subscribing to the user-data stream"
        await self._ccxt(what, self.exchange.authenticate({"type": "swap"}))
        watching = asyncio.ensure_future(self._ccxt(what, self.exchange.watch_orders()))
        key = ((self.exchange.options or {}).get("linear") or {}).get("listenKey")
        client = self.exchange.client(self.exchange.get_private_ws_url("linear", key))
        await asyncio.wait({watching, client.connected}, return_when=asyncio.FIRST_COMPLETED)
        if watching.done() and watching.exception() is not None:
            watching.result()  # the connection failed: raise it, translated
        self._watching = watching

    async def next(self) -> list[OrderEvent]:
        """Wait for order updates; return each order changed since the last call, with its
        trades.

        Reports that came while no watch was waiting sit in ccxt's caches (a watch returns
        them only with the next message): they are returned at once.

        Raises:
            ExchangeTransientError: The connection dropped (or its keep-alive failed).
            ExchangeError: Anything else ccxt raised, translated.
        """
        while True:
            events = self._changed()
            if events:
                return events
            watching, self._watching = self._watching, None
            if watching is not None:
                await watching
                continue
            await self._ccxt("watching the user-data stream", self.exchange.watch_orders())

    async def _ccxt(self, what: str, call: Awaitable[Any]) -> Any:
        import ccxt

        try:
            return await call
        except ccxt.BaseError as exc:
            raise translate(exc, self.name, what) from None

    def _changed(self) -> list[OrderEvent]:
        trades: dict[str, list[ExchangeTrade]] = {}
        for raw in list(getattr(self.exchange, "myTrades", None) or []):
            trade = parse_trade(raw)
            trade = replace(trade, symbol=self._engine_symbol.get(trade.symbol, trade.symbol))
            trades.setdefault(trade.exchange_order_id, []).append(trade)
        events = []
        for raw in list(getattr(self.exchange, "orders", None) or []):
            if algo_progress(raw):
                continue  # a perpetual's stop triggered: its placed order reports the fills
            order = parse_order(raw)
            order = replace(order, symbol=self._engine_symbol.get(order.symbol, order.symbol))
            own = tuple(trades.get(order.exchange_id, ()))
            state = (order.status, order.filled, len(own))
            if self._seen.get(order.exchange_id) != state:
                self._seen[order.exchange_id] = state
                events.append(OrderEvent(order, own))
        return events

    async def drop(self, reason: str) -> None:
        """Close the user-data connection as a drop would (pending watches fail)."""
        import ccxt

        error = ccxt.NetworkError(f"{self.name}: user-data stream {reason}")
        watching, self._watching = self._watching, None
        if watching is not None:  # never awaited: it ends with the connection, unheard
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
        # This exchange object carries the user-data connection only (the market data has
        # its own), so every connection of it goes.
        for client in list((getattr(self.exchange, "clients", None) or {}).values()):
            client.on_error(error)
            with contextlib.suppress(Exception):
                await client.close()

    async def close(self) -> None:
        """Close every connection of the exchange."""
        with contextlib.suppress(Exception):  # closing what is already broken
            await self.exchange.close()
