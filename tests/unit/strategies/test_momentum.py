"""Momentum strategies: schedule, sign, volatility-targeted size and top-k, by hand.

Hourly bars from `engine.testing.make_bars`; no fees, 10,000 cash, whole units; market
orders fill at the next bar's open.
"""

from __future__ import annotations

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.testing import assert_fills, make_bars, run_strategy
from strategies.momentum import CrossSectionalMomentum, TimeSeriesMomentum

# Bars close at 01:00, 02:00, ...; with rebalance_every = "4h" the decisions are on the
# first bar closing in each 4-hour period: bar 0 (01:00, ROCP not known yet), bar 3
# (04:00), bar 7 (08:00), bar 11 (12:00).
CLOSES = [100.0, 102.0, 102.0, 104.0, 104.0, 106.0, 106.0, 100.0, 100.0, 98.0, 98.0, 96.0, 96.0]
# target_vol 0.01 with one bar a year: the position's standard deviation per bar is 1% of
# equity; σ = the sample standard deviation (ddof 1) of the last 2 close-to-close changes
TSM = {
    "lookback": 2,
    "vol_period": 2,
    "target_vol": 0.01,
    "bars_per_year": 1.0,
    "rebalance_every": "4h",
}


def test_tsm_follows_the_sign_of_the_past_return_on_schedule() -> None:
    bars = make_bars(CLOSES, freq="1h")
    result = run_strategy(TimeSeriesMomentum, bars, params=TSM)
    # bar 3: ROCP(2) = 104 / 102 - 1 > 0; changes [0, 2]: σ = sqrt(2) → 100 / 1.414 = 70.7
    # → 70 units at bar 4's open (104). Bar 7: 100 / 106 - 1 < 0 → flat at bar 8's open.
    # (bars 1 and 2 also have a positive ROCP but are not rebalance bars)
    assert_fills(result, [(bars.index[4], "buy", 70, 104.0), (bars.index[8], "sell", 70, 100.0)])


def test_tsm_short_side_and_resizing_beyond_the_tolerance() -> None:
    bars = make_bars(CLOSES, freq="1h")
    result = run_strategy(TimeSeriesMomentum, bars, params={**TSM, "allow_short": True})
    # bar 7: equity 10,000 + 70 * (100 - 104) = 9,720; changes [0, -6]: σ = 4.243 → short
    # 97.2 / 4.243 = 22.9 → 22: sell 70 + 22 = 92 at bar 8's open. Bar 11: equity 9,720 +
    # 22 * (100 - 96) = 9,808; changes [-2, 0]: σ = 1.414 → -69.4 → -69, 47 more than
    # held, beyond 25% of 22: sell 47 at bar 12's open (96)
    expected = [
        (bars.index[4], "buy", 70, 104.0),
        (bars.index[8], "sell", 92, 100.0),
        (bars.index[12], "sell", 47, 96.0),
    ]
    assert_fills(result, expected)


