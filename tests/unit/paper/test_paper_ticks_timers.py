"""A paper account on bars, trades, quotes and timers: journaled, replayed, like a backtest.

In-process on SQLite: one symbol on bars (the demo file), one on trades, one on quotes
(generated files the config names, as a backtest reads them), and a strategy that orders
from every hook, including a 90-minute timer. The same events go through

* a backtest of the config (timers fire before the first event at or after their time);
* a paper session that fires due timers while "idle" between events (`fire_timers`, as
  the CLI does when the feed is quiet), crashed (dropped without `finish`) and reopened
  every 37 inputs, the bars since ``resume_ns`` delivered again as the feed would;

and both must reach the same orders, fills, cash, positions and timer firings — nothing
fired twice, nothing skipped. A tick older than the node's clock (late) is dropped, and so
is one served again at the time of the last input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import parse_config, run_backtest
from engine.config import RunConfig
from engine.model import QuoteTick, TradeTick
from engine.persistence import RunStore
from engine.runtime.backtest import load_frames
from engine.runtime.paper import PaperJournal, PaperSession, open_session
from engine.runtime.ticks import iter_events

REPO = Path(__file__).resolve().parents[3]
START = 1_606_780_800_000_000_000  # 2020-12-01T00:00Z, the first bar's open
MINUTE = 60 * 10**9

EVERY_HOOK = '''
from engine.strategy import Strategy


class EveryHook(Strategy):
    """Orders from bars, trades, quotes and a timer; records each timer firing."""

    def on_start(self, ctx):
        self.fired = []
        self.trades = 0
        self.quotes = 0
        self.fast = ctx.indicator("sma", "BTC/USDT", timeperiod=5)
        self.slow = ctx.indicator("sma", "BTC/USDT", timeperiod=20)
        ctx.set_timer("rebalance", "90m")

    def on_bar(self, ctx, bar):
        if len(self.slow) < 21:
            return
        if self.fast[-1] > self.slow[-1] and self.fast[-2] <= self.slow[-2]:
            ctx.order_target_percent("BTC/USDT", 0.3)
        elif self.fast[-1] < self.slow[-1] and self.fast[-2] >= self.slow[-2]:
            ctx.close_position("BTC/USDT")

    def on_trade(self, ctx, tick):
        self.trades += 1
        if self.trades % 5 == 0:
            ctx.buy("ETH/USDT", 0.5, limit_price=round(tick.price * 1.0005, 2))

    def on_quote(self, ctx, quote):
        self.quotes += 1
        if self.quotes % 6 == 0:
            ctx.buy("SOL/USDT", 3.0)

    def on_timer(self, ctx, name):
        self.fired.append((name, ctx.time_ns))
        if len(self.fired) % 2 == 0:
            for symbol in ("ETH/USDT", "SOL/USDT"):
                if ctx.position(symbol) > 0:
                    ctx.close_position(symbol)
'''


def _config(tmp_path: Path) -> RunConfig:
    (tmp_path / "every_hook.py").write_text(EVERY_HOOK)
    hours = 72
    k = np.arange(hours * 3)
    trades = tmp_path / "eth_trades.csv"
    lines = ["timestamp,price,amount,side,id"]
    for i in k.tolist():  # every 20 minutes from 00:07
        price = 600.0 + 15.0 * np.sin(i / 9.0) + (i % 4)
        lines.append(f"{(START + (7 + 20 * i) * MINUTE) // 10**6},{price:.2f},1.5,buy,{i}")
    trades.write_text("\n".join(lines) + "\n")
    quotes = tmp_path / "sol_quotes.csv"
    lines = ["timestamp,bid,ask,bid_size,ask_size"]
    for i in range(hours * 60 // 25):  # every 25 minutes from 00:03
        mid = 2.0 + 0.1 * np.cos(i / 7.0)
        ts = (START + (3 + 25 * i) * MINUTE) // 10**6
        lines.append(f"{ts},{mid - 0.01:.4f},{mid + 0.01:.4f},50,40")
    quotes.write_text("\n".join(lines) + "\n")
    data = REPO / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
    return parse_config(
        {
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [
                {"path": str(data), "symbol": "BTC/USDT", "end": "2020-12-04"},
                {"path": str(trades), "symbol": "ETH/USDT", "kind": "trades"},
                {"path": str(quotes), "symbol": "SOL/USDT", "kind": "quotes"},
            ],
            "instruments": [
                {"symbol": "BTC/USDT", "lot_size": 0.00001, "tick_size": 0.01},
                {"symbol": "ETH/USDT", "lot_size": 0.001, "tick_size": 0.01},
                {"symbol": "SOL/USDT", "lot_size": 0.01, "tick_size": 0.0001},
            ],
            "strategy": {"path": "every_hook.py:EveryHook"},
            "execution": {"fee_rate": 0.001},
        },
        base_dir=tmp_path,
    )


def _open(store: RunStore, config: RunConfig, name: str) -> PaperSession:
    journal = PaperJournal(store, name)
    return open_session(config, journal, resume_only=False, start_ns=lambda: START, url="u")


def _state(recorder: Any, portfolio: Any) -> tuple[Any, ...]:
    return (
        [dict(row) for row in recorder.orders.values()],
        [(f.fill_id, f.order_id, f.quantity, f.price, f.fee, f.ts_event) for f in recorder.fills],
        portfolio.cash,
        {s: p.quantity for s, p in portfolio.positions.items()},
    )


def test_ticks_and_idle_timers_survive_crashes_and_match_the_backtest(tmp_path: Path) -> None:
    config = _config(tmp_path)
    frames = load_frames(config)
    bars = [f for f in frames if f.symbol == "BTC/USDT"]
    ticks = [f for f in frames if f.symbol != "BTC/USDT"]
    events = list(iter_events(bars, ticks))  # type: ignore[arg-type]
    backtest = run_backtest(config, frames=frames)
    expected_fired = backtest.strategy.fired  # type: ignore[attr-defined]
    assert len(expected_fired) >= 40

    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    session = _open(store, config, "acct")
    idle_fired = 0
    for i, event in enumerate(events):
        if i and i % 37 == 0:  # crash: dropped unfinished; the feed redelivers the bars
            session = _open(store, config, "acct")
            assert session.replayed == len(list(session.journal.entries()))
            since = session.resume_ns
            for again in events[:i]:
                if again.ts_event > since and type(again) not in (TradeTick, QuoteTick):
                    assert session.process(again) is None  # journaled already: dropped
        due = session.next_timer_ns
        if due is not None and due < event.ts_event and i % 2:
            assert session.fire_timers(due) is not None  # idle: fired, journaled
            assert session.fire_timers(due) is None  # nothing due any more
            idle_fired += 1
        assert session.process(event) is not None
    session.finish()

    assert idle_fired >= 5  # the rest fired before an event, as in the backtest
    strategy = session.node.kernel.runner.strategy
    assert strategy.fired == expected_fired  # type: ignore[attr-defined]
    kernel = session.node.kernel
    paper = _state(kernel.recorder, kernel.portfolio)
    expected = _state(backtest.recorder, backtest.portfolio)
    assert paper[0] == expected[0]
    assert paper[1] == expected[1]
    assert paper[2] == pytest.approx(expected[2], rel=1e-12)
    assert paper[3] == expected[3]
    assert len(paper[1]) >= 20
    kinds = {entry.kind for entry in session.journal.entries()}
    assert kinds == {"bar", "trade", "quote", "timer"}


def test_a_late_tick_is_dropped_before_the_journal(tmp_path: Path) -> None:
    config = _config(tmp_path)
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    session = _open(store, config, "late")
    early = TradeTick("ETH/USDT", START + 7 * MINUTE, START + 7 * MINUTE, 600.0, 1.0, "", "1")
    late = TradeTick("ETH/USDT", START + 5 * MINUTE, START + 5 * MINUTE, 600.0, 1.0, "", "2")
    before = TradeTick("ETH/USDT", START - 1, START - 1, 600.0, 1.0, "", "0")
    assert session.process(before) is None  # before the account's start
    assert session.process(early) is not None
    assert session.process(early) is None  # served again (a restarted feed): once only
    same_ms = early._replace(trade_id="1b")
    assert session.process(same_ms) is not None  # another trade of the same ms
    assert _open(store, config, "late").process(same_ms) is None  # also after a restart
    session = _open(store, config, "late")
    assert session.process(late) is None
    assert session.fire_timers(START + 100 * MINUTE) is not None  # the 90-minute timer
    tick = TradeTick("ETH/USDT", START + 99 * MINUTE, START + 99 * MINUTE, 600.0, 1.0, "", "3")
    assert session.process(tick) is None  # before the time the timers were fired up to
    assert [e.kind for e in session.journal.entries()] == ["trade", "trade", "timer"]
