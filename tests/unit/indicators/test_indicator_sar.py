"""Parabolic SAR and SAREXT: TA-Lib's bootstrap and reversals, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine.indicators as ta

# Bar 1 rises (+DM 1, -DM 0), so the trade starts long with the stop at bar 0's low (9)
# and the extreme point at bar 1's high (11); af = 0.02.
HIGH = np.array([10.0, 11.0, 12.0, 9.0, 8.0, 12.0])
LOW = np.array([9.0, 10.0, 11.0, 7.0, 6.0, 10.0])
# bar 1: out 9; stop 9 + 0.02 * (11 - 9) = 9.04
# bar 2: out 9.04; new high 12 -> af 0.04; stop 9.04 + 0.04 * (12 - 9.04) = 9.1584
# bar 3: low 7 <= 9.1584 reverses short at the extreme point 12; next stop
#        12 + 0.02 * (7 - 12) = 11.9, raised to yesterday's high 12
# bar 4: out 12; new low 6 -> af 0.04; stop 12 + 0.04 * (6 - 12) = 11.76
# bar 5: high 12 >= 11.76 reverses long at the trade's lowest low 6
EXPECTED = [math.nan, 9.0, 9.04, 12.0, 12.0, 6.0]


def test_sar_by_hand() -> None:
    out = ta.get("sar").compute({"high": HIGH, "low": LOW})["real"]
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-15)


def test_sarext_signs_short_stops_and_offsets_reversals() -> None:
    spec = ta.get("sarext")
    out = spec.compute({"high": HIGH, "low": LOW})["real"]
    np.testing.assert_allclose(out, [math.nan, 9.0, 9.04, -12.0, -12.0, 6.0], rtol=1e-15)
    # offsetonreverse 0.1 moves the reversal stop 10% further away: 12 * 1.1 on the way
    # short; then 13.2 + 0.02 * (7 - 13.2) = 13.076 for bar 4 and, after its new low 6,
    # 13.076 + 0.04 * (6 - 13.076) = 12.79296, which bar 5's high 12 no longer reaches.
    offset = spec.compute({"high": HIGH, "low": LOW}, offsetonreverse=0.1)["real"]
    np.testing.assert_allclose(offset[3:], [-13.2, -13.076, -12.79296], rtol=1e-12)


def test_start_direction_from_minus_dm_and_forced_start() -> None:
    # Bar 1's low falls 1 while its high rises 0.5: -DM > +DM, so the trade starts short
    # with the stop at bar 0's high (10); bar 1's high 10.5 reaches it and reverses long at
    # the extreme point, bar 1's low 8.
    high, low = np.array([10.0, 10.5]), np.array([9.0, 8.0])
    assert ta.get("sar").compute({"high": high, "low": low})["real"][1] == 8.0
    # A tie (+DM == -DM == 1) starts long with the stop at bar 0's low 9; bar 1's low 8
    # reaches it, so bar 1 already reverses short at the extreme point, bar 1's high 11.
    # (Started short, the stop would have been bar 0's high 10 and bar 1 would read 8.)
    tie_high, tie_low = np.array([10.0, 11.0]), np.array([9.0, 8.0])
    assert ta.get("sar").compute({"high": tie_high, "low": tie_low})["real"][1] == 11.0
    # startvalue < 0 forces a short start at |startvalue|; SAREXT reports it negative.
    forced = ta.get("sarext").compute({"high": HIGH, "low": LOW}, startvalue=-20.0)["real"]
    assert forced[1] == -20.0


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("sar", {}),
        ("sar", {"acceleration": 0.3, "maximum": 0.2}),
        ("sarext", {"startvalue": -5.0, "offsetonreverse": 0.01, "accelerationshort": 0.1}),
    ],
)
def test_stream_equals_batch_and_talib(name: str, params: dict[str, float]) -> None:
    rng = np.random.default_rng(5)
    cents = 10_000 + np.cumsum(rng.integers(-3, 4, 3000))
    high = (cents + rng.integers(0, 3, 3000)) / 100.0
    low = (cents - rng.integers(0, 3, 3000)) / 100.0
    spec = ta.get(name)
    batch = spec.compute({"high": high, "low": low}, **params)["real"]
    stream = spec.streaming(**params)
    streamed = np.array([stream.update(h, lo) for h, lo in zip(high, low, strict=True)])
    np.testing.assert_array_equal(streamed, batch)
    talib = pytest.importorskip("talib")
    theirs = getattr(talib, name.upper())(high, low, **params)
    np.testing.assert_allclose(batch, theirs, rtol=1e-12, equal_nan=True)
    assert np.array_equal(np.sign(batch[1:]), np.sign(theirs[1:]))
