"""The shipped crossover's tie convention: a cross needs strictly below, then strictly above.

SMA(1) is the close and SMA(2) the mean of the last two closes, so a flat pair of closes
makes the two SMAs equal exactly (no rounding) and every cross can be placed by hand.
"""

from __future__ import annotations

import numpy as np

from engine import parse_config, run_backtest
from engine.feeds import BarFrame
from strategies.sma_cross import SmaCross, SmaCrossParams

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY


def _fills(closes: list[float], allow_short: bool = False) -> list[tuple[int, str, float]]:
    """Return (bar index, side, quantity) of every fill of SmaCross(1, 2) on ``closes``."""
    n = len(closes)
    close = np.array(closes)
    ts = T0 + np.arange(n) * DAY
    frame = BarFrame("X", DAY, ts, close, close + 1, close - 1, close, np.full(n, 1e6))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "strategies.sma_cross:SmaCross"},
            "execution": {"fee_rate": 0.0},
        }
    )
    strategy = SmaCross(SmaCrossParams(fast=1, slow=2, allow_short=allow_short))
    result = run_backtest(config, frames=[frame], strategy=strategy)
    return [(int((f.ts_event - T0) // DAY), str(f.side), f.quantity) for f in result.recorder.fills]


def test_a_tie_on_the_previous_bar_is_not_below() -> None:
    # bar 2: fast 100 = slow 100 (tie); bar 3: fast 110 > slow 105. Was equal, not below:
    # no cross, as backtesting.py's crossover (a[-2] < b[-2] and a[-1] > b[-1]).
    assert _fills([100.0, 100.0, 100.0, 110.0, 110.0, 110.0]) == []


def test_a_strict_cross_still_trades() -> None:
    # bar 2: fast 90 < slow 95 (below); bar 3: fast 110 > slow 100: a cross, bought at
    # bar 4's open (110): floor(10,000 / 110) = 90 shares.
    assert _fills([100.0, 100.0, 90.0, 110.0, 110.0, 110.0]) == [(4, "buy", 90.0)]


def test_a_tie_on_the_previous_bar_is_not_above_either() -> None:
    # long from the cross at bar 3 (filled at bar 4's open, 110); bar 5: fast 110 = slow
    # 110 (tie); bar 6: fast 100 < slow 105. Was equal, not above: the position is kept.
    closes = [100.0, 100.0, 90.0, 110.0, 110.0, 110.0, 100.0, 100.0]
    assert _fills(closes) == [(4, "buy", 90.0)]
    # the same without the tie (bar 5 above) sells at bar 7's open
    closes = [100.0, 100.0, 90.0, 110.0, 110.0, 120.0, 100.0, 100.0]
    assert _fills(closes) == [(4, "buy", 90.0), (7, "sell", 90.0)]
