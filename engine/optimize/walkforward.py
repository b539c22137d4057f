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
from the cash the previous OOS window ended with. So that this cash is real, an OOS window
followed by another ends flat (``run_backtest(close_at_end=True)``:
`engine.runtime.closeout`): what it still holds at its last bar is sold (a short bought
back) at that bar's close by a market order through the engine's order path, filled as
under ``market_fill = "same_close"`` — the run's fee and slippage, a fill and a closed
trade of the window (``num_trades``, ``fees_paid``), its curve's last row the cash left.
(The engine cannot start a run holding a position, so the position is not carried over;
handing on the equity marked to the last close instead was a free liquidation: no fee, no
slippage, no trade.) Should risk deny that exit or ``volume_participation`` trim it, the
rest is handed on at its mark, the window's ``open_positions`` says so and the command
warns (`unclosed_windows`). The last
window ends as any backtest does: a position still open is marked at the last close, not
sold. The stitched curve is the OOS curves chained, each starting from the cash the one
before left; its return is the windows' returns compounded. Its metrics are the backtest's
(`compute_metrics`) over that curve and every window's closed trades and fills (win rate,
profit factor, streaks: the windows' trades together), with the last window's positions
still open; MAE/MFE need the bars and stay per window.

A window whose in-sample trials all failed or left the objective undefined (e.g. windows
shorter than the strategy's warm-up: no trade, no Sharpe) chooses nothing and holds cash
through its OOS bars — a flat stretch of the stitched curve, so every OOS bar is in it
once; `walk_forward` refuses an analysis in which no window chose anything
(`NothingChosenError`: there is no result).

Walk-forward efficiency (Pardo): the mean OOS CAGR over the mean IS CAGR of the chosen
parameters (None when the IS mean is not positive). Stability, per parameter: the values
chosen, how many times the choice changed from one window to the next, and for numbers
the coefficient of variation (std / |mean|, ddof 0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.feeds import BarFrame, format_timestamp, parse_timestamp
from engine.optimize.executors import Executor
from engine.optimize.search import SweepSpec, plan, rank
from engine.optimize.space import Constraint
from engine.optimize.trial import COMPLETE, SweepData, trial_config
from engine.report.assets import ASSETS_DIR
from engine.report.compare import RunSeries, render_compare
from engine.report.csv_text import period_text
from engine.report.metrics import compute_metrics
from engine.report.ownership import check_output_folder, is_kestrel_json
from engine.report.round_trips import TradeRecord
from engine.runtime.backtest import run_backtest

__all__ = [
    "SCHEMES",
    "WRITES",
    "NothingChosenError",
    "WalkForward",
    "Window",
    "check_folder",
    "plan_json",
    "plan_windows",
    "stored_row",
    "summary_json",
    "unclosed_windows",
    "untraded_windows",
    "walk_forward",
    "walkforward_id",
    "window_days",
    "write_walkforward",
]

SCHEMES = ("rolling", "anchored")


class NothingChosenError(ConfigError):
    """No window's in-sample search gave the objective a value: nothing was traded."""


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
    """One window's choice and outcome (times: ISO-8601 UTC; ``params`` None: no choice).

    ``is_start``/``oos_start`` are the open of a range's first bar, ``is_end``/``oos_end``
    the close of its last (exclusive: a daily Friday bar ends on Saturday at 00:00); the
    days to print are `window_days`'.
    """

    window: Window
    is_start: str
    is_end: str
    oos_start: str
    oos_end: str
    params: dict[str, Any] | None
    is_metrics: dict[str, Any] | None
    oos_metrics: dict[str, Any] | None
    trials: int

    @property
    def is_bars(self) -> int:
        """Bars in the in-sample range."""
        return self.window.is_stop - self.window.is_first


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


def window_days(start: str, end: str) -> str:
    """Return ``first day → last day`` of a range's bars (`period_text`, a report header's).

    ``end`` is the close of the range's last bar: a daily bar opened on Friday closes on
    Saturday at midnight, the day ``end[:10]`` printed (GOOG's first in-sample window read
    2004-08-19 → 2006-08-12 for a last bar on 2006-08-11).
    """
    return period_text(parse_timestamp(start), parse_timestamp(end))


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
    trades: list[TradeRecord] = []  # every window's closed trades, and fills, in order
    fills: list[Any] = []
    still_open: list[TradeRecord] = []
    for position, window in enumerate(windows):
        still_open = []  # only the last window's count: the others end flat
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
            # a window followed by another ends flat: what it holds is sold at its last
            # close (fee, slippage, a trade), and the next starts from the cash left
            last = position == len(windows) - 1
            run = run_backtest(outside, close_at_end=not last)
            oos_metrics = dict(run.metrics)
            trades.extend(run.recorder.trades)
            fills.extend(run.recorder.fills)
            still_open = list(run.open_trades)
            curve = run.equity_curve
            curves.append((curve.ts, curve.equity, curve.gross_exposure))
            cash = float(curve.equity[-1]) if len(curve) else cash
        else:  # nothing chosen: cash is held through the OOS bars
            stamps = frame.ts_close_ns[window.is_stop : window.oos_stop].astype(np.int64)
            curves.append((stamps, np.full(stamps.size, cash), np.zeros(stamps.size)))
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
    if all(r.params is None for r in results):
        sizes = sorted({r.is_bars for r in results})
        bars = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
        raise NothingChosenError(
            f"walk-forward chose nothing: in none of its {len(results)} windows ({bars} "
            f"in-sample bars each) did a trial give {spec.objectives[0]!r} a value; lengthen "
            "--in-sample so a window holds the strategy's warm-up and some trades"
        )
    return _summary(config, frame, results, curves, spec, (trades, fills, still_open))


def unclosed_windows(results: Sequence[WindowResult]) -> list[int]:
    """Return the indices of windows, the last one aside, that ended holding positions.

    Their close-out was denied by risk or filled in part (``volume_participation``): what
    it left was handed on to the next window at its last close, without fee or slippage.
    The last window keeps what it holds at the end, marked, as any backtest.
    """
    return [
        r.window.index
        for r in results[:-1]
        if r.oos_metrics is not None and int(r.oos_metrics.get("open_positions") or 0) > 0
    ]


def untraded_windows(results: Sequence[WindowResult]) -> list[int]:
    """Return the indices of the windows that chose nothing (held cash out of sample)."""
    return [r.window.index for r in results if r.params is None]


def _summary(
    config: RunConfig,
    frame: BarFrame,
    results: list[WindowResult],
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    spec: SweepSpec,
    traded_out: tuple[list[TradeRecord], list[Any], list[TradeRecord]],
) -> WalkForward:
    if curves:
        ts = np.concatenate([c[0] for c in curves])
        equity = np.concatenate([c[1] for c in curves])
        gross = np.concatenate([c[2] for c in curves])
    else:
        ts, equity, gross = np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
    traded = [r for r in results if r.oos_metrics is not None]
    trades, fills, still_open = traded_out
    metrics: dict[str, Any] = {}
    if ts.size:  # trade statistics over every window's closed trades, in closing order
        metrics = compute_metrics(
            initial_cash=config.account.initial_cash,
            start_ns=int(frame.ts_open_ns[results[0].window.is_stop]),
            ts=ts,
            equity=equity,
            gross_exposure=gross,
            trades=trades,
            fees_paid=sum(float(r.oos_metrics["fees_paid"]) for r in traded if r.oos_metrics),
            fills=fills,
            open_trades=still_open,
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


def _window_json(r: WindowResult) -> dict[str, Any]:
    return {
        **dataclasses.asdict(r.window), "is_start": r.is_start, "is_end": r.is_end,
        "oos_start": r.oos_start, "oos_end": r.oos_end, "params": r.params, "trials": r.trials,
        "is_metrics": r.is_metrics, "oos_metrics": r.oos_metrics,
    }  # fmt: skip


def summary_json(result: WalkForward) -> dict[str, Any]:
    """Return the analysis as plain JSON values (``walkforward.json``; the store's row)."""
    return {
        "windows": [_window_json(r) for r in result.windows],
        "metrics": result.metrics,
        "efficiency": result.efficiency,
        "stability": result.stability,
    }


def walkforward_id(name: str, config_toml: str, plan_json: Mapping[str, Any]) -> str:
    """Return the analysis' id: the run name, ``wf`` and a hash of the config and the plan.

    The same config, search and windows name the same analysis (a rerun replaces it).
    """
    text = config_toml + "\0" + json.dumps(plan_json, sort_keys=True)
    return f"{name}-wf-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def plan_json(spec: SweepSpec, scheme: str, in_sample: int, out_of_sample: int) -> dict[str, Any]:
    """Return the search and window plan as stored (``walkforwards.spec_json``)."""
    return {
        "search": spec.as_json(),
        "scheme": scheme,
        "in_sample": in_sample,
        "out_of_sample": out_of_sample,
    }


def stored_row(
    result: WalkForward,
    config: RunConfig,
    *,
    config_toml: str,
    plan: Mapping[str, Any],
    created_at: str,
    folder: Path | None,
) -> dict[str, Any]:
    """Return the ``walkforwards`` row of ``result`` (`engine.persistence.sweeps`)."""
    summary = summary_json(result)

    def dumped(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    return {
        "walkforward_id": walkforward_id(config.run.name, config_toml, plan),
        "name": config.run.name,
        "strategy": config.strategy.path,
        "created_at": created_at,
        "config_toml": config_toml,
        "spec_json": dumped(plan),
        "windows_json": dumped(summary["windows"]),
        "metrics_json": dumped(summary["metrics"]),
        "efficiency": result.efficiency,
        "stability_json": dumped(summary["stability"]),
        "artifacts_dir": None if folder is None else str(folder),
    }


#: What `write_walkforward` writes into its folder (``_assets``: the page's plotly.js).
WRITES = ("walkforward.json", "oos_equity.csv", "report.html", ASSETS_DIR)


def check_folder(folder: Path, option: str = "--out") -> None:
    """Refuse ``folder`` unless it is missing, empty or an earlier analysis' folder.

    Raises:
        OutputPathError: ``folder`` is a file or holds files this module did not write.
    """
    ours = is_kestrel_json(("windows", "metrics", "efficiency", "stability"))
    check_output_folder(folder, WRITES, "walkforward.json", ours, option)


def write_walkforward(result: WalkForward, config: RunConfig, folder: Path) -> list[Path]:
    """Write ``walkforward.json``, ``oos_equity.csv`` and ``report.html`` (the stitched curve).

    The page is the runs-comparison page of one series: the stitched OOS equity as growth of
    1 and its metrics.

    Raises:
        OutputPathError: ``folder`` holds files an earlier analysis did not write
            (`check_folder`): nothing is written.
    """
    check_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = summary_json(result)
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
