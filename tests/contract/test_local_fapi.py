"""The local exchange's USDⓈ-M perpetual API (``/fapi``) against ccxt 4.5.90's binance and
through `CcxtExchange` (issue 15: positions for derivatives).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05);
10,000 USDT; fee 0.04 %.
"""

from __future__ import annotations

from typing import Any

import ccxt
import numpy as np
import pytest

from engine.adapters.ccxt.contract import Action
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    OrderCallFailed,
    OrderSpec,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from engine.portfolio.accounts import FundingRates
from tests.contract.conftest import BTC, SECRET, btc_rows

OPEN = 18818.05  # row 100's open: where market orders fill
FEE = 0.0004


def perpetual_exchange(funding: FundingRates | None = None) -> LocalExchange:
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    exchange = LocalExchange(
        [frame], {"BTC/USDT": BTC}, secret=SECRET, paused=True, history=100,
        fee_rate=FEE, perpetual=True, funding={"BTC/USDT": funding} if funding else None,
    )  # fmt: skip
    exchange.start()
    return exchange


@pytest.fixture
def local() -> Any:
    exchange = perpetual_exchange()
    yield exchange
    exchange.stop()


def venue(local: LocalExchange) -> CcxtExchange:
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"],
        perpetual=True,
    )  # fmt: skip
    client.enableRateLimit = False
    return CcxtExchange(client, RetryPolicy(attempts=2, backoff_s=0.0), wall_clock_ms,
                        perpetuals=["BTC/USDT"])  # fmt: skip


def test_ccxt_loads_the_perpetual_market_with_its_rules(local: LocalExchange) -> None:
    exchange = venue(local)
    exchange.load()
    market = exchange.exchange.markets["BTC/USDT:USDT"]
    assert (market["swap"], market["linear"], market["settle"]) == (True, True, "USDT")
    assert exchange.instruments(["BTC/USDT"])["BTC/USDT"] == BTC
    assert exchange.hedge_mode("BTC/USDT") is False


def test_positions_after_a_short_and_a_long(local: LocalExchange) -> None:
    exchange = venue(local)
    exchange.set_leverage("BTC/USDT", 3)
    assert local.venue.leverage["BTC/USDT"] == 3  # type: ignore[attr-defined]
    assert exchange.positions(["BTC/USDT"])["BTC/USDT"].quantity == 0.0
    short = exchange.create(OrderSpec("s1", "BTC/USDT", "sell", "market", 0.05))
    assert (short.status, short.filled, short.average, short.symbol) == (
        "closed", 0.05, OPEN, "BTC/USDT")  # fmt: skip
    position = exchange.positions(["BTC/USDT"])["BTC/USDT"]
    assert (position.quantity, position.entry_price, position.unrealized_pnl) == (
        -0.05, OPEN, 0.0)  # fmt: skip
    raw = exchange.exchange.fetch_positions(["BTC/USDT:USDT"])[0]
    assert (raw["side"], raw["contracts"], raw["notional"]) == ("short", 0.05, 0.05 * OPEN)
    local.advance(2)  # two bars later: the mark is the in-progress bar's open
    market = local.replay.markets["BTC/USDT"]
    mark = market.price(local.replay.now_ms)
    index = market.in_progress(local.replay.now_ms)
    assert mark == float(market.columns["open"][index]) != OPEN
    position = exchange.positions(["BTC/USDT"])["BTC/USDT"]
    assert position.unrealized_pnl == pytest.approx(-0.05 * (mark - OPEN), abs=1e-8)
    # buy 0.08: closes the short (realizing its PnL) and opens a long of 0.03 at the mark
    exchange.create(OrderSpec("l1", "BTC/USDT", "buy", "market", 0.08))
    position = exchange.positions(["BTC/USDT"])["BTC/USDT"]
    assert (position.quantity, position.entry_price) == (pytest.approx(0.03), mark)
    realized = 0.05 * (OPEN - mark)
    fees = 0.05 * OPEN * FEE + 0.08 * mark * FEE
    wallet = float(local.venue.account_json()["assets"][0]["walletBalance"])
    assert wallet == pytest.approx(10_000 + realized - fees, abs=1e-6)
    assert exchange.balances()["USDT"][1] == pytest.approx(wallet, abs=1e-6)  # + 0 unrealized
    trades = exchange.my_trades("BTC/USDT")
    assert [(t.side, t.quantity, t.price, t.fee_asset) for t in trades] == [
        ("sell", 0.05, OPEN, "USDT"), ("buy", 0.08, mark, "USDT")]  # fmt: skip
    assert [t["info"]["realizedPnl"] for t in exchange.exchange.fetch_my_trades(
        "BTC/USDT:USDT")] == ["0.00000000", f"{realized:.8f}"]  # fmt: skip


