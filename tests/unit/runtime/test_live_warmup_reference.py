"""Every TA-Lib function, warmed as a live node warms it, against the backtest's value.

For each name in ``talib.get_functions()`` (the reference list, 201 functions) at default
parameters: a fresh stream is fed `bars_needed` bars of the BTC/USDT hourly sample ending
just before a first live bar, then live bars; from the last warm-up bar on, each value must
equal the batch value over the whole file at the same bar (``|live - batch| <= 1e-9 x
max(1, |batch|)``, NaN where both are NaN). The indicators whose value depends on where the
data starts (running totals, cumulative averages, bar indices) cannot: they are the
explicit list `START_DEPENDENT`, and for each its documented relation to the backtest's
value (constant offset, constant ratio, ...) is checked instead.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from engine.config import MAX_WARMUP_BARS, RunConfig, parse_config
from engine.feeds import load_bars
from engine.indicators import registry
from engine.indicators._common import FloatArray
from engine.runtime.live.warmup import (
    PATH_BARS,
    START_DEPENDENT,
    bars_needed,
    memory_kind,
    warmup_count,
    warmup_notices,
)
from engine.strategy import Context, Strategy

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
MINUTES = ROOT / "data" / "binance_BTC_USDT_5m_202105.csv"
FIRST_LIVE = (3000, 5400)  # first live bar (row) of each trial; the file has 5,482 rows
TRIALS = ((DATA, FIRST_LIVE), (MINUTES, (5700, 8900)))  # 8,928 rows: KAMA's 5,600 fit
LIVE = 20  # live bars compared after the warm-up
TOLERANCE = 1e-9
REFERENCE = sorted(name.lower() for name in talib.get_functions())
# The indicators whose level cannot match a backtest's, and why (the node says so at start).
EXPECTED_START_DEPENDENT = {
    "obv": "sum", "ad": "sum", "pvt": "sum", "wad": "sum", "cumsum": "sum",
    "nvi": "product", "pvi": "product",
    "vwap": "average",
    "maxindex": "index", "minindex": "index", "minmaxindex": "index",
}  # fmt: skip


@cache
def columns(path: Path = DATA) -> dict[str, FloatArray]:
    frame = load_bars(path, symbol="BTC/USDT")
    rows = len(frame)
    return {
        "open": frame.open, "high": frame.high, "low": frame.low, "close": frame.close,
        "volume": frame.volume, "real": frame.close, "real0": frame.high, "real1": frame.low,
        "periods": (2 + np.arange(rows) % 29).astype(np.float64),  # MAVP's period per bar
    }  # fmt: skip


def warmed(
    name: str, first_live: int, path: Path = DATA
) -> tuple[int, dict[str, FloatArray], dict[str, FloatArray]]:
    """Return (warm-up's first row, streamed values, batch values) from its last warm-up bar."""
    spec = registry.get(name)
    count = bars_needed(name, {})
    start = first_live - count
    assert start >= 0, f"{name}: {count} bars do not fit before row {first_live}"
    arrays = {key: columns(path)[key] for key in spec.inputs}
    batch = spec.compute(arrays)
    stream = spec.streaming()
    seen: dict[str, list[float]] = {output: [] for output in spec.outputs}
    for row in range(start, first_live + LIVE):
        stream.update(*(float(arrays[key][row]) for key in spec.inputs))
        if row >= first_live - 1:
            for output, value in stream.values.items():
                seen[output].append(value)
    rows = slice(first_live - 1, first_live + LIVE)
    return (
        start,
        {output: np.asarray(values) for output, values in seen.items()},
        {output: batch[output][rows] for output in spec.outputs},
    )


def worst(live: FloatArray, backtest: FloatArray) -> float:
    """Return the largest ``|live - backtest| / max(1, |backtest|)``.

    Equal values (an overflow's inf as well) and NaN against NaN count 0.
    """
    if np.any(np.isnan(live) != np.isnan(backtest)):
        return math.inf
    same = (live == backtest) | np.isnan(live)
    with np.errstate(invalid="ignore"):
        gap = np.abs(live - backtest) / np.maximum(1.0, np.abs(backtest))
    return float(np.max(np.where(same, 0.0, gap)))


def test_the_reference_list_is_the_registry() -> None:
    assert len(REFERENCE) == 201
    assert set(REFERENCE) == set(registry.names())


@pytest.mark.parametrize("name", [n for n in REFERENCE if n not in EXPECTED_START_DEPENDENT])
def test_warmed_with_the_derived_count_equals_the_backtest(name: str) -> None:
    trials = [
        (path, first_live)
        for path, first_lives in TRIALS
        for first_live in first_lives
        if bars_needed(name, {}) <= first_live
    ]
    assert len(trials) >= 2  # every indicator fits at least the 5-minute file's two
    for path, first_live in trials:
        _, live, backtest = warmed(name, first_live, path)
        for output in live:
            gap = worst(live[output], backtest[output])
            assert gap <= TOLERANCE, f"{name}.{output}, {path.name} row {first_live}: {gap:.3e}"


def test_the_start_dependent_list_is_explicit_and_matches_the_registry() -> None:
    assert dict(START_DEPENDENT) == EXPECTED_START_DEPENDENT
    for name in REFERENCE:
        indexes = registry.get(name).binding.index_outputs
        cumulative = memory_kind(name, {}) == "cumulative"
        assert (name in START_DEPENDENT) == (cumulative or indexes), name


@pytest.mark.parametrize("name", sorted(EXPECTED_START_DEPENDENT))
def test_a_start_dependent_value_differs_from_the_backtest_as_documented(name: str) -> None:
    start, live, backtest = warmed(name, FIRST_LIVE[0])
    kind = EXPECTED_START_DEPENDENT[name]
    for output in live:
        ours, theirs = live[output], backtest[output]
        assert worst(ours, theirs) > 1e-3  # the level is not the backtest's
        if kind == "sum":  # offset by a constant: bar-to-bar changes are the backtest's
            assert worst(np.diff(ours), np.diff(theirs)) <= TOLERANCE
        elif kind == "product":  # scaled by a constant: bar-to-bar ratios are the backtest's
            assert worst(ours[1:] / ours[:-1], theirs[1:] / theirs[:-1]) <= TOLERANCE
        elif kind == "index":  # counted from the warm-up's first bar, not the data's
            assert np.array_equal(theirs - ours, np.full(len(ours), float(start)))
        else:  # an average since the warm-up's first bar: the batch over those bars
            spec = registry.get(name)
            arrays = {key: columns()[key][start : FIRST_LIVE[0] + LIVE] for key in spec.inputs}
            since = spec.compute(arrays)[output][FIRST_LIVE[0] - 1 - start :]
            assert worst(ours, since) <= TOLERANCE


def test_sar_warmed_with_path_bars_equals_the_batch_from_every_start_in_every_file() -> None:
    spec = registry.get("sar")
    assert bars_needed("sar", {}) == bars_needed("sarext", {}) == PATH_BARS == 400
    slowest = 0
    for path in sorted((ROOT / "data").glob("*.csv")):
        if "trades" in path.name or "headlines" in path.name:
            continue
        frame = load_bars(path, symbol="X")
        high, low = frame.high, frame.low
        whole = spec.compute({"high": high, "low": low})["real"]
        for start in range(len(high) - PATH_BARS):
            part = spec.compute({"high": high[start:], "low": low[start:]})["real"]
            differs = np.nonzero(part[1:] != whole[start + 1 :])[0] + 1  # row 0 is NaN
            # the fewest warm-up bars after whose last one every value equals the batch's
            last = int(differs[-1]) + 2 if len(differs) else 0
            assert last <= PATH_BARS, f"{path.name} from row {start}: {last} bars"
            slowest = max(slowest, last)
    assert slowest == 185  # the module docstring's figure


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("sar", {"acceleration": 0.01, "maximum": 0.2}),
        ("sar", {"acceleration": 0.005, "maximum": 0.05}),
        ("sarext", {"accelerationlong": 0.004, "accelerationshort": 0.01}),
    ],
)
def test_a_slower_sar_warms_longer_and_equals_the_batch(
    name: str, params: dict[str, float]
) -> None:
    # A smaller acceleration reverses less often: 0.01 took 310 bars at worst over data/,
    # 0.005 675, 0.002 1,280 (PATH_BARS is for 0.02 and scales with 0.02 / acceleration).
    spec = registry.get(name)
    count = bars_needed(name, params)
    assert count > PATH_BARS
    for path in sorted((ROOT / "data").glob("*.csv")):
        if "trades" in path.name or "headlines" in path.name:
            continue
        frame = load_bars(path, symbol="X")
        high, low = frame.high, frame.low
        whole = spec.compute({"high": high, "low": low}, **params)["real"]
        for start in range(0, len(high) - count, 7):
            rows = slice(start, start + count)
            part = spec.compute({"high": high[rows], "low": low[rows]}, **params)["real"]
            assert part[-1] == whole[start + count - 1], f"{path.name} from row {start}"


