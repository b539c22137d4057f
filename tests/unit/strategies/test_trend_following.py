"""Breakout trend following: entries, ATR stops and their size, worked out by hand.

Bars from `engine.testing.make_bars` have high = low = close unless given, so the true range
is the absolute close-to-close change and TA-Lib's ATR(2) is: the mean of the first two true
ranges at bar 2, then ``(ATR + TR) / 2``. No fees, 10,000 cash, whole units; market orders
fill at the next bar's open, a stop inside the bar it trades through.
"""

from __future__ import annotations

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.model import Bar, OrderType
from engine.strategy import Context
from engine.testing import assert_fills, make_bars, run_strategy
from strategies.trend_following import DonchianBreakout, MaTrend

# True ranges 1, 1, 1, 1, 4, 2, 2: ATR(2) = 1, 1, 1 at bars 2-4, 2.5 at bar 5, then 2.25
# and 2.125. Bar 5 closes at 104 above the 3-bar high before it (101): breakout.
CLOSES = [100.0, 101.0, 100.0, 101.0, 100.0, 104.0, 106.0, 108.0, 103.0, 103.0]
PARAMS = {"entry_period": 3, "exit_period": 2, "atr_period": 2, "stop_atr": 2.0}
RISK = 0.02


def _trail_bars() -> pd.DataFrame:
    opens = list(CLOSES)
    opens[8] = 104.0  # bar 8 opens above the trailed stop and trades down through it
    lows = list(CLOSES)
    lows[8] = 102.0
    highs = [max(o, c) for o, c in zip(opens, CLOSES, strict=True)]
    return make_bars(CLOSES, open=opens, high=highs, low=lows)


def test_donchian_enters_with_a_risk_sized_stop_and_trails_it() -> None:
    bars = _trail_bars()
    params = {**PARAMS, "risk_fraction": RISK}
    result = run_strategy(DonchianBreakout, bars, params=params)
    # bar 5: stop distance 2 * 2.5 = 5, stop 99; risk 2% of 10,000 = 200 → 200 / 5 = 40
    # units, bought at bar 6's open (106). Trailed stop: bar 6: 106 - 2 * 2.25 = 101.5;
    # bar 7: 108 - 2 * 2.125 = 103.75. Bar 8 opens at 104 and trades down to 102: the stop
    # fills at 103.75, stamped with bar 8's close time (bar 9's open time).
    index = bars.index
    assert_fills(result, [(index[6], "buy", 40, 106.0), (index[9], "sell", 40, 103.75)])
    stops = [o for o in result.recorder.orders.values() if o["tag"] == "atr_stop"]
    assert [(o["stop_price"], o["status"]) for o in stops] == [(103.75, "filled")]


def test_donchian_channel_exit_without_trailing() -> None:
    bars = make_bars([100.0, 101.0, 100.0, 101.0, 100.0, 104.0, 106.0, 105.0, 103.0, 103.0])
    params = {**PARAMS, "risk_fraction": RISK, "trail": False}
    result = run_strategy(DonchianBreakout, bars, params=params)
    # the stop stays at 99; bar 8's close 103 is below the 2-bar low before it (105): the
    # position is closed at bar 9's open and the stop canceled
    assert_fills(result, [(bars.index[6], "buy", 40, 106.0), (bars.index[9], "sell", 40, 103.0)])
    stops = [o for o in result.recorder.orders.values() if o["tag"] == "atr_stop"]
    assert [(o["stop_price"], o["status"]) for o in stops] == [(99.0, "canceled")]


def test_size_is_capped_at_max_fraction() -> None:
    bars = make_bars([100.0, 101.0, 100.0, 101.0, 100.0, 104.0, 106.0, 105.0, 103.0, 103.0])
    params = {**PARAMS, "risk_fraction": 0.2, "max_fraction": 0.5, "trail": False}
    result = run_strategy(DonchianBreakout, bars, params=params)
    # risk sizing asks 2,000 / 5 = 400 units (41,600 of value); the cap is half of equity:
    # 5,000 / 104 = 48.08 → 48 units
    assert_fills(result, [(bars.index[6], "buy", 48, 106.0), (bars.index[9], "sell", 48, 103.0)])


