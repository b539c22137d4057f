"""Portfolio guards on real data: SMA(10)/SMA(30) on Binance BTC/USDT hourly bars.

A max-drawdown guard trips once; afterwards the equity curve moves only with what the
trading state allows: in REDUCING the strategy's exits (sells) still fill and the
account ends flat with constant equity; in HALTED nothing fills and equity moves only
with the position held at the trip, marked to each close.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from engine.config import load_config
from engine.model import Bar, OrderDenied, OrderSide
from engine.risk import TradingState
from engine.runtime import BacktestResult, run_backtest
from engine.strategy import Context, Strategy
from tests.integration.conftest import CliRunner

CONFIG = "configs/sma_cross_btc.toml"


def run(*overrides: str) -> BacktestResult:
    return run_backtest(load_config(CONFIG, list(overrides)))


@pytest.fixture(scope="module")
def unguarded() -> BacktestResult:
    return run()


def trip_time(result: BacktestResult, state: TradingState, limit: float) -> int:
    (change,) = result.recorder.trading_states
    assert (change.previous, change.state) == (TradingState.ACTIVE, state)
    drawdown = float(change.reason.split(" is ")[1].split("%")[0])
    assert change.reason.startswith("max_drawdown: equity ")
    assert drawdown >= limit
    return change.ts_event


def same_until(guarded: BacktestResult, unguarded: BacktestResult, ts: int) -> None:
    before = guarded.equity_curve.ts <= ts
    np.testing.assert_array_equal(
        guarded.equity_curve.equity[before], unguarded.equity_curve.equity[before]
    )


def denials(result: BacktestResult, after: int) -> list[dict[str, Any]]:
    return [
        row
        for row in result.recorder.orders.values()
        if row["status"] == "denied" and row["ts_requested"] >= after
    ]


def test_reducing_lets_only_exits_fill_then_equity_is_flat(unguarded: BacktestResult) -> None:
    result = run("risk.max_drawdown_pct=15.0", 'risk.guard_action="reducing"')
    ts = trip_time(result, TradingState.REDUCING, 15.0)
    same_until(result, unguarded, ts)
    later = [fill for fill in result.recorder.fills if fill.ts_event > ts]
    assert later
    assert all(fill.side is OrderSide.SELL for fill in later)
    denied = denials(result, ts)
    assert denied
    assert all(row["check"] == "trading_state" for row in denied)
    assert all(row["side"] == "buy" for row in denied)
    assert all("trading is REDUCING (max_drawdown:" in row["reason"] for row in denied)
    assert result.portfolio.position_quantity("BTC/USDT") == 0.0
    flat_from = later[-1].ts_event
    curve = result.equity_curve
    after = curve.equity[curve.ts > flat_from]  # a fill at an open is in that bar's close
    assert after.size > 100
    assert np.all(after == after[0])
    assert result.metrics["num_trades"] < unguarded.metrics["num_trades"]


def test_halted_fills_nothing_and_equity_follows_the_held_position(
    unguarded: BacktestResult,
) -> None:
    result = run("risk.max_drawdown_pct=15.0", 'risk.guard_action="halted"')
    ts = trip_time(result, TradingState.HALTED, 15.0)
    same_until(result, unguarded, ts)
    # an order approved before the trip may still fill at the next open; nothing after that
    approved_before = {
        order_id for order_id, row in result.recorder.orders.items() if row["ts_requested"] <= ts
    }
    later = [fill for fill in result.recorder.fills if fill.ts_event > ts]
    assert all(fill.order_id in approved_before for fill in later)
    denied = denials(result, ts + 1)
    assert denied
    assert all(row["reason"].startswith("trading is HALTED") for row in denied)
    settled = max([ts, *(fill.ts_event for fill in later)])
    quantity = result.portfolio.position_quantity("BTC/USDT")
    curve, frame = result.equity_curve, result.frames[0]
    mask = curve.ts > settled
    closes = frame.close[np.isin(frame.ts_close_ns, curve.ts[mask])]
    np.testing.assert_allclose(
        np.diff(curve.equity[mask]), quantity * np.diff(closes), rtol=1e-9, atol=1e-6
    )


def test_cli_prints_the_trading_state_changes(kestrel: CliRunner, tmp_path: Path) -> None:
    out = str(tmp_path / "runs")
    result = kestrel(
        "backtest",
        CONFIG,
        "--out",
        out,
        "--no-db",
        "--set",
        "risk.max_drawdown_pct=15.0",
        "--set",
        'risk.guard_action="halted"',
    )
    assert result.code == 0, result.err
    assert "trading state active -> halted at 2021-01-28" in result.out
    assert "max_drawdown: equity 18086.99 is 15.32% below its peak 21358.25" in result.out
    # what the halt left riding: the position at the last close (metrics.json has it too)
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    left = metrics["guard_exposure_left_open"]
    assert left > 0
    assert f"guard left {left:,.2f} of gross exposure open (halted)" in result.out


def test_the_default_action_lets_the_strategys_exits_through(unguarded: BacktestResult) -> None:
    # Issue 10: the BTC sample at a 10% drawdown limit. Was (default "halted"): tripped at
    # -11.52%, denied all 194 later orders, exits included, and rode the position to the end.
    result = run("risk.max_drawdown_pct=10.0")
    ts = trip_time(result, TradingState.REDUCING, 10.0)
    same_until(result, unguarded, ts)
    (change,) = result.recorder.trading_states
    assert change.reason.startswith("max_drawdown: equity 17632.83 is 11.52% below its peak")
    later = [fill for fill in result.recorder.fills if fill.ts_event > ts]
    assert [fill.side for fill in later] == [OrderSide.SELL]  # the strategy's next exit
    assert result.portfolio.position_quantity("BTC/USDT") == 0.0
    assert all(row["side"] == "buy" for row in denials(result, ts))
    position_at_trip = exposure_at(result, ts)
    assert result.metrics["guard_trips"] == 1
    assert result.metrics["guard_final_state"] == "reducing"
    assert result.metrics["guard_exposure_at_trip"] == pytest.approx(position_at_trip)
    assert result.metrics["guard_exposure_left_open"] == 0.0


def exposure_at(result: BacktestResult, ts: int) -> float:
    """Return the position's value at the bar close ``ts`` (quantity x that close)."""
    frame = result.frames[0]
    (index,) = np.flatnonzero(frame.ts_close_ns == ts)
    held = sum(
        fill.quantity * (1 if fill.side is OrderSide.BUY else -1)
        for fill in result.recorder.fills
        if fill.ts_event < ts  # a fill at ts is at the next bar's open
    )
    return abs(held) * float(frame.close[index])


