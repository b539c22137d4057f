"""What a strategy may see of the past: bar history and declared indicators.

In a backtest every symbol's full columns are loaded up front and a per-symbol `Cursor`
says how many bars have been revealed; indicators are computed once over the whole column
with the batch kernels and read through the same cursor. Reading is bounded by the cursor,
so no value from a bar that has not closed yet can be seen (no look-ahead by construction).
In paper and live, the same classes are filled one bar at a time (`SymbolHistory.append`)
and indicators are updated by their streaming form, so strategy code cannot tell the modes
apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import overload

import numpy as np
import pandas as pd

from engine.errors import IndicatorError, did_you_mean

__all__ = ["Cursor", "Indicator", "IndicatorSeries", "SymbolHistory"]

COLUMNS = ("open", "high", "low", "close", "volume")


class Cursor:
    """How many bars of one symbol have been revealed (mutated by the runner per bar)."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n


class SymbolHistory:
    """Columns of one symbol's bars and the cursor that limits what is visible.

    Attributes:
        symbol: The symbol.
        cursor: Revealed bar count; only rows ``[0, cursor.n)`` are visible.
    """

    __slots__ = ("columns", "cursor", "symbol", "ts_event")

    def __init__(
        self, symbol: str, ts_event: np.ndarray, columns: Mapping[str, np.ndarray]
    ) -> None:
        self.symbol = symbol
        self.ts_event = np.ascontiguousarray(ts_event, dtype=np.int64)
        self.columns = {name: np.ascontiguousarray(columns[name], dtype=np.float64) for name in COLUMNS}
        self.cursor = Cursor()

    def __len__(self) -> int:
        return self.cursor.n

    def frame(self, n: int | None = None) -> pd.DataFrame:
        """Return the last ``n`` visible bars (all when None) indexed by close time, UTC."""
        end = self.cursor.n
        start = 0 if n is None else max(end - n, 0)
        index = pd.DatetimeIndex(pd.to_datetime(self.ts_event[start:end], unit="ns", utc=True))
        index.name = "ts_event"
        return pd.DataFrame(
            {name: self.columns[name][start:end] for name in COLUMNS}, index=index, copy=True
        )


class IndicatorSeries:
    """One output of a declared indicator, read relative to the current bar.

    ``series[-1]`` is the value at the current bar, ``series[-2]`` one bar earlier;
    non-negative indices count from the first bar. Reading a bar that is not visible yet
    raises IndexError. Warm-up values are NaN, as in TA-Lib.
    """

    __slots__ = ("_cursor", "_values", "name")

    def __init__(self, name: str, values: Sequence[float], cursor: Cursor) -> None:
        self.name = name
        self._values = values
        self._cursor = cursor

    def __len__(self) -> int:
        return self._cursor.n

    def __getitem__(self, index: int) -> float:
        n = self._cursor.n
        position = n + index if index < 0 else index
        if position < 0 or position >= n:
            raise IndexError(
                f"{self.name}[{index}] is not visible: {n} bar(s) have closed so far"
            )
        return self._values[position]

    @property
    def value(self) -> float:
        """Return the value at the current bar (NaN before the first bar or in warm-up)."""
        n = self._cursor.n
        return self._values[n - 1] if n else math.nan

    @property
    def is_ready(self) -> bool:
        """Return True once the current value is not NaN (warm-up is over)."""
        return not math.isnan(self.value)

    def to_numpy(self) -> np.ndarray:
        """Return a copy of the visible values."""
        return np.asarray(self._values[: self._cursor.n], dtype=np.float64)


class Indicator:
    """A declared indicator: its outputs by name; integer indexing reads the first output.

    ``ind[-1]`` is the first output's current value (``sma``, ``rsi``; ``macd``'s macd
    line); ``ind["macdsignal"]`` is another output as an `IndicatorSeries`.
    """

    __slots__ = ("name", "outputs", "primary")

    def __init__(self, name: str, outputs: dict[str, IndicatorSeries]) -> None:
        self.name = name
        self.outputs = outputs
        self.primary = next(iter(outputs.values()))

    @overload
    def __getitem__(self, key: int) -> float: ...
    @overload
    def __getitem__(self, key: str) -> IndicatorSeries: ...
    def __getitem__(self, key: int | str) -> float | IndicatorSeries:
        if isinstance(key, str):
            try:
                return self.outputs[key]
            except KeyError:
                raise IndicatorError(
                    f"{self.name} has no output {key!r}{did_you_mean(key, self.outputs)}"
                ) from None
        return self.primary[key]

    def __len__(self) -> int:
        return len(self.primary)

    @property
    def value(self) -> float:
        """Return the first output's value at the current bar."""
        return self.primary.value

    @property
    def is_ready(self) -> bool:
        """Return True once every output's current value is not NaN."""
        return all(series.is_ready for series in self.outputs.values())


ComputeFn = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def precomputed_indicator(
    name: str, history: SymbolHistory, inputs: Mapping[str, str], compute: ComputeFn
) -> Indicator:
    """Compute an indicator over a symbol's whole column set and read it through its cursor.

    Args:
        name: Display name (e.g. ``"sma(timeperiod=10)"``).
        history: The symbol's history; its cursor bounds what can be read.
        inputs: Indicator input name → history column (``{"real": "close"}``).
        compute: Batch function from input arrays to named outputs.
    """
    arrays = {key: history.columns[column] for key, column in inputs.items()}
    outputs = compute(arrays)
    series = {
        out: IndicatorSeries(f"{name}.{out}", values.tolist(), history.cursor)
        for out, values in outputs.items()
    }
    return Indicator(name, series)
