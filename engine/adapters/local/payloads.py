"""Binance JSON shapes of the replayed market: exchangeInfo, klines, tickers, book, trades.

The order book is synthetic (the replay has bars, not quotes): up to `BOOK_LEVELS` asks from the
market price up, as many bids from one tick below it down, each of
``max(lot, last closed volume / 100)``. It is indicative only: market orders fill at the
market price (see `engine.adapters.local.venue`), whatever the book shows.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from engine.adapters.local.replay import Kline, Market
from engine.adapters.local.venue import STOP_TYPES, BinanceError, fmt, split_symbol
from engine.feeds import format_timeframe
from engine.model import Instrument

__all__ = [
    "BOOK_LEVELS",
    "book",
    "error_response",
    "exchange_info",
    "fmt",
    "interval",
    "json_response",
    "kline_event",
    "kline_row",
    "ticker_24h",
    "trade_event",
]


BOOK_LEVELS = 20  # levels per side of the synthetic book (snapshots never show more)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer JSON without spaces, as Binance does (``{"code":-1121,"msg":"..."}``)."""
    body = json.dumps(data, separators=(",", ":"))
    return web.Response(text=body, status=status, headers=headers, content_type="application/json")


def error_response(error: BinanceError) -> web.Response:
    """Answer a Binance error: its HTTP status, body ``{"code": ..., "msg": ...}`` (with
    ``"data"`` when the error has it)."""
    body: dict[str, Any] = {"code": error.code, "msg": error.msg}
    if error.data is not None:
        body["data"] = error.data
    return json_response(body, status=error.status)


def interval(market: Market) -> str:
    """Return the market's Binance interval name (``"1h"``)."""
    return format_timeframe(market.timeframe_ms * 1_000_000)


def exchange_info(instruments: dict[str, Instrument], server_ms: int) -> dict[str, Any]:
    """Return GET /api/v3/exchangeInfo for the replayed symbols."""
    symbols = []
    for symbol, instrument in sorted(instruments.items()):
        base, quote_asset = split_symbol(instrument)
        symbols.append(
            {
                "symbol": symbol.replace("/", ""),
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote_asset,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", *STOP_TYPES],
                "icebergAllowed": False,
                "ocoAllowed": False,
                "otoAllowed": False,
                "quoteOrderQtyMarketAllowed": False,
                "allowTrailingStop": False,
                "cancelReplaceAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": fmt(instrument.tick_size),
                        "maxPrice": fmt(1e9),
                        "tickSize": fmt(instrument.tick_size),
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": fmt(max(instrument.min_quantity, instrument.lot_size)),
                        "maxQty": fmt(1e9),
                        "stepSize": fmt(instrument.lot_size),
                    },
                    {
                        "filterType": "NOTIONAL",
                        "minNotional": fmt(instrument.min_notional),
                        "applyMinToMarket": True,
                        "maxNotional": fmt(1e12),
                        "applyMaxToMarket": False,
                        "avgPriceMins": 5,
                    },
                ],
                "permissions": [],
                "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "NONE",
                "allowedSelfTradePreventionModes": ["NONE"],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            }
        ],
        "exchangeFilters": [],
        "symbols": symbols,
    }


def kline_row(kline: Kline) -> list[Any]:
    """Return one row of GET /api/v3/klines (Binance's close time is the last ms of the bar)."""
    return [
        kline.open_ms,
        fmt(kline.open),
        fmt(kline.high),
        fmt(kline.low),
        fmt(kline.close),
        fmt(kline.volume),
        kline.close_ms - 1,
        fmt(kline.volume * kline.close),
        1 if kline.closed else 0,
        fmt(0.0),
        fmt(0.0),
        "0",
    ]


