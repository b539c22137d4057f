"""One driver: a backtest and the paper/live node, fed the same events, are the same run.

The strategy trades on bars (an SMA cross on A, limit orders on X from an RSI), on trade
ticks of B (resting limit buys, canceled on the next trade; sells), on quote ticks of Y
(market orders every few quotes) and on a 90-minute timer (closes Y or X; its times fall
between bars). X and Y are quoted in EUR and the account in USD, so their fills and marks
convert through the ``[[fx]]`` rate series. (A config gives a symbol one source, so the
ticks are of their own symbols.) The backtest (`run_backtest`: `Driver.run`, precomputed
indicators, the curve rebuilt afterwards) and the `TradingNode` (one `on_event` per event
on a `SimClock`: streaming indicators, growing histories, equity snapshots as it goes)
must give identical orders, fills (every field), timer times, and cash at every event
time — compared with ``==``, not approximately. Cash, equity and gross exposure at every
bar close are compared bit for bit too: the curve built after the run adds position values
in the order the portfolio's snapshots add them (the order positions opened).

A second test warms the node on the first bars and checks that it then decides exactly
like a backtest whose strategy ignores those bars (its indicators see them all the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.clock import SimClock
from engine.config import RunConfig
from engine.errors import ConfigError, DataError
from engine.feeds import BarFrame
from engine.feeds.ticks import TickFrame
from engine.model import Bar, OrderFilled, QuoteTick, TradeTick
from engine.runtime import BacktestResult
from engine.runtime.backtest import iter_bars
from engine.runtime.modes import BACKTEST
from engine.runtime.node import TradingNode
from engine.runtime.ticks import iter_events

HOUR = 3_600 * 10**9
MINUTE = 60 * 10**9
T0 = 1_700_000_000 * 10**9 // HOUR * HOUR  # a whole hour: bar k opens at T0 + k hours
N = 150


def bars(symbol: str, start: float, seed: int) -> BarFrame:
    """``N`` hourly bars of a seeded random walk (rounded to cents)."""
    rng = np.random.default_rng(seed)
    close = np.round(start * np.exp(np.cumsum(rng.normal(0.0, 0.01, N))), 2)
    open_ = np.concatenate(([start], close[:-1]))
    spread = np.round(np.abs(rng.normal(0.0, 0.004, N)) * close, 2)
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    ts = T0 + np.arange(N, dtype=np.int64) * HOUR
    return BarFrame(symbol, HOUR, ts, open_, high, low, close, np.full(N, 1_000.0))


def head(frame: BarFrame, k: int) -> BarFrame:
    """The first ``k`` bars of ``frame`` (what a node knows before it starts)."""
    columns = (frame.open, frame.high, frame.low, frame.close, frame.volume)
    return BarFrame(
        frame.symbol, frame.timeframe_ns, frame.ts_open_ns[:k], *(c[:k] for c in columns)
    )


def trade_ticks(frame: BarFrame, symbol: str) -> TickFrame:
    """Trades of ``symbol`` at minutes 10, 25, 40 of each bar, within its low and high."""
    rng = np.random.default_rng(7)
    offsets = np.array([10, 25, 40]) * MINUTE
    ts = (frame.ts_open_ns[:, None] + offsets[None, :]).ravel()
    low, high = np.repeat(frame.low, 3), np.repeat(frame.high, 3)
    price = np.round(low + (high - low) * rng.uniform(0.0, 1.0, ts.size), 2)
    columns = {"price": price, "size": np.full(ts.size, 5.0)}
    sides = ["buy" if i % 2 else "sell" for i in range(ts.size)]
    ids = [str(i) for i in range(ts.size)]
    return TickFrame(symbol, "trades", ts, columns, sides, ids, "<memory>")


def quote_ticks(frame: BarFrame, symbol: str) -> TickFrame:
    """Quotes of ``symbol`` at minutes 20, 50 of each bar around the bar's midpoint."""
    offsets = np.array([20, 50]) * MINUTE
    ts = (frame.ts_open_ns[:, None] + offsets[None, :]).ravel()
    mid = np.repeat((frame.high + frame.low) / 2.0, 2)
    bid, ask = np.round(mid - 0.05, 2), np.round(mid + 0.05, 2)
    size = np.full(ts.size, 3.0)
    columns = {"bid": bid, "ask": ask, "bid_size": size, "ask_size": size}
    return TickFrame(symbol, "quotes", ts, columns, [], [], "<memory>")


