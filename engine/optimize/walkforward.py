"""Walk-forward analysis: optimize in-sample, trade the choice out-of-sample, window by window.

In: a run config, a `SweepSpec` (grid or random), the window lengths in bars of the
config's first data source, the scheme (``rolling``: every in-sample window has the same
length and slides by the out-of-sample length; ``anchored``: every in-sample window starts
at the first bar and grows) and an executor factory. Out: a `WalkForward`: per window the
in-sample (IS) and out-of-sample (OOS) bar ranges, the parameters chosen in-sample (best by
the first objective, `engine.optimize.search.rank`), their IS and OOS metrics, and across
windows the stitched OOS equity curve, its metrics, the walk-forward efficiency and the
parameters' stability.

No look-ahead by construction: window k's trials run on a config whose ``[[data]]`` tables
end (``end``: bars closed by then) at the close of IS bar ``b − 1``, and the OOS backtest
starts (``start``) at the open of bar ``b``; the choice is made before the OOS run exists.
Each OOS window starts flat, with fresh indicators (its first bars are their warm-up),
from the cash the previous OOS window ended with: the stitched curve is the OOS curves
chained, each scaled by the stitched equity at its start.

Walk-forward efficiency (Pardo): the mean OOS CAGR over the mean IS CAGR of the chosen
parameters (None when the IS mean is not positive). Stability, per parameter: the values
chosen, how many times the choice changed from one window to the next, and for numbers
the coefficient of variation (std / |mean|, ddof 0).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.feeds import BarFrame, format_timestamp
from engine.optimize.executors import Executor
from engine.optimize.search import SweepSpec, plan, rank
from engine.optimize.space import Constraint
from engine.optimize.trial import COMPLETE, SweepData, trial_config
from engine.report.compare import RunSeries, render_compare
from engine.report.metrics import compute_metrics
from engine.runtime.backtest import run_backtest

__all__ = [
    "SCHEMES",
    "WalkForward",
    "Window",
    "plan_windows",
    "walk_forward",
    "write_walkforward",
]

SCHEMES = ("rolling", "anchored")
ExecutorFactory = Callable[[RunConfig], Executor]


@dataclass(frozen=True)
class Window:
    """Bar index ranges ``[is_first, is_stop)`` and ``[is_stop, oos_stop)`` of one window."""

    index: int
    is_first: int
    is_stop: int
    oos_stop: int


@dataclass
class WindowResult:
    """One window's choice and outcome (times: ISO-8601 UTC; ``params`` None: no choice)."""

    window: Window
    is_start: str
    is_end: str
    oos_start: str
    oos_end: str
    params: dict[str, Any] | None
    is_metrics: dict[str, Any] | None
    oos_metrics: dict[str, Any] | None
    trials: int


@dataclass
class WalkForward:
    """The whole analysis (see the module docstring for each figure)."""

    windows: list[WindowResult]
    ts: np.ndarray
    equity: np.ndarray
    metrics: dict[str, Any]
    efficiency: float | None
    stability: dict[str, dict[str, Any]]