def test_tsm_leaves_a_position_within_the_tolerance() -> None:
    # changes alternate +2, 0: σ = sqrt(2) at every rebalance and ROCP(2) > 0
    closes = [100.0 + 2 * (i // 2) for i in range(1, 13)]  # 100, 102, 102, 104, 104, ...
    bars = make_bars(closes, freq="1h")
    # bar 3 (104): 70 units at bar 4's open. Bar 7 (108): equity 10,000 + 70 * 4 = 10,280
    # → target 72.7 → 72, 2 more than held: within 25% of 70, left alone
    result = run_strategy(TimeSeriesMomentum, bars, params=TSM)
    assert_fills(result, [(bars.index[4], "buy", 70, 104.0)])
    # with no tolerance the 2 are bought at bar 8's open (108); bar 11's resize would fill
    # after the data
    result = run_strategy(TimeSeriesMomentum, bars, params={**TSM, "tolerance": 0.0})
    assert_fills(result, [(bars.index[4], "buy", 70, 104.0), (bars.index[8], "buy", 2, 108.0)])


def test_tsm_tolerance_is_relative_to_the_target_not_the_position() -> None:
    """Found by an audit: the code measured the gap against the position, so a position
    above its target could run 33 % over (1 / 0.75) where the docstring says 25 %."""
    closes = [100.0, 102.0, 102.0, 104.0, 104.0, 104.0, 104.0, 106.4, 106.4, 106.4]
    bars = make_bars(closes, freq="1h")
    # bar 3: 70 bought at bar 4's open (104). Bar 7: equity 10,000 + 70 * 2.4 = 10,168;
    # changes [0, 2.4]: σ = 1.697 → target 59.9 → 59, 11 fewer than held: 11 > 0.17 * 59
    # (10.03), beyond the tolerance of the target (within 0.17 * 70 = 11.9 of the position)
    result = run_strategy(TimeSeriesMomentum, bars, params={**TSM, "tolerance": 0.17})
    assert_fills(result, [(bars.index[4], "buy", 70, 104.0), (bars.index[8], "sell", 11, 106.4)])


def test_xsm_refuses_a_top_k_above_the_number_of_symbols() -> None:
    """Found by an audit: top_k = 5 of 3 symbols held each at gross / 5, 40 % idle in cash."""
    data = {s: _bars([100.0] * 5) for s in ("A", "B", "C")}
    with pytest.raises(ConfigError, match="top_k = 5 but the run has 3 symbols"):
        run_strategy(CrossSectionalMomentum, data, params={"top_k": 5})


def _bars(closes: list[float]) -> pd.DataFrame:
    """Hourly bars that open at the previous close (so a fill price is the sizing price)."""
    return make_bars(closes, open=[closes[0], *closes[:-1]], freq="1h")


def test_xsm_holds_the_top_k_and_sells_before_it_buys() -> None:
    data = {
        "A": _bars([10.0, 11.0, 12.0, 13.0, 13.0, 13.0, 13.0, 13.0]),
        "B": _bars([10.0, 10.0, 10.0, 10.0, 12.0, 14.0, 16.0, 18.0]),
        "C": _bars([10.0] * 8),
    }
    params = {"lookback": 1, "rebalance_every": "2h"}
    result = run_strategy(CrossSectionalMomentum, data, params=params)
    index = data["A"].index
    # rebalances on bars closing at 02:00 (bar 1), 04:00 (bar 3), 06:00 (bar 5).
    # Bar 1: ROCP(1) A 0.1, B 0, C 0 → A; nothing to sell, so buy at once: 10,000 / 11 =
    # 909 at bar 2's open 11. Bar 3: A 0.083 still first, its target 11,818 / 13 = 909 is
    # held. Bar 5: B 14 / 12 - 1 = 0.167 > A 0 → sell A at bar 6's open 13; bar 6 sends the
    # buy: 11,818 / 16 = 738 B at bar 7's open 16.
    expected = [
        (index[2], "buy", 909, 11.0),
        (index[6], "sell", 909, 13.0),
        (index[7], "buy", 738, 16.0),
    ]
    assert_fills(result, expected)


def test_xsm_absolute_filter_stays_in_cash_when_everything_falls() -> None:
    data = {
        "A": _bars([10.0, 9.0, 8.0, 7.0]),
        "B": _bars([10.0, 9.5, 9.0, 8.5]),
    }
    params = {"lookback": 1, "rebalance_every": "2h"}
    # without the filter the least bad (B: -5.3% against A's -10%) is bought at bar 1
    result = run_strategy(CrossSectionalMomentum, data, params=params)
    assert [f.symbol for f in result.recorder.fills] == ["B"]
    result = run_strategy(CrossSectionalMomentum, data, params={**params, "absolute": True})
    assert_fills(result, [])


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        (TimeSeriesMomentum, {"rebalance_every": "1M"}, "rebalance_every"),
        (TimeSeriesMomentum, {"vol_period": 1}, "vol_period"),
        (TimeSeriesMomentum, {"tolerance": 1.0}, "tolerance"),
        (CrossSectionalMomentum, {"top_k": 0}, "top_k"),
        (CrossSectionalMomentum, {"gross": 1.5}, "gross"),
        (CrossSectionalMomentum, {"rebalance_every": "weekly"}, "rebalance_every"),
    ],
)
def test_bad_params_are_one_line_config_errors(
    strategy: type[TimeSeriesMomentum | CrossSectionalMomentum],
    params: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(ConfigError, match=message):
        run_strategy(strategy, make_bars(CLOSES), params=params)
