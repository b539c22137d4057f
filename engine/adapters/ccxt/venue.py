"""The ccxt side of live trading: orders, balances and exchange rules through one ccxt client.

In: a synchronous ccxt exchange with keys (`open_trading_exchange`), order specs from the
order manager (`engine.runtime.live.orders`). Out: ccxt's unified order, trade and balance
dicts, reduced to plain values (`ExchangeOrder`, `ExchangeTrade`), and `Instrument`s from the
exchange's rules; failures as `OrderCallFailed` (order paths: the manager decides) or as the
engine error of `engine.adapters.ccxt.contract` (reads: retried here first).

Where the logic lives: what each failure means is the contract's table (`classify`); this
module applies the parts that are the same for every caller — waiting out a 429's
``Retry-After``, resyncing the clock once on ``InvalidNonce``, retrying a *read* with backoff.
An order create or cancel is never retried here on a network error or a timeout: it may have
reached the exchange, so the caller looks it up by client id.

Keys come from ``$KESTREL_API_KEY`` and ``$KESTREL_API_SECRET``, else from the OS keyring
(`engine.adapters.ccxt.keys`; never from a file). They are handed to ccxt and kept nowhere
else; `Credentials` does not show them in its repr. ccxt's own ``maxRetriesOnFailure`` is
forced to 0: it would re-send ``POST /order`` after a timeout, which is how orders get
doubled.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from engine.adapters.ccxt.amend import amend_call
from engine.adapters.ccxt.contract import Action, Verdict, classify
from engine.adapters.ccxt.errors import RetryPolicy, check_exchange_id, retry_after_s
from engine.adapters.ccxt.keys import Credentials
from engine.adapters.ccxt.replace import guarded, oco_params, order_params, replace_params
from engine.adapters.ccxt.symbols import linear_swap, wall_clock_ms
from engine.errors import ExchangeInputError, did_you_mean
from engine.model import Instrument

__all__ = [
    "CcxtExchange",
    "Credentials",
    "ExchangeOrder",
    "ExchangePosition",
    "ExchangeTrade",
    "OcoSpec",
    "OrderCallFailed",
    "OrderSpec",
    "linear_swap",
    "open_trading_exchange",
    "parse_order",
    "parse_trade",
    "wall_clock_ms",
]

T = TypeVar("T")


def open_trading_exchange(
    exchange_id: str,
    credentials: Credentials,
    *,
    sandbox: bool,
    local_url: str | None = None,
    timeout_ms: int = 10_000,
    module: Any = None,
    perpetual: bool = False,
) -> Any:
    """Return a synchronous ccxt exchange that can trade, with ccxt's retries off.

    ``sandbox`` switches to the exchange's testnet (ccxt ``set_sandbox_mode``; for perpetuals
    on an exchange with a demo environment, Binance's, its demo trading: ccxt 4.5.90 refuses
    Binance's retired futures testnet); ``local_url``
    sends every call to the local exchange instead (`engine.adapters.local`). ``module``:
    another ccxt flavour to build it from (``ccxt.pro`` for the user-data websocket).
    ``perpetual``: trade the USDⓈ-M perpetuals (ccxt ``defaultType = "swap"``: orders,
    balances and positions go to Binance's ``/fapi``). Against the local exchange ccxt cannot
    tell its ``/fapi`` from ``/api`` by the host name, so binance's linear error codes
    (-2019 InsufficientFunds, -2022 InvalidOrder, ...) are made the ones it reads; and ccxt's
    request-weight limiter is off: the local exchange weighs nothing (its 429s are injected
    faults), while the limiter would sleep Binance's weights before every call (USDⓈ-M
    ``userTrades`` 0.25 s, ``income`` 1.5 s), most of a practice run's time.

    Raises:
        ExchangeInputError: Unknown exchange id, or a sandbox the exchange does not have.
    """
    import ccxt

    check_exchange_id(exchange_id)
    module = module if module is not None else ccxt
    options: dict[str, Any] = {"maxRetriesOnFailure": 0}
    if perpetual:
        options["defaultType"] = "swap"
    if local_url:
        types = ["linear"] if perpetual else ["spot"]
        options.update(
            {"fetchMarkets": {"types": types}, "fetchCurrencies": False, "fetchMargins": False}
        )
    exchange = getattr(module, exchange_id)(
        {
            "apiKey": credentials.api_key,
            "secret": credentials.secret,
            "enableRateLimit": not local_url,
            "timeout": timeout_ms,
            "options": options,
        }
    )
    if sandbox and not local_url and perpetual and "demo" in exchange.urls:
        exchange.enable_demo_trading(True)  # ccxt refuses Binance's futures testnet
    elif sandbox and not local_url:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise ExchangeInputError(
                f"{exchange_id} has no sandbox in ccxt: set sandbox = false only for real money"
            ) from None
    if local_url:
        from engine.adapters.local import ccxt_urls

        http = local_url.rstrip("/")
        exchange.urls["api"] = ccxt_urls(http, "ws" + http.removeprefix("http"))
        if perpetual and "linear" in exchange.exceptions:
            linear = exchange.exceptions["linear"]
            for kind in ("exact", "broad"):
                exchange.exceptions[kind] = {**exchange.exceptions[kind], **linear.get(kind, {})}
    return exchange


@dataclass(frozen=True)
class OrderSpec:
    """An order as sent: ``side`` buy/sell, ``order_type`` market/limit, ``tif`` GTC/IOC/FOK
    (or DAY/GTD: sent as GTC, the node cancels it at ``expire_ns``).

    ``stop_price`` makes it a stop: a market becomes a stop-market, a limit a stop-limit,
    sent as Binance's STOP_LOSS / STOP_LOSS_LIMIT (see `CcxtExchange.create`).
    ``reduce_only`` (perpetuals) sends ``reduceOnly``: the order may only shrink the position.
    ``post_only`` sends a limit as Binance's LIMIT_MAKER on spot, time in force GTX on a
    perpetual (refused if it would take: -2010 on spot, -5022 on USDⓈ-M).
    ``expire_ns``: when a DAY or GTD order expires (ns UTC; the node's, not the exchange's).
    """

    client_id: str
    symbol: str
    side: str
    order_type: str
    quantity: float
    price: float | None = None
    tif: str = "GTC"
    stop_price: float | None = None
    reduce_only: bool = False
    post_only: bool = False
    expire_ns: int | None = None


@dataclass(frozen=True)
class ExchangePosition:
    """A perpetual's one-way position: ``quantity`` signed (< 0 short), in base units."""

    symbol: str
    quantity: float
    entry_price: float
    unrealized_pnl: float
    mark_price: float | None = None


