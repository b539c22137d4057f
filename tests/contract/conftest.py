"""Fixtures for tests against the local exchange: real ccxt clients on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from engine.model import Instrument

REPO = Path(__file__).resolve().parents[2]
BTC_CSV = REPO / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
SECRET = "test-secret"
BTC = Instrument(
    "BTC/USDT",
    quote_currency="USDT",
    tick_size=0.01,
    lot_size=0.00001,
    min_quantity=0.00001,
    min_notional=10.0,
)


def btc_rows(count: int, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    """Return the first ``count`` rows of the BTC/USDT sample, without the ``drop`` positions."""
    frame = pd.read_csv(BTC_CSV).iloc[:count]
    return frame.drop(frame.index[list(drop)]).reset_index(drop=True)


def make_exchange(
    rows: pd.DataFrame, extra: dict[str, pd.DataFrame] | None = None, **options: Any
) -> LocalExchange:
    """Return a started local exchange replaying ``rows`` as BTC/USDT 1h bars (+ ``extra``)."""
    frames = [load_bars(rows, symbol="BTC/USDT", timeframe="1h")]
    instruments = {"BTC/USDT": BTC}
    for symbol, more in (extra or {}).items():
        frames.append(load_bars(more, symbol=symbol, timeframe="1h"))
        instruments[symbol] = Instrument(symbol, quote_currency="USDT", lot_size=0.0001)
    exchange = LocalExchange(frames, instruments, secret=SECRET, **options)
    exchange.start()
    return exchange


def ccxt_client(exchange: LocalExchange, pro: bool = False, **config: Any) -> Any:
    """Return a ccxt (or ccxt.pro) binance client pointed at ``exchange``."""
    import ccxt
    import ccxt.pro

    module = ccxt.pro if pro else ccxt
    client = module.binance(
        {
            "apiKey": "any-key",
            "secret": SECRET,
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
            **config,
        }
    )
    client.urls["api"] = exchange.ccxt_urls()
    return client


@pytest.fixture
def exchange_factory() -> Iterator[Callable[..., LocalExchange]]:
    """Return ``make(rows, **options)``; every exchange made is stopped after the test."""
    yield from exchange_makers()


def exchange_makers() -> Iterator[Callable[..., LocalExchange]]:
    """Yield ``make(rows, **options)``, then stop every exchange it made (fixture body)."""
    made: list[LocalExchange] = []

    def make(rows: pd.DataFrame, **options: Any) -> LocalExchange:
        exchange = make_exchange(rows, **options)  # extra= adds symbols
        made.append(exchange)
        return exchange

    yield make
    for exchange in made:
        exchange.stop()
