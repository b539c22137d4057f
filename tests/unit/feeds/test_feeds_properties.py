"""Property tests: resampling against a plain reference, and lossless DataFrame round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import DataError
from engine.feeds import load_bars

MINUTE = 60 * 10**9
T0 = 1_609_459_200 * 10**9  # 2021-01-01T00:00:00Z


def _bars(present: list[bool], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = np.flatnonzero(present)
    n = len(index)
    close = 100 + rng.normal(0, 1, n).cumsum()
    open_ = close + rng.normal(0, 0.5, n)
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    return pd.DataFrame(
        {
            "timestamp": T0 + index.astype(np.int64) * MINUTE,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.random(n) * 10,
        }
    )


def _reference(frame: pd.DataFrame, step: int) -> list[tuple[int, float, float, float, float]]:
    """Aggregate with a plain loop: buckets of ``step`` minutes from the epoch."""
    buckets: dict[int, list[tuple[float, float, float, float]]] = {}
    for ts, o, h, lo, c in frame[["timestamp", "open", "high", "low", "close"]].itertuples(
        index=False
    ):
        start = int(ts) // (step * MINUTE) * (step * MINUTE)
        buckets.setdefault(start, []).append((o, h, lo, c))
    last_close = int(frame["timestamp"].iloc[-1]) + MINUTE
    out = []
    for start, rows in sorted(buckets.items()):
        if start + step * MINUTE > last_close:
            continue  # not closed by the end of the data
        out.append(
            (
                start,
                rows[0][0],
                max(r[1] for r in rows),
                min(r[2] for r in rows),
                rows[-1][3],
            )
        )
    return out


@settings(max_examples=60, deadline=None, database=None)
@given(
    present=st.lists(st.booleans(), min_size=2, max_size=120).filter(lambda p: sum(p) >= 2),
    step=st.sampled_from([2, 3, 5, 15, 60]),
    seed=st.integers(0, 2**16),
)
def test_resample_matches_a_plain_loop(present: list[bool], step: int, seed: int) -> None:
    frame = _bars(present, seed)
    expected = _reference(frame, step)
    if not expected:
        with pytest.raises(DataError, match="no complete"):
            load_bars(frame, symbol="X", timeframe="1m", resample=f"{step}m")
        return
    loaded = load_bars(frame, symbol="X", timeframe="1m", resample=f"{step}m")
    got = list(
        zip(
            loaded.ts_open_ns.tolist(),
            loaded.open.tolist(),
            loaded.high.tolist(),
            loaded.low.tolist(),
            loaded.close.tolist(),
            strict=True,
        )
    )
    assert got == expected
    assert all(close <= frame["timestamp"].iloc[-1] + MINUTE for close in loaded.ts_close_ns)


@settings(max_examples=40, deadline=None, database=None)
@given(present=st.lists(st.booleans(), min_size=2, max_size=80).filter(lambda p: sum(p) >= 2),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_dataframe_round_trip(present: list[bool], seed: int) -> None:
    frame = _bars(present, seed)
    first = load_bars(frame, symbol="X", timeframe="1m")
    again = load_bars(first.to_dataframe(), symbol="X", timeframe="1m")
    for name in ("ts_open_ns", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    minutes = np.flatnonzero(present)
    assert again.gaps == first.gaps == (minutes[-1] - minutes[0] + 1) - len(minutes)