def plan_windows(bars: int, in_sample: int, out_of_sample: int, scheme: str) -> list[Window]:
    """Return the windows over ``bars`` bars (the last OOS window may be shorter).

    Raises:
        ConfigError: An unknown scheme, a length below 1, or no room for one window.
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"--scheme {scheme!r} is not a scheme (valid: 'rolling', 'anchored')")
    if in_sample < 1 or out_of_sample < 1:
        raise ConfigError("--in-sample and --out-of-sample must be >= 1 bar")
    if in_sample >= bars:
        raise ConfigError(
            f"--in-sample {in_sample} leaves no out-of-sample bar: the data have {bars} bars"
        )
    windows: list[Window] = []
    stop = in_sample
    while stop < bars:
        first = 0 if scheme == "anchored" else stop - in_sample
        end = min(stop + out_of_sample, bars)
        windows.append(Window(len(windows), first, stop, end))
        stop = end
    return windows


def _sliced(config: RunConfig, frame: BarFrame, first: int, stop: int) -> RunConfig:
    start = format_timestamp(int(frame.ts_open_ns[first]))
    end = format_timestamp(int(frame.ts_close_ns[stop - 1]))
    data = [dataclasses.replace(source, start=start, end=end) for source in config.data]
    return dataclasses.replace(config, data=data)


def walk_forward(
    config: RunConfig,
    spec: SweepSpec,
    windows: Sequence[Window],
    make_executor: ExecutorFactory,
    constraint: Constraint | None = None,
) -> WalkForward:
    """Run the analysis (windows from `plan_windows` over the first source's bars)."""
    if spec.method == "optuna":
        raise ConfigError("walkforward searches with --method grid or random")
    frame = next(f for f in SweepData.load(config).frames if isinstance(f, BarFrame))
    trials = plan(spec, constraint)
    results = []
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    cash = config.account.initial_cash
    for window in windows:
        inside = _sliced(config, frame, window.is_first, window.is_stop)
        executor = make_executor(inside)
        try:
            found = list(executor.run(trials))
        finally:
            executor.close()
        best = rank(found, spec)[0] if found else None
        chosen = best if best is not None and best.value(spec.objectives[0]) is not None else None
        oos_metrics = None
        if chosen is not None and chosen.status == COMPLETE:
            outside = _sliced(
                trial_config(config, chosen.params), frame, window.is_stop, window.oos_stop
            )
            outside = dataclasses.replace(
                outside, account=dataclasses.replace(outside.account, initial_cash=cash)
            )
            run = run_backtest(outside)
            oos_metrics = dict(run.metrics)
            curve = run.equity_curve
            curves.append((curve.ts, curve.equity, curve.gross_exposure))
            cash = float(curve.equity[-1]) if len(curve) else cash
        results.append(
            WindowResult(
                window,
                format_timestamp(int(frame.ts_open_ns[window.is_first])),
                format_timestamp(int(frame.ts_close_ns[window.is_stop - 1])),
                format_timestamp(int(frame.ts_open_ns[window.is_stop])),
                format_timestamp(int(frame.ts_close_ns[window.oos_stop - 1])),
                None if chosen is None else dict(chosen.params),
                None if chosen is None else chosen.metrics,
                oos_metrics,
                len(found),
            )
        )
    return _summary(config, frame, results, curves, spec)


def _summary(
    config: RunConfig,
    frame: BarFrame,
    results: list[WindowResult],
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    spec: SweepSpec,
) -> WalkForward:
    if curves:
        ts = np.concatenate([c[0] for c in curves])
        equity = np.concatenate([c[1] for c in curves])
        gross = np.concatenate([c[2] for c in curves])
    else:
        ts, equity, gross = np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
    traded = [r for r in results if r.oos_metrics is not None]
    metrics: dict[str, Any] = {}
    if ts.size:
        first_oos = next(r.window.is_stop for r in results if r.oos_metrics is not None)
        metrics = compute_metrics(
            initial_cash=config.account.initial_cash,
            start_ns=int(frame.ts_open_ns[first_oos]),
            ts=ts,
            equity=equity,
            gross_exposure=gross,
            trades=[],
            fees_paid=sum(float(r.oos_metrics["fees_paid"]) for r in traded if r.oos_metrics),
        )
        metrics["num_trades"] = sum(
            int(r.oos_metrics["num_trades"]) for r in traded if r.oos_metrics
        )
    return WalkForward(results, ts, equity, metrics, _efficiency(traded), _stability(results, spec))


def _mean(values: Sequence[Any]) -> float | None:
    finite = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _efficiency(traded: Sequence[WindowResult]) -> float | None:
    inside = _mean([r.is_metrics.get("cagr") for r in traded if r.is_metrics])
    outside = _mean([r.oos_metrics.get("cagr") for r in traded if r.oos_metrics])
    if inside is None or outside is None or not inside > 0:
        return None
    return outside / inside


def _stability(results: Sequence[WindowResult], spec: SweepSpec) -> dict[str, dict[str, Any]]:
    stability = {}
    chosen = [r.params for r in results if r.params is not None]
    for param in spec.params:
        values = [p[param.name] for p in chosen]
        changes = sum(1 for a, b in itertools.pairwise(values) if a != b)
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        mean = float(np.mean(numbers)) if numbers and len(numbers) == len(values) else None
        spread = float(np.std(numbers)) if mean is not None else None
        variation = spread / abs(mean) if mean and spread is not None else None
        stability[param.name] = {"values": values, "changes": changes, "cv": variation}
    return stability


def write_walkforward(result: WalkForward, config: RunConfig, folder: Path) -> list[Path]:
    """Write ``walkforward.json``, ``oos_equity.csv`` and ``report.html`` (the stitched curve).

    The page is the runs-comparison page of one series: the stitched OOS equity as growth of
    1 and its metrics.
    """
    folder.mkdir(parents=True, exist_ok=True)
    summary = {
        "windows": [
            {**dataclasses.asdict(r.window), "is_start": r.is_start, "is_end": r.is_end,
             "oos_start": r.oos_start, "oos_end": r.oos_end, "params": r.params,
             "trials": r.trials, "is_metrics": r.is_metrics, "oos_metrics": r.oos_metrics}
            for r in result.windows
        ],
        "metrics": result.metrics,
        "efficiency": result.efficiency,
        "stability": result.stability,
    }  # fmt: skip
    json_path = folder / "walkforward.json"
    json_path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    csv_path = folder / "oos_equity.csv"
    lines = ["timestamp,equity"]
    lines += [
        f"{format_timestamp(int(t))},{e!r}"
        for t, e in zip(result.ts, result.equity.tolist(), strict=True)
    ]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    series = RunSeries(
        f"{config.run.name} walk-forward (out of sample)", config.strategy.path, result.metrics,
        result.ts, result.equity, config.account.initial_cash,
    )  # fmt: skip
    page = render_compare([series], folder / "report.html") if result.ts.size else None
    return [json_path, csv_path, *([page] if page else [])]
