"""equity_curve (built from the portfolio's journal) == Portfolio.snapshot() per timestamp."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.bus import EventBus
from engine.cache import SymbolHistory
from engine.clock import SimClock
from engine.config import AccountConfig, ExecutionConfig
from engine.model import Bar, Instrument, OrderFilled, OrderSide
from engine.portfolio import Portfolio
from engine.portfolio.curve import equity_curve
from engine.portfolio.journal import Journal
from engine.runtime.kernel import build_kernel
from engine.strategy import Context, Strategy

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def make_fill(k: int, symbol: str, signed: float, price: float, fee: float, ts: int) -> OrderFilled:
    side = BUY if signed > 0 else SELL
    return OrderFilled(
        f"S1-{k}", "S1", f"F-{k}", symbol, side, abs(signed), price, fee, "taker", 0.0, ts - 1, ts
    )


def journal_of(initial_cash: float, symbols: list[str], fills: list[OrderFilled]) -> Journal:
    """Apply ``fills`` in order to a portfolio, each at its ``ts_init``; return its journal."""
    clock = SimClock(0)
    portfolio = Portfolio(EventBus(), clock, initial_cash, dict.fromkeys(symbols, math.nan))
    for fill in fills:
        clock.set_time(fill.ts_init)
        portfolio.on_order_filled(fill)
    return portfolio.journal


def test_hand_case() -> None:
    # A closes at 10, 20, 30 (ts 1, 2, 3); B closes at 5, 6 (ts 2, 4)
    closes = [
        ("A", np.array([1, 2, 3]), np.array([10.0, 20.0, 30.0])),
        ("B", np.array([2, 4]), np.array([5.0, 6.0])),
    ]
    fills = [
        make_fill(1, "A", 2.0, 10.0, 0.5, 1),  # cash 100 - 20 - 0.5 = 79.5
        make_fill(2, "B", -4.0, 5.0, 0.0, 2),  # cash + 20 = 99.5
        make_fill(3, "A", -2.0, 30.0, 1.0, 3),  # cash + 60 - 1 = 158.5, A flat
    ]
    journal = journal_of(100.0, ["A", "B"], fills)
    assert journal.columns().cash.tolist() == [79.5, 99.5, 158.5]
    ts, cash, equity, gross = equity_curve(journal, closes)
    assert ts.tolist() == [1, 2, 3, 4]
    assert cash.tolist() == [79.5, 99.5, 158.5, 158.5]
    # equity = cash + 2 x A - 4 x B
    assert equity.tolist() == [99.5, 99.5 + 40.0 - 20.0, 158.5 - 20.0, 158.5 - 24.0]
    assert gross.tolist() == [20.0, 60.0, 20.0, 24.0]


def test_no_fills_and_no_bars() -> None:
    empty = journal_of(50.0, ["A"], [])
    ts, cash, equity, gross = equity_curve(empty, [("A", np.array([5, 6]), np.ones(2))])
    assert (ts.tolist(), cash.tolist(), equity.tolist(), gross.tolist()) == (
        [5, 6],
        [50.0, 50.0],
        [50.0, 50.0],
        [0.0, 0.0],
    )
    ts, cash, equity, gross = equity_curve(empty, [])
    assert ts.size == cash.size == equity.size == gross.size == 0


def random_run(seed: int) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], list[OrderFilled]]:
    """Bars of three symbols on partly shared times, and random fills at their bar times."""
    rng = np.random.default_rng(seed)
    symbols = ["A", "B", "C"]
    closes = []
    for i, symbol in enumerate(symbols):
        n = int(rng.integers(40, 80))
        step = (1, 2, 3)[i] * 1_000
        offset = int(rng.integers(0, 4)) * 500
        ts = offset + step * np.arange(1, n + 1, dtype=np.int64)
        price = 50.0 * (i + 1) * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
        closes.append((symbol, ts, price))
    fills: list[OrderFilled] = []
    held = dict.fromkeys(symbols, 0.0)
    events = sorted(
        (int(t), symbol, float(c))
        for symbol, ts, close in closes
        for t, c in zip(ts, close, strict=True)
    )
    k = 0
    for t, symbol, close in events:
        for _ in range(int(rng.integers(0, 3))):  # 0, 1 or 2 fills on this bar
            k += 1
            choice = rng.random()
            if choice < 0.2 and held[symbol]:
                signed = -held[symbol]  # exactly flat
            elif choice < 0.35 and held[symbol]:
                signed = -2.5 * held[symbol]  # flip
            else:
                signed = float(np.round(rng.normal(0, 5), 3)) or 0.1
            price = close * (1 + rng.normal(0, 0.003))
            fills.append(make_fill(k, symbol, signed, price, abs(signed) * price * 0.001, t))
            held[symbol] += signed
    return closes, fills


def snapshots_per_timestamp(
    initial_cash: float,
    closes: list[tuple[str, np.ndarray, np.ndarray]],
    fills: list[OrderFilled],
) -> np.ndarray:
    """Replay the run as a live portfolio would and snapshot after each bar time."""
    bus = EventBus()
    clock = SimClock(0)
    prices = {symbol: math.nan for symbol, _, _ in closes}
    portfolio = Portfolio(bus, clock, initial_cash, prices)
    bus.subscribe(OrderFilled, portfolio.on_order_filled)
    bars = sorted(
        (int(t), order, symbol, float(c))
        for order, (symbol, ts, close) in enumerate(closes)
        for t, c in zip(ts, close, strict=True)
    )
    pending = list(fills)
    current: int | None = None
    for t, _, symbol, close in bars:
        if current is not None and t != current:
            portfolio.snapshot(current)
        current = t
        clock.set_time(t)
        # the venue matches before the cache marks the bar's close
        while pending and pending[0].ts_init == t and pending[0].symbol == symbol:
            bus.publish(pending.pop(0))
        prices[symbol] = close
    assert current is not None
    portfolio.snapshot(current)
    assert not pending
    return np.array([tuple(s) for s in portfolio.equity_curve], dtype=np.float64)


def order_fills_by_bar(
    closes: list[tuple[str, np.ndarray, np.ndarray]], fills: list[OrderFilled]
) -> list[OrderFilled]:
    # the replay applies a bar's fills when it reaches that bar: order fills the same way
    rank = {symbol: i for i, (symbol, _, _) in enumerate(closes)}
    return sorted(fills, key=lambda f: (f.ts_init, rank[f.symbol]))


@pytest.mark.parametrize("seed", range(8))
def test_curve_equals_per_timestamp_snapshots(seed: int) -> None:
    closes, fills = random_run(seed)
    fills = order_fills_by_bar(closes, fills)
    assert len(fills) > 50
    assert any(f.side is SELL for f in fills)
    assert any(f.side is BUY for f in fills)
    expected = snapshots_per_timestamp(25_000.0, closes, fills)
    journal = journal_of(25_000.0, [s for s, _, _ in closes], fills)
    assert len(journal) == len(fills)
    ts, cash, equity, gross = equity_curve(journal, closes)
    assert ts.tolist() == expected[:, 0].astype(np.int64).tolist()
    np.testing.assert_allclose(cash, expected[:, 2], rtol=0, atol=1e-9)
    np.testing.assert_allclose(equity, expected[:, 3], rtol=0, atol=1e-9)
    np.testing.assert_allclose(gross, expected[:, 4], rtol=0, atol=1e-9)


class RandomTrader(Strategy):
    """Trades at random (seeded): market, limit and stop orders, targets and closes."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        choice = self.rng.random()
        if choice < 0.3:
            ctx.order_target_percent(bar.symbol, float(self.rng.uniform(-0.6, 0.6)))
        elif choice < 0.4:
            ctx.close_position(bar.symbol)
        elif choice < 0.5:
            ctx.buy(bar.symbol, float(self.rng.uniform(0.1, 3)), limit_price=bar.close * 0.99)
        elif choice < 0.6:
            ctx.sell(bar.symbol, float(self.rng.uniform(0.1, 3)), stop_price=bar.close * 0.99)
        elif choice < 0.65:
            ctx.cancel_all(bar.symbol)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_fills_rebuild_the_snapshots_a_live_portfolio_takes(seed: int) -> None:
    closes, _ = random_run(seed)
    rng = np.random.default_rng(seed)
    histories = {}
    bars = []
    for order, (symbol, ts, close) in enumerate(closes):
        opens = close * (1 + rng.normal(0, 0.005, close.size))
        highs = np.maximum(opens, close) * 1.01
        lows = np.minimum(opens, close) * 0.99
        columns = {"open": opens, "high": highs, "low": lows, "close": close, "volume": close}
        histories[symbol] = SymbolHistory(symbol, ts, columns)
        step = int(ts[1] - ts[0])
        bars += [
            (int(t), order, Bar(symbol, int(t), int(t), o, h, lo, c, 1.0, step))
            for t, o, h, lo, c in zip(ts, opens, highs, lows, close, strict=True)
        ]
    clock = SimClock(0)
    kernel = build_kernel(
        clock=clock,
        strategy=RandomTrader(seed),
        strategy_id="S1",
        histories=histories,
        instruments={s: Instrument(s, lot_size=0.001) for s in histories},
        account=AccountConfig(initial_cash=10_000.0, leverage=2.0),
        execution=ExecutionConfig(fee_rate=0.001, slippage_bps=2.0),
    )
    kernel.runner.start()
    current = None
    for t, _, bar in sorted(bars, key=lambda item: item[:2]):
        if current is not None and t != current:
            kernel.portfolio.snapshot(current)
        current = t
        clock.set_time(t)
        kernel.venue.process_bar(bar)  # the venue sees the bar first
        kernel.bus.publish(bar)
    assert current is not None
    kernel.portfolio.snapshot(current)
    fills = kernel.recorder.fills
    assert len(fills) > 30
    expected = np.array([tuple(s) for s in kernel.portfolio.equity_curve], dtype=np.float64)
    ts, cash, equity, gross = equity_curve(kernel.portfolio.journal, closes)
    assert ts.tolist() == expected[:, 0].astype(np.int64).tolist()
    np.testing.assert_allclose(cash, expected[:, 2], rtol=0, atol=1e-9)
    np.testing.assert_allclose(equity, expected[:, 3], rtol=0, atol=1e-9)
    np.testing.assert_allclose(gross, expected[:, 4], rtol=0, atol=1e-9)