@dataclass(frozen=True)
class OcoSpec:
    """A one-cancels-the-other pair as sent (Binance's order list, ``list_id`` its client id).

    ``stop`` (a stop-market, or a stop-limit with a ``price``) and ``target`` (a limit)
    share the side, symbol and quantity; each leg's ``client_id`` is its own.
    """

    list_id: str
    stop: OrderSpec
    target: OrderSpec


@dataclass(frozen=True)
class ExchangeOrder:
    """An order as the exchange reports it (ccxt's unified status: open/closed/canceled/...).

    ``order_type`` is ccxt's unified one (a spot STOP_LOSS is ``market``, a STOP_LOSS_LIMIT
    ``limit``); ``stop_price`` is set for stop orders (ccxt's ``triggerPrice``).
    """

    client_id: str
    exchange_id: str
    symbol: str
    side: str
    order_type: str
    quantity: float
    price: float | None
    status: str
    filled: float
    average: float | None
    ts_ms: int
    stop_price: float | None = None


@dataclass(frozen=True)
class ExchangeTrade:
    """One fill: ``fee`` in ``fee_asset`` (quote, base or another asset such as BNB)."""

    trade_id: str
    exchange_order_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    fee_asset: str
    maker: bool
    ts_ms: int


class OrderCallFailed(Exception):  # noqa: N818 - a carrier, not an error kind
    """An order call failed; ``verdict`` says what the contract makes of it."""

    def __init__(self, verdict: Verdict) -> None:
        """Keep the verdict; the message is its detail."""
        super().__init__(verdict.detail)
        self.verdict = verdict