def kline_event(market: Market, kline: Kline, now_ms: int) -> dict[str, Any]:
    """Return the ``<symbol>@kline_<interval>`` payload of ``kline``."""
    symbol_id = market.symbol.replace("/", "")
    return {
        "e": "kline",
        "E": now_ms,
        "s": symbol_id,
        "k": {
            "t": kline.open_ms,
            "T": kline.close_ms - 1,
            "s": symbol_id,
            "i": interval(market),
            "f": -1,
            "L": -1,
            "o": fmt(kline.open),
            "c": fmt(kline.close),
            "h": fmt(kline.high),
            "l": fmt(kline.low),
            "v": fmt(kline.volume),
            "n": 1 if kline.closed else 0,
            "x": kline.closed,
            "q": fmt(kline.volume * kline.close),
            "V": fmt(0.0),
            "Q": fmt(0.0),
            "B": "0",
        },
    }


def trade_of(market: Market, index: int) -> dict[str, Any]:
    """Return bar ``index``'s synthetic trade as an aggTrades row (id = index + 1)."""
    return {
        "a": index + 1,
        "p": fmt(market.columns["open"][index]),
        "q": fmt(market.columns["volume"][index]),
        "f": index + 1,
        "l": index + 1,
        "T": market.open_ms[index],
        "m": False,
        "M": True,
    }


def trade_event(market: Market, index: int, kind: str) -> dict[str, Any]:
    """Return the ``@trade`` (``kind="trade"``) or ``@aggTrade`` payload of bar ``index``."""
    row = trade_of(market, index)
    event = {"e": kind, "E": row["T"], "s": market.symbol.replace("/", ""), **row}
    if kind == "trade":
        event["t"] = event.pop("a")
        for key in ("f", "l"):
            event.pop(key)
    return event


def book(
    market: Market, instrument: Instrument, now_ms: int, levels: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Return the synthetic ``(bids, asks)`` around the market price at ``now_ms``."""
    price = market.price(now_ms)
    if price is None:
        return [], []
    closed = market.visible_count(now_ms) - 1
    volume = market.columns["volume"][closed - 1] if closed >= 1 else 0.0
    size = fmt(max(instrument.lot_size, volume / 100.0))
    tick = instrument.tick_size
    asks = [[fmt(instrument.round_price(price + k * tick)), size] for k in range(levels)]
    bids = [[fmt(instrument.round_price(price - (k + 1) * tick)), size] for k in range(levels)]
    return bids, [a for a in asks if float(a[0]) > 0]


def ticker_24h(market: Market, instrument: Instrument, now_ms: int) -> dict[str, Any]:
    """Return GET /api/v3/ticker/24hr of the last 24 h of visible bars."""
    rows = market.klines(now_ms, now_ms - 86_400_000, None, 100_000)
    last = market.price(now_ms) or 0.0
    first = rows[0].open if rows else last
    high = max((k.high for k in rows), default=last)
    low = min((k.low for k in rows), default=last)
    volume = sum(k.volume for k in rows)
    quote_volume = sum(k.volume * k.close for k in rows)
    bids, asks = book(market, instrument, now_ms, 1)
    return {
        "symbol": market.symbol.replace("/", ""),
        "priceChange": fmt(last - first),
        "priceChangePercent": f"{(last / first - 1) * 100 if first else 0.0:.3f}",
        "weightedAvgPrice": fmt(quote_volume / volume if volume else last),
        "prevClosePrice": fmt(first),
        "lastPrice": fmt(last),
        "lastQty": fmt(0.0),
        "bidPrice": bids[0][0] if bids else fmt(0.0),
        "bidQty": bids[0][1] if bids else fmt(0.0),
        "askPrice": asks[0][0] if asks else fmt(0.0),
        "askQty": asks[0][1] if asks else fmt(0.0),
        "openPrice": fmt(first),
        "highPrice": fmt(high),
        "lowPrice": fmt(low),
        "volume": fmt(volume),
        "quoteVolume": fmt(quote_volume),
        "openTime": rows[0].open_ms if rows else now_ms,
        "closeTime": now_ms,
        "firstId": -1,
        "lastId": -1,
        "count": len(rows),
    }