def write_rates(path: Path) -> Path:
    """Hourly EUR rates (USD per EUR); the first is known an hour before the first bar."""
    rng = np.random.default_rng(3)
    rates = np.round(1.10 * np.exp(np.cumsum(rng.normal(0.0, 0.002, N + 2))), 5)
    lines = ["timestamp,open,high,low,close"]
    for j, rate in enumerate(rates):
        opened = (T0 - 2 * HOUR + j * HOUR) // 10**6
        lines.append(f"{opened},{rate},{rate},{rate},{rate}")
    path.write_text("\n".join(lines) + "\n")
    return path


class EveryHook(Strategy):
    """Orders from every hook: bars, trades, quotes and a timer."""

    def __init__(self, skip_until: int = -1) -> None:
        super().__init__()
        self.skip_until = skip_until  # bars closing at or before it are not decided on
        self.fired: list[tuple[str, int]] = []
        self.trades = 0
        self.quotes = 0
        self.bars_x = 0
        self.timer_calls = 0
        self.resting: str | None = None

    def on_start(self, ctx: Context) -> None:
        self.fast = ctx.indicator("sma", "A", timeperiod=5)
        self.slow = ctx.indicator("sma", "A", timeperiod=20)
        self.rsi = ctx.indicator("rsi", "X", timeperiod=14)
        ctx.set_timer("rebalance", 90 * MINUTE)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if bar.ts_event <= self.skip_until:
            return
        if bar.symbol == "A":
            if len(self.slow) < 21 or np.isnan(self.slow[-2]):
                return
            if self.fast[-1] > self.slow[-1] and self.fast[-2] <= self.slow[-2]:
                ctx.order_target_percent("A", 0.4)
            elif self.fast[-1] < self.slow[-1] and self.fast[-2] >= self.slow[-2]:
                ctx.close_position("A")
            return
        self.bars_x += 1
        if self.bars_x % 4 == 0 and not np.isnan(self.rsi[-1]):
            side = ctx.buy if self.rsi[-1] < 50 else ctx.sell
            if side is ctx.sell and ctx.position("X") <= 0:
                return
            side("X", 2, limit_price=round(bar.close * (0.999 if side is ctx.buy else 1.001), 2))

    def on_trade(self, ctx: Context, tick: TradeTick) -> None:
        if tick.ts_event <= self.skip_until:
            return
        self.trades += 1
        if self.resting is not None:
            ctx.cancel(self.resting)
            self.resting = None
        if self.trades % 7 == 0:
            self.resting = ctx.buy("B", 1, limit_price=round(tick.price * 0.998, 2))
        elif self.trades % 11 == 0 and ctx.position("B") > 0:
            ctx.sell("B", ctx.position("B"))

    def on_quote(self, ctx: Context, quote: QuoteTick) -> None:
        if quote.ts_event <= self.skip_until:
            return
        self.quotes += 1
        if self.quotes % 5 == 0:
            ctx.buy("Y", 1)

    def on_timer(self, ctx: Context, name: str) -> None:
        self.fired.append((name, ctx.time_ns))
        if ctx.time_ns <= self.skip_until:
            return
        self.timer_calls += 1
        if self.timer_calls % 3 == 0:  # 3rd: close Y, 6th: close X, ...
            ctx.close_position("Y" if self.timer_calls % 2 else "X")


