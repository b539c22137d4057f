"""Mean-reversion strategies decide as their docstrings say, on bars computed by hand.

Bars from `engine.testing.make_bars` open at their close unless an open is given, so
high = low = close and every indicator below can be worked out on paper. Fills happen at
the next bar's open (the default fill model); no fees, 10,000 cash, whole units.
"""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.testing import assert_fills, make_bars, run_strategy
from strategies.bollinger_reversion import BollingerReversion
from strategies.rsi2_reversion import Rsi2Reversion
from strategies.zscore_reversion import ZScoreReversion

# Bar 4 closes at 94: the 3-bar window [100, 100, 94] has mean 98 and population standard
# deviation sqrt((4 + 4 + 16) / 3) = sqrt(8) = 2.828, so the 1-sigma lower band is 95.17 and
# the z-score is -4 / 2.828 = -1.414. Bar 5 (95): mean 96.33, still below it. Bar 6 (99):
# mean of [94, 95, 99] is 96, the close is above the mean: revert.
DIP = [100.0, 100.0, 100.0, 100.0, 94.0, 95.0, 99.0, 100.0]
DIP_OPENS = [100.0, 100.0, 100.0, 100.0, 94.0, 94.0, 99.0, 100.0]


def test_bollinger_buys_below_the_lower_band_and_sells_at_the_middle() -> None:
    bars = make_bars(DIP, open=DIP_OPENS)
    result = run_strategy(BollingerReversion, bars, params={"period": 3, "nbdev": 1.0})
    # decided at bar 4's close (94 < 95.17): floor(10,000 / 94) = 106 units at bar 5's open
    # 94; bar 6's close 99 >= middle 96: sold at bar 7's open, 100
    assert_fills(result, [(bars.index[5], "buy", 106, 94.0), (bars.index[7], "sell", 106, 100.0)])


def test_bollinger_short_mirror_and_time_stop() -> None:
    spike = [200.0 - c for c in DIP]  # 100, ..., 106, 105, 101, 100: above the upper band
    bars = make_bars(spike, open=[200.0 - o for o in DIP_OPENS])
    params = {"period": 3, "nbdev": 1.0, "allow_short": True}
    result = run_strategy(BollingerReversion, bars, params=params)
    # short floor(10,000 / 106) = 94 units at bar 5's open 106, covered at bar 7's open 100
    assert_fills(result, [(bars.index[5], "sell", 94, 106.0), (bars.index[7], "buy", 94, 100.0)])
    # time stop after 1 bar held: bar 5 is the first bar with the position → covered at bar
    # 6's open 101 (+470). Flat at bar 6's close, 101 is below that bar's lower band (window
    # [106, 105, 101]: mean 104, sd sqrt(14 / 3) = 2.16, lower 101.84): long
    # floor(10,470 / 101) = 103 units at bar 7's open, 100
    result = run_strategy(BollingerReversion, bars, params={**params, "max_bars": 1})
    expected = [
        (bars.index[5], "sell", 94, 106.0),
        (bars.index[6], "buy", 94, 101.0),
        (bars.index[7], "buy", 103, 100.0),
    ]
    assert_fills(result, expected)


def test_bollinger_does_not_enter_on_a_touch() -> None:
    # a flat window has zero width: close == lower == upper is not outside the band
    result = run_strategy(BollingerReversion, make_bars([100.0] * 8), params={"period": 3})
    assert_fills(result, [])


# RSI(2), Wilder: the first value (bar 2) averages the first two changes (+10, +10): gain
# 10, loss 0. Each later bar: avg = (avg + change) / 2. Bars 6-8 are flat, so the average
# gain halves to 10 / 8 = 1.25 by bar 8; bar 9 falls 3: gain 0.625, loss 1.5, RSI =
# 100 * 0.625 / 2.125 = 29.4. SMA(8) at bar 9 = (70+80+90+100+100+100+100+97) / 8 =
# 92.125 < 97: uptrend. Bar 10 (+2): gain 1.3125, loss 0.75 → RSI 63.6; bar 11 (+2): gain
# 1.656, loss 0.375 → RSI 81.5 > 70: exit.
RISE = [50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 100.0, 100.0, 100.0, 97.0, 99.0, 101.0, 101.0]


def test_rsi2_buys_a_dip_in_an_uptrend_and_sells_the_bounce() -> None:
    opens = list(RISE)
    opens[10] = 97.0
    bars = make_bars(RISE, open=opens)
    result = run_strategy(Rsi2Reversion, bars, params={"trend_period": 8, "entry": 30.0})
    # floor(10,000 / 97) = 103 at bar 10's open 97; sold at bar 12's open 101
    assert_fills(result, [(bars.index[10], "buy", 103, 97.0), (bars.index[12], "sell", 103, 101.0)])
    # the default entry (10) is not reached by an RSI of 29.4
    assert_fills(run_strategy(Rsi2Reversion, bars, params={"trend_period": 8}), [])


