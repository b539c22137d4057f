"""What each exchange offers, as data (the download and the node read it, never branch on ids).

ccxt already describes most of it: ``exchange.timeframes`` (the timeframes ``fetch_ohlcv``
accepts), ``exchange.has`` (``fetchOHLCV``, ``fetchTrades``, ``watchOHLCV``, ``fetchTime``...).
This table adds what ccxt leaves out: how many candles/trades one request may ask for, and
how often a healthy candle websocket speaks (the live feed's staleness bound). Exchanges not
listed get `DEFAULT`; ``"local"`` is Kestrel's local exchange (`engine.adapters.local`),
which speaks Binance's API but sends a candle only when it opens and when it closes.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAPABILITIES", "DEFAULT", "Capabilities", "capabilities"]


@dataclass(frozen=True)
class Capabilities:
    """Page sizes of one exchange's history endpoints, and its candle stream's cadence.

    Attributes:
        ohlcv_page_limit: Most candles one ``fetch_ohlcv`` returns.
        trades_page_limit: Most trades one ``fetch_trades`` returns.
        trades_window_ms: The time span one ``fetch_trades`` call covers from ``since``
            (Binance: one hour); an empty page then means "no trades in this window", not
            "no more trades", and the download moves on by the window. None: unbounded.
        candle_push_s: How often the candle websocket resends the in-progress candle
            (Binance: every 2 s). None: only when a candle opens or closes, so silence
            is normal for up to a timeframe. The live feed declares a candle stream stale
            after 15 pushes' worth of silence (at least 30 s) when this is known, else
            after a timeframe and a tenth.
    """

    ohlcv_page_limit: int = 500
    trades_page_limit: int = 500
    trades_window_ms: int | None = None
    candle_push_s: float | None = None


DEFAULT = Capabilities()
CAPABILITIES: dict[str, Capabilities] = {
    "binance": Capabilities(
        ohlcv_page_limit=1000,
        trades_page_limit=1000,
        trades_window_ms=3_600_000,
        candle_push_s=2.0,
    ),
    "binanceus": Capabilities(
        ohlcv_page_limit=1000,
        trades_page_limit=1000,
        trades_window_ms=3_600_000,
        candle_push_s=2.0,
    ),
    "local": Capabilities(
        ohlcv_page_limit=1000, trades_page_limit=1000, trades_window_ms=3_600_000
    ),
    "bybit": Capabilities(ohlcv_page_limit=1000, trades_page_limit=1000),
    "okx": Capabilities(ohlcv_page_limit=300, trades_page_limit=100),
    "kraken": Capabilities(ohlcv_page_limit=720, trades_page_limit=1000),
    "coinbase": Capabilities(ohlcv_page_limit=300, trades_page_limit=1000),
    "bitfinex": Capabilities(ohlcv_page_limit=10000, trades_page_limit=10000),
    "kucoin": Capabilities(ohlcv_page_limit=1500, trades_page_limit=100),
}


def capabilities(exchange_id: str) -> Capabilities:
    """Return the capabilities of ``exchange_id`` (`DEFAULT` when unlisted)."""
    return CAPABILITIES.get(exchange_id, DEFAULT)
