"""Test a strategy in a few lines: run it on a DataFrame, then assert its fills.

In: a strategy (a class and its parameters, or an instance), bars as a pandas DataFrame (or
one per symbol) and optional config sections. Out: the `BacktestResult` of a full kernel
run (risk, fills, fees, accounting: the very code a ``kestrel backtest`` runs), and
assertions on what was filled. The logic of a run lives in `engine.runtime.run_backtest`;
this module only builds its config and compares fills.

Defaults suit hand-computed tests, not realism: no fees, no slippage, 10,000 of cash, whole
units (``lot_size = 1``) and the engine's default fill model (a market order placed on bar
t fills at bar t+1's open). Pass ``config={"execution": {"fee_rate": 0.001}}`` (any section
of a run config, merged over the defaults) to change them.

Example::

    from engine.testing import assert_fills, make_bars, run_strategy
    from strategies.sma_cross import SmaCross

    bars = make_bars([100, 100, 90, 110, 110, 110])
    result = run_strategy(SmaCross, bars, params={"fast": 1, "slow": 2})
    # the cross on bar 3 buys at bar 4's open (110): floor(10,000 / 110) = 90 units
    assert_fills(result, [(bars.index[4], "buy", 90, 110.0)])

A fill's time is the engine's event time, in UTC: a market order filled at a bar's open
carries that bar's open time (the close time of the bar before), and so does a stop the
open gapped through (filled at the open); a stop or limit order triggered inside a bar
carries that bar's close time (the next bar's open time, as ``bars.index[i + 1]``).
Times in expectations may be anything `pandas.Timestamp` reads; naive ones are UTC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from engine.config import parse_config
from engine.errors import ConfigError
from engine.runtime import BacktestResult, run_backtest
from engine.strategy import Strategy, make_strategy

__all__ = ["Fill", "assert_fills", "fills_of", "make_bars", "run_strategy"]

DEFAULT_SYMBOL = "X"


class Fill(NamedTuple):
    """One fill as tests compare it: when, which side, how much, at what price."""

    time: pd.Timestamp
    side: str
    quantity: float
    price: float
    symbol: str


def make_bars(
    close: Sequence[float] | np.ndarray,
    *,
    open: Sequence[float] | np.ndarray | None = None,  # the OHLC column name
    high: Sequence[float] | np.ndarray | None = None,
    low: Sequence[float] | np.ndarray | None = None,
    volume: float = 1_000_000.0,
    start: str = "2024-01-01",
    freq: str = "1D",
) -> pd.DataFrame:
    """Return OHLCV bars indexed by open time (UTC), one row per close given.

    Omitted columns are filled so that each bar is consistent and easy to reason about:
    ``open`` defaults to the close (a bar that does not move), ``high``/``low`` to the
    largest/smallest of open and close. Row ``i`` opens at ``start + i * freq``.

    Raises:
        ConfigError: The columns differ in length.
    """
    closes = np.asarray(close, dtype=np.float64)
    opens = closes.copy() if open is None else np.asarray(open, dtype=np.float64)
    highs = np.maximum(opens, closes) if high is None else np.asarray(high, dtype=np.float64)
    lows = np.minimum(opens, closes) if low is None else np.asarray(low, dtype=np.float64)
    lengths = {len(closes), len(opens), len(highs), len(lows)}
    if len(lengths) != 1:
        raise ConfigError(f"make_bars: open, high, low and close differ in length: {lengths}")
    index = pd.date_range(start, periods=len(closes), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": opens,
            "high": highs,
            "low": lows,
            "close": closes,
            "volume": np.full(len(closes), float(volume)),
        },
        index=index,
    )


def run_strategy(
    strategy: Strategy | type[Strategy],
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    *,
    params: Mapping[str, Any] | None = None,
    symbol: str = DEFAULT_SYMBOL,
    initial_cash: float = 10_000.0,
    lot_size: float = 1.0,
    config: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` on ``data`` through the full kernel and return the result.

    Args:
        strategy: A `Strategy` subclass (built with ``params``, validated as a config's
            ``[strategy] params`` are) or an instance (then ``params`` must be None).
        data: Bars indexed by open time (see `make_bars`), or a dict of them by symbol.
        params: Parameters of a strategy class; omitted ones take their defaults.
        symbol: The symbol of a single DataFrame.
        initial_cash: Starting cash of the account.
        lot_size: Lot size of every symbol without an ``instruments`` entry in ``config``.
        config: Sections of a run config merged over the defaults (``execution``,
            ``account``, ``risk``, ``instruments``, …); a section given replaces the
            default's keys it names.

    Raises:
        ConfigError: Bad parameters or config (one line, as the CLI reports it).
        DataError: The bars are not valid OHLCV.
        StrategyError: The strategy raised.
    """
    frames = {symbol: data} if isinstance(data, pd.DataFrame) else dict(data)
    if isinstance(strategy, Strategy):
        if params is not None:
            raise ConfigError("run_strategy: give params with a strategy class, not an instance")
        instance = strategy
    else:
        instance = make_strategy(strategy, params or {})
    cls = type(instance)
    document: dict[str, Any] = {
        "account": {"initial_cash": initial_cash},
        "data": [{"symbol": name} for name in frames],
        "instruments": [{"symbol": name, "lot_size": lot_size} for name in frames],
        "strategy": {"path": f"{cls.__module__}:{cls.__qualname__}"},
        "execution": {"fee_rate": 0.0, "slippage_bps": 0.0},
    }
    for section, value in (config or {}).items():
        default = document.get(section)
        if isinstance(default, dict) and isinstance(value, Mapping):
            document[section] = {**default, **value}
        else:
            document[section] = value
    return run_backtest(parse_config(document), data=frames, strategy=instance)