class Levels(Strategy):
    """Declares a running total, a bar index and two decaying averages; never trades."""

    def on_start(self, ctx: Context) -> None:
        ctx.indicator("obv", "BTC/USDT")
        ctx.indicator("maxindex", "BTC/USDT", timeperiod=10)
        ctx.indicator("sma", "BTC/USDT", timeperiod=20)
        ctx.indicator("rsi", "BTC/USDT", timeperiod=14)


def levels_config(warmup_bars: int | None = None) -> RunConfig:
    document: dict[str, Any] = {
        "run": {"name": "levels"},
        "account": {"initial_cash": 10_000.0, "currency": "USDT"},
        "data": [{"path": str(DATA), "symbol": "BTC/USDT", "timeframe": "1h"}],
        "instruments": [{"symbol": "BTC/USDT", "tick_size": 0.01, "lot_size": 0.00001}],
        "strategy": {"path": f"{Path(__file__).resolve()}:Levels"},
    }
    if warmup_bars is not None:
        document["live"] = {"warmup_bars": warmup_bars}
    return parse_config(document, ROOT)


def test_the_user_is_told_at_start_which_levels_cannot_equal_a_backtests() -> None:
    told: list[str] = []
    assert warmup_count(levels_config(), None, told.append) == 450  # RSI's 30 x 15
    assert told == [
        "warm-up: obv() on BTC/USDT is a running total: its level counts from the warm-up's "
        "first bar and cannot equal a backtest's (counted from its data's first bar); its "
        "bar-to-bar changes do",
        "warm-up: maxindex(timeperiod=10) on BTC/USDT gives bar positions counted from the "
        "warm-up's first bar: a backtest's minus a constant; the bars since the extreme (the "
        "bar's position minus the value) equal a backtest's",
    ]