def make_config(tmp_path: Path) -> RunConfig:
    return parse_config(
        {
            "account": {"initial_cash": 50_000.0},
            "data": [
                {"path": "<memory>", "symbol": "A"},
                {"path": "<memory>", "symbol": "X"},
                {"path": "<memory>", "symbol": "B", "kind": "trades"},
                {"path": "<memory>", "symbol": "Y", "kind": "quotes"},
            ],
            "instruments": [
                {"symbol": "A", "lot_size": 0.001, "tick_size": 0.01},
                {"symbol": "X", "lot_size": 1.0, "tick_size": 0.01, "quote_currency": "EUR"},
                {"symbol": "B", "lot_size": 1.0, "tick_size": 0.01},
                {"symbol": "Y", "lot_size": 1.0, "tick_size": 0.01, "quote_currency": "EUR"},
            ],
            "fx": [{"currency": "EUR", "path": str(write_rates(tmp_path / "eur.csv"))}],
            "strategy": {"path": "every_hook"},
            "execution": {"fee_rate": 0.001, "slippage_bps": 2.0},
        }
    )


def fill_rows(fills: list[OrderFilled]) -> list[tuple[object, ...]]:
    return [tuple(fill) for fill in fills]


class Runs(NamedTuple):
    """The same events through the backtest and through the node."""

    frames: tuple[BarFrame, BarFrame]
    backtest: BacktestResult
    backtest_strategy: EveryHook
    node: TradingNode
    node_strategy: EveryHook


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    config = make_config(tmp_path_factory.mktemp("parity"))
    a, x = bars("A", 100.0, 1), bars("X", 50.0, 2)
    ticks = [trade_ticks(a, "B"), quote_ticks(x, "Y")]
    backtest_strategy = EveryHook()
    backtest = run_backtest(config, frames=[a, x, *ticks], strategy=backtest_strategy)
    node_strategy = EveryHook()
    node = TradingNode(config, clock=SimClock(int(a.ts_open_ns[0])), strategy=node_strategy)
    for event in iter_events([a, x], ticks):
        node.on_event(event)
    node.stop()
    return Runs((a, x), backtest, backtest_strategy, node, node_strategy)


def test_backtest_and_node_agree_on_bars_ticks_fx_and_timers(runs: Runs) -> None:
    live, replay = runs.node.kernel.recorder, runs.backtest.recorder
    # the scenario exercises what it claims to: every hook ordered, every symbol filled
    kinds = {(row["symbol"], row["order_type"]) for row in replay.orders.values()}
    assert {("A", "market"), ("B", "limit"), ("X", "limit"), ("Y", "market")} <= kinds
    assert {row["status"] for row in replay.orders.values()} >= {"filled", "canceled"}
    assert len(replay.fills) >= 40
    assert {fill.symbol for fill in replay.fills} == {"A", "B", "X", "Y"}
    fired = runs.backtest_strategy.fired
    assert fired[0] == ("rebalance", T0 + 90 * MINUTE)  # between bars: after 10:40, 11:00
    assert len(fired) == (N * HOUR) // (90 * MINUTE)  # the last event is at T0 + N hours

    assert runs.node_strategy.fired == fired
    assert list(live.orders.values()) == list(replay.orders.values())
    assert fill_rows(live.fills) == fill_rows(replay.fills)
    assert runs.node.kernel.portfolio.cash == runs.backtest.equity_curve.cash[-1]
    # cash at every event time (bar closes and ticks): the node's snapshots as it went
    # against the curve the backtest rebuilds from fills and marks afterwards
    curve, snapshots = runs.backtest.equity_curve, runs.node.equity_curve
    assert set(runs.frames[0].ts_close_ns.tolist()) <= set(curve.ts.tolist())
    assert [s.ts_event for s in snapshots] == curve.ts.tolist()
    assert [s.cash for s in snapshots] == curve.cash.tolist()


def test_node_equity_equals_the_backtest_curve_bit_for_bit(runs: Runs) -> None:
    curve, snapshots = runs.backtest.equity_curve, runs.node.equity_curve
    assert [s.ts_event for s in snapshots] == curve.ts.tolist()
    assert [s.cash for s in snapshots] == curve.cash.tolist()
    assert [s.equity for s in snapshots] == curve.equity.tolist()
    assert [s.gross_exposure for s in snapshots] == curve.gross_exposure.tolist()