def fills_of(result: BacktestResult, symbol: str | None = None) -> list[Fill]:
    """Return the run's fills in the order they happened (optionally of one symbol)."""
    return [
        Fill(
            pd.Timestamp(fill.ts_event, unit="ns", tz="UTC"),
            str(fill.side).lower(),
            float(fill.quantity),
            float(fill.price),
            fill.symbol,
        )
        for fill in result.recorder.fills
        if symbol is None or fill.symbol == symbol
    ]


def assert_fills(
    result: BacktestResult,
    expected: Sequence[tuple[Any, str, float, float]],
    *,
    symbol: str | None = None,
    rel: float = 1e-9,
) -> None:
    """Assert the run filled exactly ``expected``: ``(time, side, quantity, price)``, in order.

    Quantities and prices match within relative tolerance ``rel`` (float arithmetic: a
    price of 1.1 times a slippage factor is not exactly the decimal you typed); times and
    sides exactly (``"buy"``/``"sell"``, any case). Several partial fills of one order are
    several rows.

    Raises:
        AssertionError: With both lists side by side and the first row that differs.
    """
    actual = fills_of(result, symbol)
    wanted = [
        (_utc(time), str(side).lower(), float(quantity), float(price))
        for time, side, quantity, price in expected
    ]
    first_bad = next(
        (
            i
            for i, (got, want) in enumerate(zip(actual, wanted, strict=False))
            if not _same(got, want, rel)
        ),
        None,
    )
    if first_bad is None and len(actual) == len(wanted):
        return
    where = (
        f"row {first_bad} differs"
        if first_bad is not None
        else f"{len(actual)} fills, expected {len(wanted)}"
    )
    lines = [f"fills differ: {where}", "  actual:"]
    lines += [f"    {f.time.isoformat()} {f.side} {f.quantity!r} @ {f.price!r}" for f in actual]
    lines.append("  expected:")
    lines += [f"    {t.isoformat()} {s} {q!r} @ {p!r}" for t, s, q, p in wanted]
    raise AssertionError("\n".join(lines))


def _utc(time: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(time)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _same(got: Fill, want: tuple[pd.Timestamp, str, float, float], rel: float) -> bool:
    time, side, quantity, price = want
    return (
        got.time == time
        and got.side == side
        and math.isclose(got.quantity, quantity, rel_tol=rel)
        and math.isclose(got.price, price, rel_tol=rel)
    )