def test_reduce_only_never_opens_or_grows_a_position(local: LocalExchange) -> None:
    exchange = venue(local)
    with pytest.raises(OrderCallFailed) as flat:
        exchange.create(OrderSpec("r1", "BTC/USDT", "sell", "market", 0.01, reduce_only=True))
    assert flat.value.verdict.action is Action.REJECT
    assert "-2022" in str(flat.value)
    exchange.create(OrderSpec("l1", "BTC/USDT", "buy", "market", 0.02))
    with pytest.raises(OrderCallFailed):  # more than the position
        exchange.create(OrderSpec("r2", "BTC/USDT", "sell", "market", 0.03, reduce_only=True))
    # below the 10 USDT minimum notional, yet accepted: reduce-only orders are exempt
    exchange.create(OrderSpec("r3", "BTC/USDT", "sell", "market", 0.0002, reduce_only=True))
    order = local.venue.orders[local.venue.by_client["r3"]]
    assert (order.reduce_only, order.status) == (True, "FILLED")
    assert exchange.positions(["BTC/USDT"])["BTC/USDT"].quantity == pytest.approx(0.0198)


def test_an_order_beyond_the_margin_is_rejected_as_insufficient_funds(
    local: LocalExchange,
) -> None:
    exchange = venue(local)
    exchange.set_leverage("BTC/USDT", 2)  # 10,000 USDT margin a notional up to ~20,000
    with pytest.raises(OrderCallFailed) as refused:
        exchange.create(OrderSpec("big", "BTC/USDT", "buy", "market", 1.1))
    assert refused.value.verdict.action is Action.REJECT
    assert "InsufficientFunds" in str(refused.value)
    exchange.create(OrderSpec("ok", "BTC/USDT", "buy", "market", 1.0))


def test_funding_is_paid_from_the_rates_at_bar_closes() -> None:
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    close_101 = int(frame.ts_close_ns[101])
    rates = FundingRates(np.array([close_101 - 1_800 * 10**9], dtype=np.int64),
                         np.array([0.001]))  # fmt: skip
    local = perpetual_exchange(rates)
    try:
        exchange = venue(local)
        exchange.create(OrderSpec("s1", "BTC/USDT", "sell", "market", 0.05))  # short at OPEN
        local.advance(1)  # row 100 closes: the funding time is not reached
        assert local.venue.income == []  # type: ignore[attr-defined]
        local.advance(1)  # row 101 closes after it: the short receives
        close = float(frame.close[101])
        paid = 0.05 * close * 0.001
        income = local.venue.income  # type: ignore[attr-defined]
        assert [float(r["income"]) for r in income] == [pytest.approx(paid, abs=1e-8)]
        rows = exchange.exchange.fapiPrivateGetIncome({"symbol": "BTCUSDT"})
        assert rows[0]["incomeType"] == "FUNDING_FEE"
        wallet = float(local.venue.account_json()["assets"][0]["walletBalance"])
        assert wallet == pytest.approx(10_000 - 0.05 * OPEN * FEE + paid, abs=1e-6)
    finally:
        local.stop()


def test_the_spot_exchange_serves_no_fapi(exchange_factory: Any) -> None:
    spot = exchange_factory(btc_rows(150), paused=True, history=100)
    client = open_trading_exchange(
        "binance", Credentials("k", SECRET), sandbox=True, local_url=spot.urls["http"],
        perpetual=True,
    )  # fmt: skip
    with pytest.raises(ccxt.BaseError):
        client.load_markets()