def test_rsi2_trend_filter_blocks_dips_below_the_average() -> None:
    # the same dip with a trend average above the close: SMA(5) at bar 9 is 99.4 > 97
    bars = make_bars(RISE)
    result = run_strategy(Rsi2Reversion, bars, params={"trend_period": 5, "entry": 30.0})
    assert_fills(result, [])


def test_rsi2_shorts_a_spike_in_a_downtrend() -> None:
    fall = [200.0 - c for c in RISE]  # RSI 70.6 > 100 - 30 at bar 9 (103), SMA(8) 107.9 above
    opens = list(fall)
    opens[10] = 103.0
    bars = make_bars(fall, open=opens)
    params = {"trend_period": 8, "entry": 30.0, "allow_short": True}
    result = run_strategy(Rsi2Reversion, bars, params=params)
    # floor(10,000 / 103) = 97 short at 103; RSI 18.5 < 100 - 70 at bar 11: covered at 99
    assert_fills(result, [(bars.index[10], "sell", 97, 103.0), (bars.index[12], "buy", 97, 99.0)])


def test_zscore_fades_an_extreme_and_exits_at_the_mean() -> None:
    bars = make_bars(DIP, open=DIP_OPENS)
    params = {"lookback": 3, "entry_z": 1.2, "adx_period": 2, "adx_max": 100.0}
    result = run_strategy(ZScoreReversion, bars, params=params)
    # z = -1.414 at bar 4 (beyond -1.2, within the stop -4): 106 units at 94; bar 6's z is
    # (99 - 96) / sd > 0 >= -exit_z: sold at bar 7's open
    assert_fills(result, [(bars.index[5], "buy", 106, 94.0), (bars.index[7], "sell", 106, 100.0)])
    # a stop inside the entry band is refused
    with pytest.raises(ConfigError, match="stop_z"):
        run_strategy(ZScoreReversion, bars, params={**params, "stop_z": 1.0})


def test_zscore_stop_keeps_out_of_extremes_beyond_it() -> None:
    bars = make_bars(DIP, open=DIP_OPENS)
    params = {"lookback": 3, "entry_z": 1.2, "stop_z": 1.4, "adx_period": 2, "adx_max": 100.0}
    # z = -1.414 is beyond the stop: no entry
    assert_fills(run_strategy(ZScoreReversion, bars, params=params), [])


# A steady rise of one a bar (bars 0-39, high = low = close) has +DI = 100 and -DI = 0 on
# every bar, so DX = ADX = 100. Bar 40 falls to 120: z over the last 10 closes is
# (120 - 133.5) / 5.12 = -2.63; ADX(14) = (13 * 100 + DX) / 14 >= 92.9, a trend.
TREND_THEN_DROP = [float(c) for c in range(100, 140)] + [120.0, 120.0, 135.0, 136.0]


def test_zscore_regime_filter_blocks_fading_a_trend() -> None:
    bars = make_bars(TREND_THEN_DROP)
    assert_fills(run_strategy(ZScoreReversion, bars, params={"lookback": 10}), [])
    # without the filter (adx_max = 100) the same bar is faded: floor(10,000 / 120) = 83 at
    # bar 41's open; bar 42's z = (135 - 132.7) / sd > 0: sold at bar 43's open, 136
    result = run_strategy(ZScoreReversion, bars, params={"lookback": 10, "adx_max": 100.0})
    assert_fills(result, [(bars.index[41], "buy", 83, 120.0), (bars.index[43], "sell", 83, 136.0)])


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        (BollingerReversion, {"period": 1}, "period must be >= 2"),
        (BollingerReversion, {"nbdev": 0.0}, "nbdev"),
        (BollingerReversion, {"target_percent": 1.5}, "target_percent"),
        (Rsi2Reversion, {"entry": 80.0, "exit": 70.0}, "entry < exit"),
        (Rsi2Reversion, {"trend_period": 1}, "trend_period"),
        (ZScoreReversion, {"exit_z": 3.0}, "exit_z < entry_z"),
        (ZScoreReversion, {"adx_max": 0.0}, "adx_max"),
        (ZScoreReversion, {"lookbak": 10}, "lookback"),
    ],
)
def test_bad_params_are_one_line_config_errors(
    strategy: type[BollingerReversion | Rsi2Reversion | ZScoreReversion],
    params: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(ConfigError, match=message):
        run_strategy(strategy, make_bars(DIP), params=params)
