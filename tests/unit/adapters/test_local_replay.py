"""The local exchange's replay clock and matching, without the network."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.adapters.local.faults import Faults
from engine.adapters.local.replay import Replay
from engine.adapters.local.venue import BinanceError, Venue
from engine.feeds import BarFrame, load_bars
from engine.model import Instrument

H = 3_600_000  # one hour in ms
T0 = 1_600_000_000_000 - 1_600_000_000_000 % H  # an hour in 2020 (ms; the readers need real epochs)


def frame(
    symbol: str, opens_h: list[int], prices: list[tuple[float, ...]], tf: str = "1h"
) -> BarFrame:
    rows = pd.DataFrame(
        [(T0 + t * H, *p, 10.0) for t, p in zip(opens_h, prices, strict=True)],
        columns=["timestamp", "open", "high", "low", "close", "volume"],
    )
    return load_bars(rows, symbol=symbol, timeframe=tf)


BARS = [(100.0, 110.0, 95.0, 105.0), (105.0, 108.0, 99.0, 100.0), (90.0, 92.0, 80.0, 85.0)]
# opens at T0 + 0 h, 1 h and (after a one-hour gap) 3 h


def venue(history: int = 0, balances: dict[str, float] | None = None) -> Venue:
    replay = Replay([frame("X/USD", [0, 1, 3], BARS)], history=history)
    instrument = Instrument("X/USD", quote_currency="USD", tick_size=0.5, lot_size=0.1)
    return Venue(replay, {"X/USD": instrument}, balances or {"USD": 1000.0}, Faults(), 0.01)


def order(v: Venue, **params: str) -> object:
    return v.create({"symbol": "XUSD", "quantity": "1", **params})


def step(v: Venue) -> None:
    v.on_bars(*v.replay.step())


def test_the_clock_visits_every_open_and_close_and_stops_at_the_last_open() -> None:
    replay = Replay([frame("X/USD", [0, 1, 3], BARS)], history=0)
    assert replay.boundaries == [
        T0,
        T0 + H,
        T0 + 2 * H,
        T0 + 3 * H,
    ]  # 2 h: bar 1 closes, nothing opens
    market = replay.markets["X/USD"]
    assert market.klines(T0, None, None, 10)[0].closed is False
    replay.step()
    closed, opened = replay.step()  # 2 h: in the gap
    assert [(s, k.open_ms, k.close) for s, k in closed] == [("X/USD", T0 + H, 100.0)]
    assert opened == []
    assert market.in_progress(replay.now_ms) is None
    assert market.price(replay.now_ms) == 100.0  # last close
    replay.step()
    assert replay.finished
    last = market.klines(replay.now_ms, None, None, 1)[0]
    assert (last.open_ms, last.high, last.closed) == (T0 + 3 * H, 90.0, False)


def test_a_replay_told_so_plays_its_last_bar_to_its_close_as_the_backtest_does() -> None:
    # Audit F2: `kestrel paper --replay` never played the data's last bar (the clock stopped
    # at its open), so the order decided on the second-to-last bar never filled and the
    # final equity differed from the backtest's. With last_bar_closes the clock ends at
    # the last close: that bar arrives closed, with its full values, and nothing follows.
    replay = Replay([frame("X/USD", [0, 1, 3], BARS)], history=0, last_bar_closes=True)
    assert replay.boundaries == [T0 + h * H for h in range(5)]
    for _ in range(3):
        replay.step()
    assert not replay.finished  # 3 h: the last bar is in progress
    closed, opened = replay.step()
    assert [(s, k.open_ms, k.high, k.close, k.closed) for s, k in closed] == [
        ("X/USD", T0 + 3 * H, 92.0, 85.0, True)
    ]
    assert opened == []
    assert replay.finished
    market = replay.markets["X/USD"]
    assert market.in_progress(replay.now_ms) is None
    assert market.price(replay.now_ms) == 85.0  # the last close
    assert replay.step() == ([], [])
    built = Replay([frame("X/USD", [0, 1, 3], BARS)], history=0)
    built.end_at_last_close()  # an exchange already built, before it starts
    assert built.boundaries == replay.boundaries


def test_after_the_last_close_a_market_order_waits_as_one_on_the_backtests_last_bar() -> None:
    replay = Replay([frame("X/USD", [0, 1, 3], BARS)], history=0, last_bar_closes=True)
    instrument = Instrument("X/USD", quote_currency="USD", tick_size=0.5, lot_size=0.1)
    v = Venue(replay, {"X/USD": instrument}, {"USD": 1000.0}, Faults(), 0.01)
    for _ in range(4):
        step(v)
    order(v, side="BUY", type="MARKET")
    assert v.orders[1].status == "NEW"  # no later bar opens: it never fills
    step(v)
    assert v.orders[1].status == "NEW"


def test_two_symbols_share_one_clock() -> None:
    four_hourly = frame("Y/USD", [0, 4], [(1.0, 2.0, 0.5, 1.5), (1.5, 2.0, 1.0, 1.2)], "4h")
    replay = Replay([frame("X/USD", [0, 1, 3], BARS), four_hourly], history=0)
    assert replay.boundaries == [T0 + h * H for h in range(5)]
    for _ in range(3):
        replay.step()
    closed, opened = replay.step()  # 4 h: X's 3 h bar closes, Y's first bar closes, Y opens
    assert [(s, k.open_ms) for s, k in closed] == [("X/USD", T0 + 3 * H), ("Y/USD", T0)]
    assert [(s, k.open_ms) for s, k in opened] == [("Y/USD", T0 + 4 * H)]


def test_market_fills_at_the_open_in_progress_with_the_fee_in_quote() -> None:
    v = venue()
    order(v, side="BUY", type="MARKET")
    assert v.orders[1].status == "FILLED"
    assert v.free == pytest.approx({"USD": 1000 - 100 - 1.0, "X": 1.0})


def test_a_market_order_in_a_gap_waits_for_the_next_open() -> None:
    v = venue()
    step(v)
    step(v)  # 2 h: no bar in progress
    order(v, side="BUY", type="MARKET")
    assert v.orders[1].status == "NEW"
    step(v)  # 3 h: the next bar opens at 90
    assert (v.orders[1].status, v.trades[-1]["price"]) == ("FILLED", "90.00000000")


def test_a_limit_traded_through_fills_at_its_price_and_a_touch_does_not() -> None:
    v = venue(balances={"USD": 0.0, "X": 1.0})
    order(v, side="SELL", type="LIMIT", price="107", timeInForce="GTC")
    step(v)  # bar 0 closes: high 110 > 107 -> fills at the limit, maker
    assert (v.trades[-1]["price"], v.trades[-1]["isMaker"]) == ("107.00000000", True)
    v2 = venue(balances={"USD": 1000.0})
    order(v2, side="BUY", type="LIMIT", price="95", timeInForce="GTC")
    step(v2)  # bar 0 closes with low 95 = the limit: a touch, not through
    assert v2.orders[1].status == "NEW"


def test_a_resting_buy_limit_fills_at_once_at_a_gap_open_below_it() -> None:
    v = venue()
    step(v)  # bar 1 in progress (open 105)
    order(v, side="BUY", type="LIMIT", price="95", timeInForce="GTC")
    step(v)  # 2 h: bar 1 closes, low 99 > 95: no fill
    assert v.orders[1].status == "NEW"
    step(v)  # 3 h: bar 2 opens at 90, beyond the limit: filled at 90 as it opens, taker
    assert (v.orders[1].status, v.trades[-1]["price"]) == ("FILLED", "90.00000000")
    assert v.trades[-1]["isMaker"] is False
    assert v.free["USD"] == pytest.approx(1000 - 90 - 0.9)


def test_ioc_that_cannot_fill_expires_and_unlocks() -> None:
    v = venue()
    order(v, side="BUY", type="LIMIT", price="90", timeInForce="IOC")
    assert v.orders[1].status == "EXPIRED"
    assert (v.free["USD"], v.locked["USD"]) == (1000.0, 0.0)


def test_balance_and_filter_errors_have_binance_codes() -> None:
    v = venue()
    with pytest.raises(BinanceError) as no_base:
        order(v, side="SELL", type="MARKET")
    assert (no_base.value.code, no_base.value.msg) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )
    with pytest.raises(BinanceError, match="PRICE_FILTER"):
        order(v, side="BUY", type="LIMIT", price="99.3")  # tick 0.5
    with pytest.raises(BinanceError, match="LOT_SIZE"):
        v.create({"symbol": "XUSD", "quantity": "0.15", "side": "BUY", "type": "MARKET"})
    with pytest.raises(BinanceError) as unknown:
        v.create({"symbol": "NOPE", "quantity": "1", "side": "BUY", "type": "MARKET"})
    assert unknown.value.code == -1121
