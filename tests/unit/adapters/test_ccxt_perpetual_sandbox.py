"""Where ``sandbox = true`` sends a perpetuals account: Binance's demo trading, since ccxt
4.5.90 refuses its retired futures testnet; spot keeps the testnet (no network is used)."""

from __future__ import annotations

import ccxt.pro

from engine.adapters.ccxt.user import open_user_exchange
from engine.adapters.ccxt.venue import Credentials, open_trading_exchange

KEYS = Credentials("key", "secret")


def test_a_sandboxed_perpetuals_account_trades_on_binances_demo() -> None:
    rest = open_trading_exchange("binance", KEYS, sandbox=True, perpetual=True)
    assert "demo-fapi.binance.com" in rest.urls["api"]["fapiPrivate"]
    assert rest.options["enableDemoTrading"] is True
    assert not rest.isSandboxModeEnabled
    user = open_user_exchange("binance", KEYS, sandbox=True, perpetual=True)
    assert isinstance(user, ccxt.pro.binance)
    assert "demo-fapi.binance.com" in user.urls["api"]["fapiPrivate"]


def test_spot_keeps_the_testnet_and_real_money_neither() -> None:
    spot = open_trading_exchange("binance", KEYS, sandbox=True)
    assert spot.isSandboxModeEnabled
    assert "testnet.binance.vision" in spot.urls["api"]["private"]
    real = open_trading_exchange("binance", KEYS, sandbox=False, perpetual=True)
    assert real.urls["api"]["fapiPrivate"].startswith("https://fapi.binance.com")
