"""A tiered fee's rolling window is measured at the fill's own time, not the bar's close.

An audit found a fill at a bar's open priced with the volume the window held at that bar's
close: a buy of 1,000 one day before a sell fell out of a 1.5-day window for the sell
under ``market_fill = "next_open"`` (the clock at the close, 1.5 days after the buy) but
not under ``"same_close"``, so the same two trades paid 10.0 or 1.0. The window ends at
the time of the fill being priced; sizing at a close still uses the close.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY
TIERS = [
    {"up_to_volume": 900.0, "maker": 0.01, "taker": 0.01},
    {"maker": 0.001, "taker": 0.001},
]


class BuyThenSell(Strategy):
    def __init__(self) -> None:
        super().__init__()
        self.bars = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if self.bars == 0:
            ctx.buy("X", 10)
        elif self.bars == 1:
            ctx.sell("X", 10)
        self.bars += 1


@pytest.mark.parametrize("market_fill", ["next_open", "same_close"])
def test_a_fill_one_day_after_another_counts_it_in_a_one_and_a_half_day_window(
    market_fill: str,
) -> None:
    # Flat bars at 100: the buy of 10 (1,000 of notional, 1 % = 10.0) and, one day after
    # it, the sell of 10, whose window (1.5 days back from the sell) holds the buy's
    # 1,000 >= 900: the second tier, 0.1 % = 1.0.
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "s"},
            "execution": {
                "fees": {"model": "tiered", "window_days": 1.5, "tiers": TIERS},
                "slippage_bps": 0.0,
                "market_fill": market_fill,
            },
        }
    )
    flat = np.full(5, 100.0)
    frame = BarFrame("X", DAY, T0 + np.arange(5) * DAY, flat, flat, flat, flat, flat)
    result = run_backtest(config, frames=[frame], strategy=BuyThenSell())
    fills = result.fills
    assert list(fills["side"]) == ["buy", "sell"]
    assert int(fills["ts_event"].iloc[1].value - fills["ts_event"].iloc[0].value) == DAY
    assert list(fills["fee"]) == pytest.approx([10.0, 1.0])