def test_ma_trend_enters_on_the_cross_with_a_stop_that_can_gap() -> None:
    # SMA(1)/SMA(2) cross up at bar 3 (90 < 95, then 110 > 100). True ranges 0, 10, 20:
    # ATR(2) = 5 at bar 2, (5 + 20) / 2 = 12.5 at bar 3 → stop 110 - 2 * 12.5 = 85 and
    # 200 / 25 = 8 units, bought at bar 4's open 110. Bar 4 (TR 0): ATR 6.25, stop trailed
    # to 97.5; bar 5 (120, TR 10): ATR 8.125, stop 103.75. Bar 6 opens at 100, below the
    # stop: it fills at that open (100), not at 103.75 — a gap loses more than planned.
    bars = make_bars([100.0, 100.0, 90.0, 110.0, 110.0, 120.0, 100.0, 100.0])
    params = {"fast": 1, "slow": 2, "atr_period": 2, "stop_atr": 2.0, "risk_fraction": RISK}
    result = run_strategy(MaTrend, bars, params=params)
    assert_fills(result, [(bars.index[4], "buy", 8, 110.0), (bars.index[6], "sell", 8, 100.0)])
    stops = [o for o in result.recorder.orders.values() if o["tag"] == "atr_stop"]
    assert [(o["stop_price"], o["status"]) for o in stops] == [(103.75, "filled")]
    # without trailing the stop stays at 85; bar 6 crosses down (100 < 110 after 120 > 115):
    # closed at bar 7's open and the stop canceled
    result = run_strategy(MaTrend, bars, params={**params, "trail": False})
    assert_fills(result, [(bars.index[4], "buy", 8, 110.0), (bars.index[7], "sell", 8, 100.0)])
    stops = [o for o in result.recorder.orders.values() if o["tag"] == "atr_stop"]
    assert [(o["stop_price"], o["status"]) for o in stops] == [(85.0, "canceled")]


class _StopWatch(DonchianBreakout):
    """Records, at every bar, the position and the working stop orders of the symbol."""

    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self.seen: list[tuple[float, float]] = []

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        stops = [
            o.quantity
            for o in ctx.open_orders(bar.symbol)
            if o.order_type is OrderType.STOP and str(o.side) == "sell"
        ]
        self.seen.append((ctx.position(bar.symbol), sum(stops)))
        super().on_bar(ctx, bar)


def test_breakout_never_holds_a_position_without_its_stop() -> None:
    # a saw-tooth that breaks out, trends, collapses, breaks out again
    closes = [100.0, 101.0, 100.0, 101.0, 100.0, 104.0, 106.0, 108.0, 109.0, 95.0]
    closes += [96.0, 97.0, 99.0, 101.0, 103.0, 110.0, 112.0, 111.0, 100.0, 100.0]
    params = DonchianBreakout.Params(
        entry_period=3, exit_period=2, atr_period=2, stop_atr=2.0, risk_fraction=RISK
    )
    strategy = _StopWatch(params)
    run_strategy(strategy, make_bars(closes))
    held = [(position, stop) for position, stop in strategy.seen if position > 0]
    assert len(held) >= 4, "the data must hold positions for the test to mean anything"
    assert all(stop == position for position, stop in held)


@pytest.mark.parametrize(
    ("strategy", "params", "message"),
    [
        (DonchianBreakout, {"entry_period": 0}, "entry_period"),
        (DonchianBreakout, {"stop_atr": 0.0}, "stop_atr"),
        (DonchianBreakout, {"risk_fraction": 0.5}, "risk_fraction"),
        (MaTrend, {"fast": 50, "slow": 20}, "slow"),
        (MaTrend, {"max_fraction": 2.0}, "max_fraction"),
    ],
)
def test_bad_params_are_one_line_config_errors(
    strategy: type[DonchianBreakout | MaTrend], params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        run_strategy(strategy, make_bars(CLOSES), params=params)
