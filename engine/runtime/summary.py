"""After the loop: a finished backtest kernel summarized into its `BacktestResult`.

In: the run's config, its kernel after the last event, the bar and tick frames, the first
bar's open time, the fx rates and the wall-clock start. Out: the `BacktestResult` — the
equity curve built from the portfolio's journal (`engine.portfolio.curve`), the open
trades marked where that curve ends, the metrics, the recorder's rows and the account's
final state (`engine.portfolio.state.AccountState`). The result keeps none of the kernel:
what it holds is read here, once, and the kernel can be dropped.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

from engine.config import RunConfig
from engine.feeds import BarFrame
from engine.feeds.ticks import TickFrame
from engine.portfolio.curve import equity_curve
from engine.portfolio.fx import FxRates
from engine.portfolio.state import AccountState
from engine.report.metrics import compute_metrics
from engine.report.outputs import EquityCurve
from engine.report.recorder import Mark, Recorder, TradeRecord
from engine.risk.guards import guard_metrics
from engine.runtime.kernel import Kernel
from engine.runtime.result import BacktestResult
from engine.runtime.ticks import tick_marks

__all__ = ["mark_open_trades", "summarize"]


class _Converted(NamedTuple):
    """A fill's quantity and its price in the account currency (for turnover)."""

    quantity: float
    price: float


def summarize(
    config: RunConfig,
    kernel: Kernel,
    bar_frames: list[BarFrame],
    ticks: list[TickFrame],
    first_open: int,
    fx: FxRates,
    started: float,
) -> BacktestResult:
    """Build the curve, mark the open positions, compute the metrics; return the result.

    ``started`` is the ``time.perf_counter()`` at the run's start (``elapsed_s`` is the
    wall time up to the result, summary included).
    """
    recorder = kernel.recorder
    account = AccountState.of(kernel.portfolio)
    marks = [(frame.symbol, frame.ts_close_ns, frame.close) for frame in bar_frames]
    marks += tick_marks(ticks)
    curve = EquityCurve(*equity_curve(kernel.portfolio.journal, marks, fx.series))
    still_open = mark_open_trades(recorder, account, marks, curve, fx)
    fills: list[Any] = recorder.fills
    if fx:  # turnover in the account currency: each fill at its rate
        fills = [_Converted(f.quantity, f.price * fx.rate(f.symbol, f.ts_event)) for f in fills]
    metrics = compute_metrics(
        initial_cash=config.account.initial_cash,
        start_ns=first_open,
        ts=curve.ts,
        equity=curve.equity,
        gross_exposure=curve.gross_exposure,
        trades=recorder.trades,
        fees_paid=account.fees_paid,
        frames=bar_frames,
        fills=fills,
        open_trades=still_open,
        fx_rates=fx.series,
    )
    if kernel.guard is not None:  # runs without a guard (the shipped configs) keep their keys
        metrics.update(guard_metrics(recorder.trading_states, curve.ts, curve.gross_exposure))
    runner = kernel.runner
    return BacktestResult(
        config=config,
        frames=bar_frames,
        equity_curve=curve,
        metrics=metrics,
        elapsed_s=time.perf_counter() - started,
        tick_frames=ticks,
        open_trades=still_open,
        recorder=recorder,
        portfolio=account,
        strategy=runner.strategy,
        indicators={
            frame.symbol: runner.context.declared_indicators(frame.symbol) for frame in bar_frames
        },
        fx=fx,
        working_orders=tuple(kernel.execution.all_open_orders()),
        unsized_trailing=list(kernel.exits.unsized_trailing) if kernel.exits else [],
        in_flight=kernel.risk.in_flight_ids(),
    )


def mark_open_trades(
    recorder: Recorder,
    account: AccountState,
    marks: list[tuple[str, np.ndarray, np.ndarray]],
    curve: EquityCurve,
    fx: FxRates,
) -> list[TradeRecord]:
    """Return the trades still open, marked where the equity curve's last row marks them.

    Each symbol's mark is its last price in ``marks`` (last bar close, or last tick) at
    that time; the rate is the one as of the curve's last row, as in equity.csv.
    """
    open_trades = recorder.open_trades
    if not open_trades or not len(curve):
        return []
    end = int(curve.ts[-1])
    last: dict[str, Mark] = {}
    for symbol, ts, prices in marks:
        if symbol not in open_trades or ts.size == 0:
            continue
        if symbol in last and last[symbol].ts_ns >= int(ts[-1]):
            continue
        price = float(prices[-1])
        rate = fx.rate(symbol, end) if symbol in fx.series else 1.0
        # cost basis in the account currency (the quote price without fx)
        unrealized = account.positions[symbol].unrealized_pnl(price, rate)
        last[symbol] = Mark(int(ts[-1]), price, rate, unrealized)
    return recorder.marked_open_trades(last)
