"""ccxt's request-weight limiter: on against an exchange, off against the local one (which
weighs nothing), so a practice run is not paced by Binance's weights (no network is used).

With it on, ccxt sleeps ``rateLimit × cost`` before each call: on USDⓈ-M ``userTrades`` costs
5 (0.25 s), ``income`` 30 (1.5 s) — most of a perpetual lockstep run's time, idle."""

from __future__ import annotations

import pytest

from engine.adapters.ccxt.user import open_user_exchange
from engine.adapters.ccxt.venue import Credentials, open_trading_exchange

KEYS = Credentials("key", "secret")
LOCAL = "http://127.0.0.1:9"


@pytest.mark.parametrize("perpetual", [False, True])
def test_the_local_exchange_is_not_throttled_by_binances_weights(perpetual: bool) -> None:
    assert open_trading_exchange("binance", KEYS, sandbox=True, perpetual=perpetual,
                                 local_url=LOCAL).enableRateLimit is False  # fmt: skip
    user = open_user_exchange("binance", KEYS, sandbox=True, perpetual=perpetual, local_url=LOCAL)
    assert user.enableRateLimit is False


@pytest.mark.parametrize("sandbox", [False, True])
def test_an_exchange_is_throttled(sandbox: bool) -> None:
    assert open_trading_exchange("binance", KEYS, sandbox=sandbox).enableRateLimit is True
    assert open_trading_exchange("binance", KEYS, sandbox=sandbox,
                                 perpetual=True).enableRateLimit is True  # fmt: skip