def test_a_given_count_too_short_for_an_indicator_is_told_with_the_count_it_needs() -> None:
    told: list[str] = []
    assert warmup_count(levels_config(), 30, told.append) == 30
    assert told[2:] == [
        "warm-up: rsi(timeperiod=14) on BTC/USDT needs 450 bars to equal a backtest's value "
        "and --warmup-bars / [live] warmup_bars gives 30: until it has seen 450 bars its "
        "values differ",
    ]  # SMA(20) needs 20: not told
    told.clear()
    assert warmup_count(levels_config(warmup_bars=10), None, told.append) == 10
    assert [line.split(" on ")[0] for line in told[2:]] == [
        "warm-up: sma(timeperiod=20)",
        "warm-up: rsi(timeperiod=14)",
    ]


@pytest.mark.parametrize(("name", "params"), [("kama", {}), ("ma", {"matype": 6})])
def test_kama_warmed_with_its_count_equals_the_batch_even_where_it_adapts_slowest(
    name: str, params: dict[str, int]
) -> None:
    # Over the 5-minute volumes the efficiency ratio is near 0, so KAMA's smoothing is near
    # its floor (2/31)^2 a bar: its seed decays far slower than over hourly closes.
    volume = load_bars(ROOT / "data" / "binance_BTC_USDT_5m_202105.csv", symbol="X").volume
    count = bars_needed(name, params)
    whole = registry.get(name).compute({"real": volume}, **params)["real"]
    for last in range(count - 1, len(volume), 307):
        window = {"real": volume[last - count + 1 : last + 1]}
        part = registry.get(name).compute(window, **params)["real"]
        assert worst(part[-1:], whole[last : last + 1]) <= TOLERANCE, f"row {last}"


def test_a_derived_count_capped_below_a_need_is_told() -> None:
    declared: list[tuple[str, str, dict[str, int | float]]] = [
        ("ema", "BTC/USDT", {"timeperiod": 100_000}),  # 30 x 100,000 bars
        ("sma", "BTC/USDT", {"timeperiod": 20}),
    ]
    assert bars_needed("ema", {"timeperiod": 100_000}) == 3_000_000 > MAX_WARMUP_BARS
    assert warmup_notices(declared, MAX_WARMUP_BARS, given=False) == [
        "warm-up: ema(timeperiod=100000) on BTC/USDT needs 3000000 bars to equal a backtest's "
        "value and the cap is 1000000: until it has seen 3000000 bars its values differ"
    ]
