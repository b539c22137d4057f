"""The local exchange's HTTP side (aiohttp) and the replay driver.

REST (Binance spot, ``/api/v3``): ``ping``, ``time`` (the replay clock), ``exchangeInfo``,
``klines``, ``ticker/24hr``, ``ticker/price``, ``ticker/bookTicker``, ``depth``, ``aggTrades``,
``trades``; signed: ``account``, ``order`` (POST/GET/DELETE), ``openOrders`` (GET/DELETE),
``allOrders`` and ``myTrades`` (Binance's limits, ids and times:
`engine.adapters.local.history`), order lists (``orderList/oco`` POST, ``orderList``
GET/DELETE, ``openOrderList``: `engine.adapters.local.lists`), ``order/cancelReplace`` POST
(`engine.adapters.local.replace`); API key only: ``userDataStream`` (POST/PUT/DELETE).
The same routes answer under ``/api/v1``. An exchange of perpetuals (`FuturesVenue`) also
serves Binance's USDⓈ-M futures API under ``/fapi``
(`engine.adapters.local.fapi`) and its websockets (``/market/ws``, ``/public/ws``,
``/private/ws``). Admin: ``/_admin/...`` (`engine.adapters.local.admin`).

Auth, as Binance does it: any API key (header ``X-MBX-APIKEY``) is accepted; signed
endpoints need ``signature`` = hex HMAC-SHA256 with the configured secret of the query
string followed by the body, with the ``signature`` parameter removed (``-1022`` otherwise),
and a ``timestamp`` no more than 1 s ahead of and ``recvWindow`` (default 5000 ms, at most
60000) behind the *wall clock* (``-1021``): clients sign with their own clock, while market
data and order times follow the replay clock. Do not enable ccxt's
``adjustForTimeDifference`` against it.

Speed: ``speed`` replay seconds pass per wall second (``60``: an hourly bar each minute);
``None`` ("max") steps as fast as the websocket clients take the messages — with nobody
connected it runs straight to the last bar, leaving the whole history closed (what a
download wants). ``paused`` keeps the clock still until `resume` or `advance` (what a test
or a step-by-step session wants).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import urllib.parse
from typing import Any

from aiohttp import web

from engine.adapters.local import history, lists, payloads, replace
from engine.adapters.local.admin import AdminRoutes
from engine.adapters.local.fapi import FapiRoutes
from engine.adapters.local.faults import Faults
from engine.adapters.local.futures import FuturesVenue
from engine.adapters.local.replay import Replay
from engine.adapters.local.streams import StreamHub
from engine.adapters.local.venue import BinanceError, Venue

__all__ = ["ExchangeApp"]

_DELAY = web.RequestKey("delay_s", float)  # an injected timeout's delay, set per request
_SIGNED = ("account", "order", "openOrders", "allOrders", "myTrades", *lists.ENDPOINTS,
           replace.ENDPOINT)  # fmt: skip


_json = payloads.json_response
_error = payloads.error_response


class ExchangeApp(AdminRoutes):
    """Routes, auth, faults and the replay driver of one local exchange."""

    def __init__(
        self,
        replay: Replay,
        venue: Venue,
        faults: Faults,
        secret: str,
        speed: float | None,
        paused: bool,
    ) -> None:
        """Serve ``replay`` and ``venue``; signatures are checked with ``secret``."""
        self.replay = replay
        self.venue = venue
        self.faults = faults
        self.secret = secret
        self.speed = speed
        self.listen_keys: set[str] = set()
        self.hub = StreamHub(self)
        self.book_versions = dict.fromkeys(replay.markets, 1)
        self.running = asyncio.Event()
        if not paused:
            self.running.set()
        self.lock = asyncio.Lock()
        self.app = web.Application(middlewares=[self._faults_middleware])
        self._routes()

    def _routes(self) -> None:
        add = self.app.router.add_route
        for prefix in ("/api/v3", "/api/v1"):
            add("GET", f"{prefix}/ping", self.ping)
            add("GET", f"{prefix}/time", self.time)
            add("GET", f"{prefix}/exchangeInfo", self.exchange_info)
            add("GET", f"{prefix}/klines", self.klines)
            add("GET", f"{prefix}/ticker/24hr", self.ticker_24h)
            add("GET", f"{prefix}/ticker/price", self.ticker_price)
            add("GET", f"{prefix}/ticker/bookTicker", self.book_ticker)
            add("GET", f"{prefix}/depth", self.depth)
            add("GET", f"{prefix}/aggTrades", self.agg_trades)
            add("GET", f"{prefix}/trades", self.agg_trades)
            add("POST", f"{prefix}/{{endpoint:orderList/oco}}", self.signed)
            add("POST", f"{prefix}/{{endpoint:order/cancelReplace}}", self.signed)
            for method in ("GET", "POST", "DELETE"):
                add(method, f"{prefix}/{{endpoint}}", self.signed)
            for method in ("POST", "PUT", "DELETE"):
                add(method, f"{prefix}/userDataStream", self.user_data_stream)
        if isinstance(self.venue, FuturesVenue):
            public = {"ping": self.ping, "time": self.time, "klines": self.klines,
                      "depth": self.depth}  # fmt: skip
            FapiRoutes(self, self.venue).register(self.app.router, public)
            # USDⓈ-M's websocket addresses, as ccxt.pro dials them for a linear market:
            # klines on /market/ws, books and trades on /public/ws, the listenKey's
            # account events on /private/ws?listenKey=...
            for category in ("market", "public", "private"):
                self.app.router.add_get(f"/{category}/ws", self.hub.handle)
                self.app.router.add_get(f"/{category}/ws/{{name}}", self.hub.handle)
        self.app.router.add_get("/ws", self.hub.handle)
        self.app.router.add_get("/ws/{name}", self.hub.handle)
        self.app.router.add_get("/stream", self.hub.handle)
        self.app.router.add_get("/ws-api/v3", self.hub.handle_api)
        self.app.router.add_post("/_admin/fault", self.admin_fault)
        self.app.router.add_post("/_admin/advance", self.admin_advance)
        self.app.router.add_post("/_admin/pause", self.admin_pause)
        self.app.router.add_post("/_admin/adjust", self.admin_adjust)
        self.app.router.add_post("/_admin/resume", self.admin_resume)
        self.app.router.add_get("/_admin/state", self.admin_state)

    # -- faults ---------------------------------------------------------------------------

    def http_fault(self, request: web.Request) -> web.Response | None:
        """Return the injected error answer for this request, or None to serve it."""
        if request.path.startswith("/_admin"):
            return None
        fault = self.faults.take_http(request.path)
        if fault is None:
            return None
        if fault.kind == "timeout":
            request[_DELAY] = fault.delay_s
            return None
        if fault.kind in ("rate_limit", "ban"):
            status = 429 if fault.kind == "rate_limit" else 418
            word = "Too many requests" if status == 429 else "Way too many requests; IP banned"
            return _json(
                {"code": -1003, "msg": f"{word} (injected fault)."},
                status=status,
                headers={"Retry-After": str(fault.retry_after_s)},
            )
        return web.Response(status=fault.status, text="Service unavailable (injected fault).")

    @web.middleware
    async def _faults_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(("/ws", "/stream")):
            served: web.StreamResponse = await handler(request)  # websockets check faults
            return served
        blocked = self.http_fault(request)
        if blocked is not None:
            return blocked
        response: web.StreamResponse = await handler(request)
        delay = request.get(_DELAY)
        if delay:
            # The work is done (an order exists); the answer comes too late or never.
            await asyncio.sleep(delay)
        return response

    # -- auth -----------------------------------------------------------------------------

    def check_signature(self, query: str, body: str) -> BinanceError | None:
        """Return the auth error of a signed request (raw query string and body), or None."""
        parts = [p for p in (query, body) if p]
        signature = ""
        kept: list[str] = []
        for part in parts:
            pieces = part.split("&")
            for piece in pieces:
                if piece.startswith("signature="):
                    signature = piece.partition("=")[2]
            kept.append("&".join(p for p in pieces if not p.startswith("signature=")))
        payload = "".join(kept)
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.lower(), expected):
            return BinanceError(400, -1022, "Signature for this request is not valid.")
        return None

    def check_ws_signature(self, params: dict[str, str]) -> BinanceError | None:
        """Check a ws-api signature: HMAC of the other params sorted by name, ``k=v&...``.

        Binance documents the values as written; ccxt URL-encodes them: both are accepted.
        """
        signature = params.get("signature", "").lower()
        others = sorted((k, v) for k, v in params.items() if k != "signature")
        payloads = {"&".join(f"{k}={v}" for k, v in others), urllib.parse.urlencode(others)}
        key = self.secret.encode()
        if not any(
            hmac.compare_digest(signature, hmac.new(key, p.encode(), hashlib.sha256).hexdigest())
            for p in payloads
        ):
            return BinanceError(400, -1022, "Signature for this request is not valid.")
        return self._check_timestamp(params)

    def _check_timestamp(self, params: dict[str, str]) -> BinanceError | None:
        try:
            stamp = int(params["timestamp"])
            window = min(int(params.get("recvWindow", "5000")), 60_000)
        except (KeyError, ValueError):
            return BinanceError(400, -1102, "Mandatory parameter 'timestamp' was not sent.")
        now = int(time.time() * 1000)
        if stamp > now + 1000 or now - stamp > window:
            return BinanceError(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return None

    async def params(self, request: web.Request, signed: bool) -> dict[str, str]:
        body = await request.text() if request.can_read_body else ""
        params = dict(request.query)
        if body:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        if signed:
            if not request.headers.get("X-MBX-APIKEY"):
                raise BinanceError(401, -2014, "API-key format invalid.")
            # The raw (still percent-encoded) query: the client signed exactly those bytes.
            error = self.check_signature(request.rel_url.raw_query_string, body)
            error = error or self._check_timestamp(params)
            if error is not None:
                raise error
        return {k: str(v) for k, v in params.items()}

    # -- public ---------------------------------------------------------------------------

    async def ping(self, request: web.Request) -> web.Response:
        """GET ping."""
        return _json({})

    async def time(self, request: web.Request) -> web.Response:
        """GET time: the replay clock."""
        return _json({"serverTime": self.replay.now_ms})

    async def exchange_info(self, request: web.Request) -> web.Response:
        """GET exchangeInfo."""
        info = payloads.exchange_info(self.venue.instruments, self.replay.now_ms)
        return _json(info)

    def _market(self, params: dict[str, str]) -> Any:
        instrument = self.venue.instrument(params.get("symbol", ""))
        return self.replay.markets[instrument.symbol], instrument

    async def klines(self, request: web.Request) -> web.Response:
        """GET klines: closed bars plus the in-progress one (only its open known)."""
        try:
            params = await self.params(request, signed=False)
            market, _ = self._market(params)
            if params.get("interval") != payloads.interval(market):
                raise BinanceError(400, -1120, "Invalid interval.")
            limit = min(int(params.get("limit", "500")), 1000)
            start = int(params["startTime"]) if "startTime" in params else None
            end = int(params["endTime"]) if "endTime" in params else None
        except BinanceError as exc:
            return _error(exc)
        except ValueError:
            return _error(BinanceError(400, -1100, "Illegal characters found in a parameter."))
        rows = market.klines(self.replay.now_ms, start, end, limit)
        return _json([payloads.kline_row(k) for k in rows])

    async def ticker_24h(self, request: web.Request) -> web.Response:
        """GET ticker/24hr, one symbol or all."""
        return await self._tickers(request, lambda m, i: payloads.ticker_24h(m, i, self.now))

    async def ticker_price(self, request: web.Request) -> web.Response:
        """GET ticker/price, one symbol or all."""

        def price(market: Any, _: Any) -> dict[str, Any]:
            value = market.price(self.now) or 0.0
            return {"symbol": market.symbol.replace("/", ""), "price": payloads.fmt(value)}

        return await self._tickers(request, price)

    async def book_ticker(self, request: web.Request) -> web.Response:
        """GET ticker/bookTicker, one symbol or all."""

        def top(market: Any, instrument: Any) -> dict[str, Any]:
            bids, asks = payloads.book(market, instrument, self.now, 1)
            return {
                "symbol": market.symbol.replace("/", ""),
                "bidPrice": bids[0][0],
                "bidQty": bids[0][1],
                "askPrice": asks[0][0],
                "askQty": asks[0][1],
            }

        return await self._tickers(request, top)

    async def _tickers(self, request: web.Request, build: Any) -> web.Response:
        params = await self.params(request, signed=False)
        if "symbol" in params:
            try:
                market, instrument = self._market(params)
            except BinanceError as exc:
                return _error(exc)
            return _json(build(market, instrument))
        rows = [build(self.replay.markets[s], i) for s, i in sorted(self.venue.instruments.items())]
        return _json(rows)

    async def depth(self, request: web.Request) -> web.Response:
        """GET depth: the synthetic book and its update id."""
        try:
            params = await self.params(request, signed=False)
            market, instrument = self._market(params)
        except BinanceError as exc:
            return _error(exc)
        levels = min(int(params.get("limit", "100")), payloads.BOOK_LEVELS)
        bids, asks = payloads.book(market, instrument, self.now, levels)
        version = self.book_versions[market.symbol]
        return _json({"lastUpdateId": version, "bids": bids, "asks": asks})

    async def agg_trades(self, request: web.Request) -> web.Response:
        """GET aggTrades / trades: the synthetic trade of every visible bar open."""
        try:
            params = await self.params(request, signed=False)
            market, _ = self._market(params)
        except BinanceError as exc:
            return _error(exc)
        visible = market.visible_count(self.now)
        limit = min(int(params.get("limit", "500")), 1000)
        if "fromId" in params:
            first = max(int(params["fromId"]) - 1, 0)
        elif "startTime" in params:
            first = market.klines(self.now, int(params["startTime"]), None, 1)
            first = market.open_ms.index(first[0].open_ms) if first else visible
        else:
            first = max(visible - limit, 0)
        rows = [payloads.trade_of(market, i) for i in range(first, min(visible, first + limit))]
        if "endTime" in params:
            rows = [r for r in rows if r["T"] <= int(params["endTime"])]
        if request.path.endswith("/trades"):
            rows = [
                {
                    "id": r["a"],
                    "price": r["p"],
                    "qty": r["q"],
                    "time": r["T"],
                    "isBuyerMaker": False,
                }
                for r in rows
            ]
        return _json(rows)

    # -- private --------------------------------------------------------------------------

    async def signed(self, request: web.Request) -> web.StreamResponse:
        """Signed endpoints: account, order, openOrders, allOrders, myTrades."""
        endpoint = request.match_info["endpoint"]
        if endpoint not in _SIGNED:
            return _json({"code": -1, "msg": f"No endpoint {endpoint}."}, status=404)
        try:
            params = await self.params(request, signed=True)
            async with self.lock:
                result = self._private(request.method, endpoint, params)
        except BinanceError as exc:
            await self.flush_user()
            return _error(exc)
        await self.flush_user()
        return _json(result)

    def _private(self, method: str, endpoint: str, params: dict[str, str]) -> Any:
        venue = self.venue
        symbol = params.get("symbol", "")
        if endpoint in lists.ENDPOINTS:
            return lists.private(venue, method, endpoint, params)
        if endpoint == replace.ENDPOINT:
            return replace.cancel_replace(venue, params)
        if endpoint == "account":
            return {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": True,
                "canWithdraw": False,
                "canDeposit": False,
                "updateTime": self.now,
                "accountType": "SPOT",
                "balances": venue.balances_json(),
                "permissions": ["SPOT"],
                "uid": 1,
            }
        if endpoint == "order":
            if method == "POST":
                order = venue.create(params)
                return {**order.as_json(), "transactTime": self.now, "fills": order.fills}
            if method == "DELETE":
                order = venue.cancel(symbol, params.get("orderId"), params.get("origClientOrderId"))
                return {**order.as_json(), "origClientOrderId": order.client_id}
            return venue.find(
                symbol, params.get("orderId"), params.get("origClientOrderId")
            ).as_json()
        if endpoint == "allOrders":
            return history.all_orders(venue, params)
        if endpoint == "myTrades":
            return history.my_trades(venue, params)
        if symbol:  # openOrders: one symbol's, or every symbol's
            venue.instrument(symbol)
        open_orders = [
            o
            for o in venue.orders.values()
            if o.open and (not symbol or o.symbol.replace("/", "") == symbol)
        ]
        if method == "DELETE":
            return [venue.cancel(symbol, str(o.order_id), None).as_json() for o in open_orders]
        return [o.as_json() for o in open_orders]

    async def user_data_stream(self, request: web.Request) -> web.Response:
        """POST makes a listenKey, PUT keeps it alive, DELETE closes it (API key only)."""
        if not request.headers.get("X-MBX-APIKEY"):
            return _error(BinanceError(401, -2014, "API-key format invalid."))
        params = await self.params(request, signed=False)
        if request.method == "POST":
            key = secrets.token_hex(32)
            self.listen_keys.add(key)
            return _json({"listenKey": key})
        key = params.get("listenKey", "")
        if key not in self.listen_keys:
            return _error(BinanceError(400, -1125, "This listenKey does not exist."))
        if request.method == "DELETE":
            self.listen_keys.discard(key)
        return _json({})

    async def flush_user(self) -> None:
        events, self.venue.events = self.venue.events, []
        if events:
            await self.hub.publish_user(events)

    # -- replay driver --------------------------------------------------------------------

    async def step(self) -> bool:
        """Advance the replay one boundary, match orders, publish streams; False at the end."""
        async with self.lock:
            if self.replay.finished:
                return False
            before = {
                s: payloads.book(m, self.venue.instruments[s], self.now, payloads.BOOK_LEVELS)
                for s, m in self.replay.markets.items()
            }
            closed, opened = self.replay.step()
            self.venue.on_bars(closed, opened)
        now = self.now
        for symbol, kline in [*closed, *opened]:
            market = self.replay.markets[symbol]
            event = payloads.kline_event(market, kline, now)
            await self.hub.publish(
                f"{market.symbol.replace('/', '').lower()}@kline_{payloads.interval(market)}", event
            )
        for symbol, kline in opened:
            market = self.replay.markets[symbol]
            stream = market.symbol.replace("/", "").lower()
            index = market.open_ms.index(kline.open_ms)
            for kind in ("trade", "aggTrade"):
                await self.hub.publish(
                    f"{stream}@{kind}", payloads.trade_event(market, index, kind)
                )
        for symbol in sorted({s for s, _ in [*closed, *opened]}):
            await self._publish_depth(symbol, before[symbol])
        await self.flush_user()
        return True

    async def _publish_depth(self, symbol: str, before: Any) -> None:
        market = self.replay.markets[symbol]
        bids, asks = payloads.book(
            market, self.venue.instruments[symbol], self.now, payloads.BOOK_LEVELS
        )
        self.book_versions[symbol] += 1
        version = self.book_versions[symbol]

        def diff(old: list[list[str]], new: list[list[str]]) -> list[list[str]]:
            prices = {level[0] for level in new}
            return [[p, "0.00000000"] for p, _ in old if p not in prices] + new

        stream = market.symbol.replace("/", "").lower()
        event = {
            "e": "depthUpdate",
            "E": self.now,
            "s": stream.upper(),
            "U": version,
            "u": version,
            "b": diff(before[0], bids),
            "a": diff(before[1], asks),
        }
        for name in (f"{stream}@depth", f"{stream}@depth@100ms"):
            await self.hub.publish(name, event)

    async def drive(self) -> None:
        """Run the replay: at ``speed`` replay-seconds per second, or as fast as clients read."""
        wall_start = time.monotonic()
        replay_start = self.now
        while not self.replay.finished:
            if not self.running.is_set():
                await self.running.wait()
                wall_start, replay_start = time.monotonic(), self.now
            if self.speed is not None:
                next_ms = self.replay.next_ms()
                assert next_ms is not None
                due = wall_start + (next_ms - replay_start) / 1000.0 / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._paused(), timeout=delay)
                        continue  # paused meanwhile: restart the timing after resume
                    except TimeoutError:
                        pass
            await self.step()
            await asyncio.sleep(0)

    async def _paused(self) -> None:
        while self.running.is_set():
            await asyncio.sleep(0.05)
