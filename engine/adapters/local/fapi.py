"""The local exchange's USDⓈ-M futures REST API (``/fapi``), as ccxt 4.5.90's binance calls it.

Served when the exchange replays perpetuals (`LocalExchange(..., perpetual=True)`; the
account is `engine.adapters.local.futures.FuturesVenue`). Routes, with the ccxt method that
calls each for a swap market:

* public ``/fapi/v1``: ``ping``, ``time`` (the replay clock), ``exchangeInfo``
  (``load_markets``: ``contractType`` PERPETUAL, ``marginAsset`` the quote, so ccxt names the
  market ``BTC/USDT:USDT``), ``klines`` and ``depth`` (the spot shapes), ``premiumIndex``
  (``fetch_funding_rate``: ``nextFundingTime`` from the funding rates, the market price as
  the mark);
* signed ``/fapi/v1``: ``order`` POST/GET/DELETE (``create_order``, ``fetch_order``,
  ``cancel_order``; ``reduceOnly`` honoured; ``timeInForce = GTX``, ccxt's ``postOnly``,
  refused with -5022 if it would take) and PUT (``edit_order``: a LIMIT modified in place,
  `engine.adapters.local.futures.FuturesVenue.amend`), ``openOrders`` (``fetch_open_orders``),
  ``allOrders``, ``userTrades`` (``fetch_my_trades``: with ``realizedPnl``), ``leverage``
  POST (``set_leverage``), ``leverageBracket`` (read by ``fetch_positions`` first),
  ``positionSide/dual`` (``fetch_position_mode``; POST ``set_position_mode`` switches what
  it reports), ``symbolConfig`` (``fetch_margin_mode``; POST ``marginType``,
  ``set_margin_mode``, switches what it reports), ``income``
  (``FUNDING_FEE`` rows; ``fetch_funding_history``: by ``incomeType``, ``startTime``,
  ``endTime``, ``limit``);
* signed ``/fapi/v1`` conditional orders (`engine.adapters.local.algo`): ``algoOrder``
  POST/GET/DELETE (``create_order`` with a trigger price on a swap market;
  ``fetch_order`` / ``cancel_order`` with ``params={"trigger": True}``), ``openAlgoOrders``
  and ``allAlgoOrders`` (``fetch_open_orders`` / ``fetch_orders`` likewise); their
  ``ALGO_UPDATE`` events go to the user stream; ``exchangeInfo``'s ``orderTypes`` lists
  STOP_MARKET, STOP, TAKE_PROFIT_MARKET and TAKE_PROFIT (ccxt refuses a type not listed);
* API key only: ``listenKey`` POST (the account's user-data key: the active one if there is
  one, as Binance answers), PUT (keep it alive; -1125 when none is active) and DELETE; its
  events (`engine.adapters.local.futures`) go to ``/private/ws?listenKey=...``, the
  address ccxt.pro dials for a linear market's ``watch_orders``;
* signed ``/fapi/v2`` and ``/fapi/v3``: ``account`` (``fetch_balance``: the wallet as
  ``walletBalance`` / ``marginBalance`` / ``availableBalance``; and the open positions) and
  ``positionRisk`` (``fetch_positions``: ``positionAmt`` signed, ``entryPrice``,
  ``unRealizedProfit``, ``notional`` signed, ``markPrice``).

Auth, faults and the lock are the spot server's (`engine.adapters.local.server`).
``userTrades`` and ``allOrders`` answer every row of the symbol (or of one ``orderId``):
they ignore ``limit``, ``fromId``, ``startTime`` and ``endTime``, which the spot
``myTrades`` and ``allOrders`` honour (`engine.adapters.local.history`); ccxt filters by
``since`` itself.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from engine.adapters.local.algo import ALGO_TYPES
from engine.adapters.local.futures import DEFAULT_LEVERAGE, FuturesVenue, futures_order_json
from engine.adapters.local.payloads import error_response, exchange_info, json_response
from engine.adapters.local.venue import BinanceError

__all__ = ["FapiHost", "FapiRoutes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FapiHost(Protocol):
    """What the fapi routes use of the server's app (``server.ExchangeApp`` satisfies it)."""

    lock: asyncio.Lock

    @property
    def now(self) -> int:
        """The replay clock in ms."""
        ...

    async def params(self, request: web.Request, signed: bool) -> dict[str, str]:
        """Return the request's parameters (checked signature when ``signed``)."""
        ...

    async def flush_user(self) -> None:
        """Send the user-data events the venue queued."""
        ...

    @property
    def listen_keys(self) -> set[str]:
        """The listenKeys whose websockets receive the account's events."""
        ...