def test_a_warmed_node_decides_like_a_backtest_that_saw_the_warm_up(tmp_path: Path) -> None:
    """Warm-up on bars[:k]: indicators primed, no hook called; bars[k:] decide as usual.

    The backtest equivalent runs all events with a strategy that ignores bars, ticks and
    timers up to bar k-1's close (its indicators still see every bar, as the node's
    streams were primed over the warm-up): orders, fills, timer times and cash after must
    match exactly. Equity and indicator values are compared bit for bit with a cold node
    fed every event (same ledger, same streams); against the backtest's batch indicators
    agree to a few ulps (streaming vs batch arithmetic).
    """
    config = make_config(tmp_path)
    a, x = bars("A", 100.0, 1), bars("X", 50.0, 2)
    ticks = [trade_ticks(a, "B"), quote_ticks(x, "Y")]
    k = 42  # 42 h: a whole number of the 90-minute timer's periods, so both timers align
    warm_end = int(a.ts_close_ns[k - 1])
    backtest_strategy = EveryHook(skip_until=warm_end)
    backtest = run_backtest(config, frames=[a, x, *ticks], strategy=backtest_strategy)

    node_strategy = EveryHook()
    node = TradingNode(config, strategy=node_strategy, warmup={"A": head(a, k), "X": head(x, k)})
    assert node.clock.timestamp_ns() == warm_end  # a replay clock starts after the warm-up
    node.start()
    assert len(node_strategy.slow) == k  # primed over the warm-up, no hook called
    assert len(node_strategy.rsi) == k
    assert node_strategy.bars_x == 0
    assert not node.kernel.recorder.orders
    node.run(event for event in iter_events([a, x], ticks) if event.ts_event > warm_end)

    live, replay = node.kernel.recorder, backtest.recorder
    assert len(replay.orders) >= 10
    assert list(live.orders.values()) == list(replay.orders.values())
    assert fill_rows(live.fills) == fill_rows(replay.fills)
    # primed exactly as if the node had streamed the warm-up bars itself: a cold node fed
    # every event (and told to ignore the first k bars) holds the very same values ...
    cold_strategy = EveryHook(skip_until=warm_end)
    cold = TradingNode(config, clock=SimClock(T0), strategy=cold_strategy)
    cold.run(iter_events([a, x], ticks))
    np.testing.assert_array_equal(node_strategy.slow, cold_strategy.slow)  # NaN == NaN here
    np.testing.assert_array_equal(node_strategy.rsi, cold_strategy.rsi)
    assert list(cold.kernel.recorder.orders.values()) == list(live.orders.values())
    cold_after = [(s.ts_event, s.equity) for s in cold.equity_curve if s.ts_event > warm_end]
    assert [(s.ts_event, s.equity) for s in node.equity_curve] == cold_after  # one ledger
    # ... and the backtest's batch values to the streaming/batch parity of the indicator
    # library (tests/parity): a few ulps, never a different decision (orders above)
    np.testing.assert_allclose(node_strategy.slow, backtest_strategy.slow, rtol=1e-12)
    curve = backtest.equity_curve
    after = curve.ts > warm_end
    assert [s.ts_event for s in node.equity_curve] == curve.ts[after].tolist()
    assert [s.cash for s in node.equity_curve] == curve.cash[after].tolist()
    assert set(curve.equity[~after].tolist()) == {50_000.0}  # nothing happened before
    assert [f for f in backtest_strategy.fired if f[1] > warm_end] == node_strategy.fired

    with pytest.raises(DataError, match="not after the warm-up's last bar"):
        node.on_bar(next(iter(iter_bars([a]))))


def test_the_node_refuses_a_backtest_mode_and_unknown_warm_up_symbols(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with pytest.raises(ConfigError, match="needs a streaming mode"):
        TradingNode(config, strategy=EveryHook(), mode=BACKTEST)
    with pytest.raises(ConfigError, match=r"warm-up symbol\(s\) \['Z'\]"):
        TradingNode(config, strategy=EveryHook(), warmup={"Z": bars("Z", 1.0, 0)})