def test_flatten_closes_everything_at_the_next_open_then_halts(unguarded: BacktestResult) -> None:
    result = run("risk.max_drawdown_pct=10.0", 'risk.guard_action="flatten"')
    ts = trip_time(result, TradingState.HALTED, 10.0)
    same_until(result, unguarded, ts)
    # fills at or after the trip bar's close (the next bar's open has the same time)
    later = [fill for fill in result.recorder.fills if fill.ts_event >= ts]
    (close,) = later  # one fill after the trip: the flatten order, nothing else
    frame = result.frames[0]
    (next_bar,) = np.flatnonzero(frame.ts_close_ns == ts) + 1
    held = exposure_at(result, ts) / float(frame.close[next_bar - 1])
    assert (close.order_id, close.side) == ("risk-flatten-000001", OrderSide.SELL)
    assert close.quantity == pytest.approx(held)
    # the config's 1 bp slippage: a sell fills 1 bp below the open, rounded down (against
    # the seller) to the 0.01 tick
    slipped = float(frame.open[next_bar]) * (1 - 1e-4)
    assert close.price == pytest.approx(math.floor(slipped * 100) / 100, abs=1e-9)
    assert result.portfolio.position_quantity("BTC/USDT") == 0.0
    denied = denials(result, ts + 1)
    assert denied
    assert all(row["reason"].startswith("trading is HALTED") for row in denied)
    assert result.metrics["guard_final_state"] == "halted"
    assert result.metrics["guard_exposure_left_open"] == 0.0
    row = result.recorder.orders["risk-flatten-000001"]
    assert (row["status"], row["tag"]) == ("filled", "flatten")


def test_halted_reports_the_exposure_it_left_open() -> None:
    result = run("risk.max_drawdown_pct=10.0", 'risk.guard_action="halted"')
    (change,) = result.recorder.trading_states
    assert len(denials(result, change.ts_event + 1)) == 194
    quantity = result.portfolio.position_quantity("BTC/USDT")
    last_close = float(result.frames[0].close[-1])
    assert quantity > 0
    assert result.metrics["guard_exposure_left_open"] == pytest.approx(quantity * last_close)


class Capped(Strategy):
    """Buys 0.1 on the first bar; declares a risk default the run's [risk] may override."""

    risk_defaults: ClassVar[dict[str, object]] = {"max_order_quantity": 5.0}

    def __init__(self) -> None:
        super().__init__()
        self.denied: list[OrderDenied] = []
        self.done = False

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if not self.done:
            self.done = True
            ctx.buy(bar.symbol, 0.1)

    def on_order_denied(self, ctx: Context, event: OrderDenied) -> None:
        self.denied.append(event)


@pytest.mark.parametrize(
    ("overrides", "denied"),
    [([], ["order quantity 0.1 exceeds the maximum 0.05"]), (["risk.max_order_quantity=1.0"], [])],
)
def test_strategy_risk_defaults_apply_unless_the_config_overrides(
    overrides: list[str], denied: list[str]
) -> None:
    strategy = Capped()
    strategy.risk_defaults = {"max_order_quantity": 0.05}
    run_backtest(load_config(CONFIG, overrides), strategy=strategy)
    assert [event.reason for event in strategy.denied] == denied
    assert all(event.check == "max_order_quantity" for event in strategy.denied)