class FapiRoutes:
    """The ``/fapi`` handlers over one `FuturesVenue`."""

    def __init__(self, host: FapiHost, venue: FuturesVenue) -> None:
        """Serve ``venue`` with ``host``'s auth and lock."""
        self.host = host
        self.venue = venue

    def register(self, router: web.UrlDispatcher, public: Mapping[str, Handler]) -> None:
        """Add the routes; ``public``: the spot handlers reused (ping, time, klines, depth)."""
        for name, handler in public.items():
            router.add_get(f"/fapi/v1/{name}", handler)
        router.add_get("/fapi/v1/exchangeInfo", self.exchange_info)
        router.add_get("/fapi/v1/premiumIndex", self.premium_index)
        for method in ("POST", "PUT", "DELETE"):  # before the signed catch-all below
            router.add_route(method, "/fapi/v1/listenKey", self.listen_key)
        for version in ("v1", "v2", "v3"):
            for method in ("GET", "POST", "PUT", "DELETE"):
                router.add_route(method, f"/fapi/{version}/{{endpoint:.+}}", self.signed)

    async def exchange_info(self, request: web.Request) -> web.Response:
        """GET exchangeInfo: the spot rules, as USDⓈ-M perpetuals."""
        info = exchange_info(self.venue.instruments, self.host.now)
        for row in info["symbols"]:
            filters = row["filters"]
            for rule in filters:
                if rule["filterType"] == "NOTIONAL":
                    minimum = rule["minNotional"]
                    rule.clear()
                    rule.update({"filterType": "MIN_NOTIONAL", "notional": minimum})
            lot = next(f for f in filters if f["filterType"] == "LOT_SIZE")
            filters.append({**lot, "filterType": "MARKET_LOT_SIZE"})
            for key in list(row):
                if key.startswith(("is", "permission", "oco", "oto", "iceberg", "quoteOrder")):
                    del row[key]
            row.update(
                {
                    "pair": row["symbol"],
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": 1569398400000,
                    "marginAsset": row["quoteAsset"],
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "settlePlan": 0,
                    "pricePrecision": 8,
                    "quantityPrecision": 8,
                    "requiredMarginPercent": "5.0000",
                    "maintMarginPercent": "2.5000",
                    "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                    "orderTypes": ["LIMIT", "MARKET", *ALGO_TYPES],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                }
            )
        return json_response(info)

    async def premium_index(self, request: web.Request) -> web.Response:
        """GET premiumIndex: one symbol's mark and next funding time, or every symbol's."""
        try:
            params = await self.host.params(request, signed=False)
            if "symbol" in params:
                return json_response(
                    self.venue.premium_index(self.venue.instrument(params["symbol"]).symbol)
                )
        except BinanceError as exc:
            return error_response(exc)
        return json_response([self.venue.premium_index(s) for s in sorted(self.venue.instruments)])

    async def listen_key(self, request: web.Request) -> web.Response:
        """POST makes (or returns) the listenKey, PUT keeps it alive, DELETE closes it."""
        if not request.headers.get("X-MBX-APIKEY"):
            return error_response(BinanceError(401, -2014, "API-key format invalid."))
        keys = self.host.listen_keys
        if request.method == "POST":
            if not keys:
                keys.add(secrets.token_hex(32))
            return json_response({"listenKey": min(keys)})
        if not keys:
            return error_response(BinanceError(400, -1125, "This listenKey does not exist."))
        key = min(keys)
        if request.method == "DELETE":
            keys.clear()
            return json_response({})
        return json_response({"listenKey": key})

    async def signed(self, request: web.Request) -> web.StreamResponse:
        """Every signed ``/fapi/v{1,2,3}`` endpoint (see the module)."""
        version = request.path.split("/")[2]
        endpoint = f"{version}/{request.match_info['endpoint']}"
        try:
            params = await self.host.params(request, signed=True)
            async with self.host.lock:
                result = self._private(request.method, endpoint, params)
        except BinanceError as exc:
            await self.host.flush_user()
            return error_response(exc)
        except ValueError:
            error = BinanceError(400, -1100, "Illegal characters found in a parameter.")
            return error_response(error)
        await self.host.flush_user()
        if result is None:
            return json_response({"code": -1, "msg": f"No endpoint {endpoint}."}, status=404)
        return json_response(result)

    def _private(self, method: str, endpoint: str, params: dict[str, str]) -> Any:
        venue = self.venue
        symbol = params.get("symbol", "")
        if endpoint == "v1/order":
            if method == "POST":
                return futures_order_json(venue.create(params))
            if method == "PUT":
                return futures_order_json(venue.amend(params))
            if method == "DELETE":
                order = venue.cancel(symbol, params.get("orderId"), params.get("origClientOrderId"))
                return futures_order_json(order)
            order = venue.find(symbol, params.get("orderId"), params.get("origClientOrderId"))
            return futures_order_json(order)
        if endpoint == "v1/algoOrder":
            algo_id, client_id = params.get("algoId"), params.get("clientAlgoId")
            if method == "POST":
                return venue.algos.create(params).as_json()
            if method == "DELETE":
                ended = venue.algos.cancel(algo_id, client_id)
                return {"algoId": ended.algo_id, "clientAlgoId": ended.client_id,
                        "code": "200", "msg": "success"}  # fmt: skip
            return venue.algos.find(algo_id, client_id).as_json()
        if endpoint == "v1/openAlgoOrders":
            return [o.as_json() for o in venue.algos.open_orders(symbol)]
        if endpoint == "v1/allAlgoOrders":
            return [o.as_json() for o in venue.algos.all_orders(symbol)]
        if endpoint in ("v1/openOrders", "v1/allOrders"):
            if symbol:
                venue.instrument(symbol)
            rows = [o for o in venue.orders.values() if not symbol or _id(o.symbol) == symbol]
            if endpoint == "v1/openOrders":
                rows = [o for o in rows if o.open]
            return [futures_order_json(o) for o in rows]
        if endpoint == "v1/userTrades":
            trades = [t for t in venue.trades if not symbol or t["symbol"] == symbol]
            if "orderId" in params:
                trades = [t for t in trades if str(t["orderId"]) == params["orderId"]]
            return trades
        if endpoint == "v1/leverage" and method == "POST":
            return venue.set_leverage(symbol, int(params.get("leverage", "0")))
        if endpoint == "v1/leverageBracket":
            return [_brackets(s, venue.leverage[s]) for s in sorted(venue.instruments)]
        if endpoint == "v1/marginType" and method == "POST":
            name = venue.instrument(symbol).symbol
            isolated = params.get("marginType", "").upper() == "ISOLATED"
            (venue.isolated.add if isolated else venue.isolated.discard)(name)
            return {"code": 200, "msg": "success"}
        if endpoint == "v1/symbolConfig":
            symbols = [venue.instrument(symbol).symbol] if symbol else sorted(venue.instruments)
            return [_symbol_config(s, venue) for s in symbols]
        if endpoint == "v1/positionSide/dual":
            if method == "POST":
                venue.dual_side = params.get("dualSidePosition", "false").lower() == "true"
                return {"code": 200, "msg": "success"}
            return {"dualSidePosition": venue.dual_side}
        if endpoint == "v1/income":
            return _income(venue.income, symbol, params)
        if endpoint in ("v2/positionRisk", "v3/positionRisk"):
            symbols = [venue.instrument(symbol).symbol] if symbol else sorted(venue.instruments)
            risk = [venue.position_json(s) for s in symbols]
            if endpoint.startswith("v2"):
                for row, name in zip(risk, symbols, strict=True):
                    row.update(leverage=str(venue.leverage[name]), marginType="cross")
            return risk
        if endpoint in ("v2/account", "v3/account"):
            return venue.account_json()
        return None


def _income(rows: list[dict[str, Any]], symbol: str, params: dict[str, str]) -> Any:
    """``GET /fapi/v1/income``: of ``symbol`` and ``incomeType`` if given, from
    ``startTime`` to ``endTime`` (ms, both included), the oldest ``limit`` (100; 1,000 at
    most)."""
    kind = params.get("incomeType", "")
    start = int(params.get("startTime", "0"))
    end = int(params.get("endTime", str(2**62)))
    limit = min(int(params.get("limit", "100")), 1000)
    kept = [
        r
        for r in rows
        if (not symbol or r["symbol"] == symbol)
        and (not kind or r["incomeType"] == kind)
        and start <= r["time"] <= end
    ]
    return kept[:limit]


def _symbol_config(symbol: str, venue: FuturesVenue) -> dict[str, Any]:
    """One ``GET /fapi/v1/symbolConfig`` row: the margin type and leverage of ``symbol``."""
    return {
        "symbol": _id(symbol),
        "marginType": "ISOLATED" if symbol in venue.isolated else "CROSSED",
        "isAutoAddMargin": "false",
        "leverage": venue.leverage[symbol],
        "maxNotionalValue": "1000000000",
    }


def _id(symbol: str) -> str:
    return symbol.replace("/", "")


def _brackets(symbol: str, leverage: int) -> dict[str, Any]:
    """One ``leverageBracket`` row: a single bracket (no maintenance tiers modelled)."""
    return {
        "symbol": _id(symbol),
        "brackets": [
            {
                "bracket": 1,
                "initialLeverage": max(leverage, DEFAULT_LEVERAGE),
                "notionalCap": 1_000_000_000,
                "notionalFloor": 0,
                "maintMarginRatio": 0.0,
                "cum": 0.0,
            }
        ],
    }