def parse_order(raw: Mapping[str, Any]) -> ExchangeOrder:
    """Return ccxt's unified order dict (REST or websocket) as an `ExchangeOrder`."""
    info = raw.get("info") or {}
    client_id = raw.get("clientOrderId") or info.get("clientOrderId") or ""
    return ExchangeOrder(
        client_id=str(client_id),
        exchange_id=str(raw.get("id") or ""),
        symbol=str(raw.get("symbol") or ""),
        side=str(raw.get("side") or ""),
        order_type=str(raw.get("type") or ""),
        quantity=float(raw.get("amount") or 0.0),
        price=float(raw["price"]) if raw.get("price") else None,
        status=str(raw.get("status") or ""),
        filled=float(raw.get("filled") or 0.0),
        average=float(raw["average"]) if raw.get("average") else None,
        ts_ms=int(raw.get("lastUpdateTimestamp") or raw.get("timestamp") or 0),
        stop_price=float(trigger) if (trigger := raw.get("triggerPrice")) else None,
    )


def parse_trade(raw: Mapping[str, Any]) -> ExchangeTrade:
    """Return ccxt's unified trade dict (REST or websocket) as an `ExchangeTrade`."""
    fee = raw.get("fee") or {}
    return ExchangeTrade(
        trade_id=str(raw.get("id") or ""),
        exchange_order_id=str(raw.get("order") or ""),
        symbol=str(raw.get("symbol") or ""),
        side=str(raw.get("side") or ""),
        quantity=float(raw.get("amount") or 0.0),
        price=float(raw.get("price") or 0.0),
        fee=float(fee.get("cost") or 0.0),
        fee_asset=str(fee.get("currency") or ""),
        maker=raw.get("takerOrMaker") == "maker",
        ts_ms=int(raw.get("timestamp") or 0),
    )


class CcxtExchange:
    """The calls live trading makes, under the error contract (`engine.adapters.ccxt.contract`).

    ``server_clock`` returns the exchange's wall clock in ms for an ``InvalidNonce`` resync
    (default: ccxt's ``fetch_time``). The local exchange serves its *replay* clock on
    ``/time`` but checks signatures against the wall clock, so against it pass
    ``lambda: int(time.time() * 1000)``.

    ``perpetuals``: the engine's symbols (``BTC/USDT``) traded as linear perpetuals; each is
    ccxt's swap market settled in its quote (``BTC/USDT:USDT``) in every call, and the
    symbols of what comes back are the engine's again.
    """

    def __init__(
        self,
        exchange: Any,
        policy: RetryPolicy | None = None,
        server_clock: Callable[[], int] | None = None,
        perpetuals: Collection[str] = (),
    ) -> None:
        """Use ccxt client ``exchange``; reads retry per ``policy`` (5 tries, 1 s doubling)."""
        exchange.options["maxRetriesOnFailure"] = 0  # a re-sent POST /order doubles orders
        exchange.options.setdefault("timeDifference", 0)
        self.exchange = exchange
        self.exchange_id: str = exchange.id
        self.policy = policy or RetryPolicy()
        self.server_clock = server_clock or (lambda: int(exchange.fetch_time()))
        self.resyncs = 0
        self.perpetuals = frozenset(perpetuals)
        self._engine_symbol = {self.market_symbol(s): s for s in self.perpetuals}

    def perpetual(self, symbol: str) -> bool:
        """True if the engine's ``symbol`` is traded as a perpetual."""
        return symbol in self.perpetuals

    def market_symbol(self, symbol: str) -> str:
        """Return ccxt's symbol of the engine's ``symbol`` (``BTC/USDT:USDT`` for a perpetual)."""
        return linear_swap(symbol) if symbol in self.perpetuals else symbol

    def _order(self, raw: Mapping[str, Any]) -> ExchangeOrder:
        order = parse_order(raw)
        return replace(order, symbol=self._engine_symbol.get(order.symbol, order.symbol))

    def _trade(self, raw: Mapping[str, Any]) -> ExchangeTrade:
        trade = parse_trade(raw)
        return replace(trade, symbol=self._engine_symbol.get(trade.symbol, trade.symbol))

    # -- the contract ---------------------------------------------------------------------

    def _run(self, what: str, call: Callable[[], T], *, resend_safe: bool) -> T:
        """Return ``call()`` under the contract; raise `OrderCallFailed` for the caller.

        Waits out rate limits (the request was refused: sending it again is safe), resyncs
        the clock once on ``InvalidNonce``; with ``resend_safe`` (reads) it also retries
        network errors and timeouts with backoff. Everything else is the caller's.
        """
        import ccxt

        resynced = False
        for attempt in range(self.policy.attempts):
            try:
                return call()
            except ccxt.BaseError as exc:
                verdict = classify(exc)
            last = attempt + 1 == self.policy.attempts
            if verdict.action is Action.RATE_LIMITED and not last:
                self.policy.sleep(self.policy.pause_s(attempt, retry_after_s(self.exchange)))
                continue
            if verdict.action is Action.RESYNC and not resynced:
                resynced = True
                self.resync_clock()
                continue
            if verdict.action in (Action.RETRY, Action.UNKNOWN) and resend_safe and not last:
                self.policy.sleep(self.policy.pause_s(attempt, None))
                continue
            raise OrderCallFailed(verdict)
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, what: str, call: Callable[[], T]) -> T:
        """Return ``call()`` (a read: safe to repeat) or raise the contract's engine error."""
        try:
            return self._run(what, call, resend_safe=True)
        except OrderCallFailed as failed:
            raise failed.verdict.error(self.exchange_id, what) from None

    def resync_clock(self) -> int:
        """Set ccxt's clock offset from the exchange's clock (half the round trip); return it."""
        before = self.exchange.milliseconds()
        server = self.server_clock()
        after = self.exchange.milliseconds()
        offset = int((before + after) / 2 - server)
        self.exchange.options["timeDifference"] = offset
        self.resyncs += 1
        return offset

    # -- reads ----------------------------------------------------------------------------

    def load(self) -> None:
        """Load the markets (exchange rules) once."""
        self.read("loading markets", self.exchange.load_markets)

    def instruments(self, symbols: list[str]) -> dict[str, Instrument]:
        """Return the exchange's rules for ``symbols`` as `Instrument`s.

        Tick and lot are ccxt's ``precision`` (a step, ccxt's TICK_SIZE mode, which binance
        uses); the minimums are its ``limits`` (0 where the exchange states none).

        Raises:
            ExchangeInputError: A symbol the exchange does not list.
        """
        self.load()
        markets = self.exchange.markets
        result: dict[str, Instrument] = {}
        for symbol in symbols:
            market = markets.get(self.market_symbol(symbol))
            if market is None:
                raise ExchangeInputError(
                    f"{self.exchange_id} does not list {symbol!r}{did_you_mean(symbol, markets)}"
                )
            precision, limits = market["precision"], market["limits"]
            result[symbol] = Instrument(
                symbol,
                quote_currency=str(market["quote"]),
                tick_size=float(precision.get("price") or 0.01),
                lot_size=float(precision.get("amount") or 1e-8),
                min_quantity=float((limits.get("amount") or {}).get("min") or 0.0),
                min_notional=float((limits.get("cost") or {}).get("min") or 0.0),
            )
        return result

    def server_time_ms(self) -> int:
        """Return the exchange's clock (the time its orders and trades are stamped with)."""
        return int(self.read("fetching the exchange's time", self.exchange.fetch_time))

    def balances(self) -> dict[str, tuple[float, float]]:
        """Return ``asset -> (free, total)`` for every asset with a non-zero total."""
        raw = self.read("fetching balances", self.exchange.fetch_balance)
        totals = raw.get("total") or {}
        free = raw.get("free") or {}
        return {
            str(asset): (float(free.get(asset) or 0.0), float(amount or 0.0))
            for asset, amount in sorted(totals.items())
            if amount
        }

    def book_price(self, symbol: str, quantity: float, side: str) -> float | None:
        """Return the price a market order of ``quantity`` would reach in the book now:
        ``side`` ``"asks"`` (a buy's) or ``"bids"`` (a sell's), its worst level the quantity
        takes (the last level read when the top 20 hold less); None when that side is empty.
        """
        book = self.read(
            f"fetching the {symbol} order book",
            lambda: self.exchange.fetch_order_book(self.market_symbol(symbol), limit=20),
        )
        price: float | None = None
        taken = 0.0
        for level in book.get(side) or []:
            price = float(level[0])
            taken += float(level[1])
            if taken >= quantity:
                break
        return price

    def open_orders(self, symbol: str) -> list[ExchangeOrder]:
        """Return the open orders of ``symbol``."""
        market = self.market_symbol(symbol)
        rows = self.read(
            f"fetching open {symbol} orders", lambda: self.exchange.fetch_open_orders(market)
        )
        return [self._order(r) for r in rows]

    def my_trades(
        self,
        symbol: str,
        since_ms: int | None = None,
        exchange_order_id: str | None = None,
        from_id: str | None = None,
    ) -> list[ExchangeTrade]:
        """Return the account's ``symbol`` fills from ``since_ms`` on (of one order, if given;
        from trade id ``from_id`` on, if given: Binance's ``fromId``, without a time)."""
        params = {k: v for k, v in (("orderId", exchange_order_id), ("fromId", from_id)) if v}
        market = self.market_symbol(symbol)
        rows = self.read(
            f"fetching {symbol} trades",
            lambda: self.exchange.fetch_my_trades(market, since_ms, None, params),
        )
        trades = [self._trade(r) for r in rows]
        return [t for t in trades if since_ms is None or t.ts_ms >= since_ms]

    def positions(self, symbols: Collection[str]) -> dict[str, ExchangePosition]:
        """Return the one-way position of each perpetual of ``symbols`` (flat ones at 0).

        ccxt's ``fetch_positions`` (Binance ``/fapi/v3/positionRisk``): ``contracts`` is the
        size (contract size 1 on USDⓈ-M: base units), ``side`` long or short.
        """
        wanted = {self.market_symbol(s): s for s in symbols if s in self.perpetuals}
        if not wanted:
            return {}
        rows = self.read("fetching positions", lambda: self.exchange.fetch_positions(list(wanted)))
        result = {s: ExchangePosition(s, 0.0, 0.0, 0.0) for s in wanted.values()}
        for row in rows:
            symbol = wanted.get(str(row.get("symbol")))
            size = float(row.get("contracts") or 0.0) * float(row.get("contractSize") or 1.0)
            if symbol is None or not size:
                continue
            mark = row.get("markPrice")
            result[symbol] = ExchangePosition(
                symbol,
                -size if row.get("side") == "short" else size,
                float(row.get("entryPrice") or 0.0),
                float(row.get("unrealizedPnl") or 0.0),
                float(mark) if mark else None,
            )
        return result

    def hedge_mode(self, symbol: str) -> bool:
        """True if the account is in hedge mode (long and short positions apart)."""
        market = self.market_symbol(symbol)
        mode = self.read(
            "fetching the position mode", lambda: self.exchange.fetch_position_mode(market)
        )
        return bool(mode.get("hedged"))

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set a perpetual's leverage at the exchange (safe to repeat)."""
        market = self.market_symbol(symbol)
        self.read(
            f"setting the {symbol} leverage to {leverage}",
            lambda: self.exchange.set_leverage(leverage, market),
        )

    # -- order calls (the caller decides on failure) --------------------------------------

    def create(self, spec: OrderSpec) -> ExchangeOrder:
        """Send ``spec`` with its client id; raise `OrderCallFailed` if no answer says how.

        A stop goes as ccxt's unified ``stopLossPrice``, which binance's ``create_order``
        sends (spot) as type STOP_LOSS for a market and STOP_LOSS_LIMIT for a limit, with
        ``stopPrice``. STOP_LOSS is the type whose trigger is the engine's stop: a sell
        triggers when the price falls to the stop, a buy when it rises to it, wherever
        the market is (TAKE_PROFIT triggers the other way round: the engine has no such
        order). A stop the market is already through is refused by Binance (-2010 "Stop
        price would trigger immediately.").

        A post-only limit goes as ccxt's ``postOnly``, which binance's ``create_order``
        sends (spot) as type LIMIT_MAKER, without a time in force; Binance refuses it if
        it would take at once (-2010 "Order would immediately match and take."). DAY and
        GTD go as GTC (Binance spot has neither; the node expires them).
        """
        params = order_params(spec)
        market = self.market_symbol(spec.symbol)

        def send() -> Any:
            return self.exchange.create_order(
                market, spec.order_type, spec.side, spec.quantity, spec.price, params
            )

        return self._order(self._run(f"creating order {spec.client_id}", send, resend_safe=False))

    def create_oco(self, spec: OcoSpec) -> list[ExchangeOrder]:
        """Send the OCO ``spec`` as one order list; return its legs as the exchange shows them.

        ccxt 4.5.90's binance has no unified OCO call: its implicit
        ``private_post_orderlist_oco`` reaches ``POST /api/v3/orderList/oco`` with Binance's
        own parameters (its ``sign`` fills in client ids only where none are given: ours
        always are). For a sell the take-profit is the above leg, a LIMIT_MAKER (refused if
        it would take at once: -2010), the stop the below leg, a STOP_LOSS, or
        STOP_LOSS_LIMIT with a price; for a buy the other way round. Raises
        `OrderCallFailed` as `create` does.
        """
        exchange = self.exchange
        market = exchange.market(spec.stop.symbol)
        params = oco_params(exchange, market, spec)

        def send() -> Any:
            return exchange.private_post_orderlist_oco(params)

        answer = self._run(f"creating order list {spec.list_id}", send, resend_safe=False)
        return self._list_legs(answer, market)

    def cancel_list(self, list_id: str, symbol: str) -> list[ExchangeOrder]:
        """Cancel the order list ``list_id`` (both legs); `OrderCallFailed` if it is not open."""
        market = self.exchange.market(symbol)

        def send() -> Any:
            return self.exchange.private_delete_orderlist(
                {"symbol": market["id"], "listClientOrderId": list_id}
            )

        answer = self._run(f"canceling order list {list_id}", send, resend_safe=False)
        return self._list_legs(answer, market)

    def _list_legs(self, answer: Mapping[str, Any], market: Any) -> list[ExchangeOrder]:
        """Return an order list answer's ``orderReports`` as unified, parsed orders."""
        reports = answer.get("orderReports") or []
        return [parse_order(self.exchange.parse_order(r, market)) for r in reports]

    def cancel_replace(self, old_client_id: str, spec: OrderSpec) -> ExchangeOrder:
        """Cancel ``old_client_id`` and place ``spec`` in one request; return the new order.

        Binance's cancel-replace through ccxt's ``edit_order`` (`engine.adapters.ccxt.replace`).
        Raises `ReplaceFailed` if Binance refused one half, `OrderCallFailed` as `create`.
        """
        market = self.market_symbol(spec.symbol)
        params = replace_params(old_client_id, spec)

        def send() -> Any:
            return guarded(
                lambda: self.exchange.edit_order(
                    None, market, spec.order_type, spec.side, spec.quantity, spec.price, params
                )
            )

        return self._order(self._run(f"replacing order {old_client_id}", send, resend_safe=False))

    def amend(self, exchange_order_id: str, client_id: str, spec: OrderSpec) -> ExchangeOrder:
        """Modify a perpetual's limit in place: `engine.adapters.ccxt.amend` (`AmendRefused`)."""
        call = amend_call(self, exchange_order_id, client_id, spec)
        return self._order(self._run(f"modifying order {client_id}", call, resend_safe=False))

    def fetch(self, client_id: str, symbol: str) -> ExchangeOrder:
        """Return the order with ``client_id`` (one try; `OrderCallFailed` if not found)."""

        market = self.market_symbol(symbol)

        def look() -> Any:
            return self.exchange.fetch_order(None, market, {"origClientOrderId": client_id})

        return self._order(self._run(f"fetching order {client_id}", look, resend_safe=True))

    def cancel(self, client_id: str, symbol: str) -> ExchangeOrder:
        """Cancel the order with ``client_id``; `OrderCallFailed` if it is not open (any more)."""

        market = self.market_symbol(symbol)

        def send() -> Any:
            return self.exchange.cancel_order(None, market, {"origClientOrderId": client_id})

        return self._order(self._run(f"canceling order {client_id}", send, resend_safe=False))
