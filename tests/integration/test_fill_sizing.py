"""``execution.target_sizing = "fill"``: order_target_percent sized at the fill, by hand.

Daily bars of symbol X (lot 1, tick 0.01), cash 10,000. A scripted strategy calls
``order_target_percent`` on given bars; the market order fills at the next bar's open.
At the fill, target = floor(fraction × equity / (price × (1 + fee))) with equity = cash +
position × fill price, and the order fills target − position (see
`engine.execution.fill_sizing`). Every expected number is worked out in the comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY


class Targets(Strategy):
    def __init__(self, targets: dict[int, float]) -> None:
        super().__init__()
        self.targets = targets
        self.index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.index += 1
        if self.index in self.targets:
            ctx.order_target_percent("X", self.targets[self.index])


def run(
    bars: list[tuple[float, float]], targets: dict[int, float], **execution: Any
) -> tuple[Any, Any]:
    """Run (open, close) bars; return (recorder, portfolio)."""
    opens, closes = (np.array(column) for column in zip(*bars, strict=True))
    n = len(bars)
    high, low = np.maximum(opens, closes) + 1, np.minimum(opens, closes) - 1
    frame = BarFrame("X", DAY, T0 + np.arange(n) * DAY, opens, high, low, closes, np.full(n, 1e9))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0, "tick_size": 0.01}],
            "strategy": {"path": "targets"},
            "execution": {"fee_rate": 0.0, "target_sizing": "fill", **execution},
        }
    )
    result = run_backtest(config, frames=[frame], strategy=Targets(targets))
    return result.recorder, result.portfolio


def fills(recorder: Any) -> list[tuple[str, float, float]]:
    return [(str(f.side), f.quantity, f.price) for f in recorder.fills]


def test_gap_down_buys_more_than_the_close_would() -> None:
    # signal at close 100; open 80. At the fill: floor(10,000 / (80 × 1.001)) =
    # floor(124.875...) = 124, cost 124 × 80 × 1.001 = 9,929.92; cash 70.08.
    # (Sized at the close it would be floor(10,000 / 100.1) = 99.)
    recorder, portfolio = run([(100, 100), (80, 80)], {0: 1.0}, fee_rate=0.001)
    assert fills(recorder) == [("buy", 124.0, 80.0)]
    assert portfolio.cash == pytest.approx(70.08, abs=1e-9)
    order = next(iter(recorder.orders.values()))
    assert order["quantity"] == 124.0
    assert order["status"] == "filled"


def test_gap_up_is_sized_down_and_fills_whole() -> None:
    # open 125: floor(10,000 / (125 × 1.001)) = floor(79.92) = 79; the order becomes 79
    # and fills completely (sized at the close, 99 would be trimmed by the cash cap and
    # its remainder canceled).
    recorder, portfolio = run([(100, 100), (125, 125)], {0: 1.0}, fee_rate=0.001)
    assert fills(recorder) == [("buy", 79.0, 125.0)]
    assert portfolio.cash == pytest.approx(10_000 - 79 * 125 * 1.001, abs=1e-9)  # 115.1375
    order = next(iter(recorder.orders.values()))
    assert (order["quantity"], order["status"], order["reason"]) == (79.0, "filled", "")


def test_slippage_is_in_the_fill_price_the_size_divides_by() -> None:
    # 100 bps on open 80: buy price 80.8; floor(10,000 / 80.8) = floor(123.76) = 123.
    recorder, portfolio = run([(100, 100), (80, 80)], {0: 1.0}, slippage_bps=100.0)
    assert fills(recorder) == [("buy", 123.0, pytest.approx(80.8))]
    assert portfolio.cash == pytest.approx(10_000 - 123 * 80.8, abs=1e-9)  # 61.6


def test_adding_to_a_position_counts_it_at_the_fill_price() -> None:
    # bar 0: 50% at close 100 -> at open 100: floor(0.5 × 10,000 / 100) = 50; cash 5,000.
    # bar 1: 100% (provisional 50 more). Open 200: equity 5,000 + 50 × 200 = 15,000,
    # target floor(15,000 / 200) = 75: buys 25 for 5,000; cash 0.
    recorder, portfolio = run([(100, 100), (100, 100), (200, 200)], {0: 0.5, 1: 1.0})
    assert fills(recorder) == [("buy", 50.0, 100.0), ("buy", 25.0, 200.0)]
    assert portfolio.position_quantity("X") == 75.0
    assert portfolio.cash == pytest.approx(0.0, abs=1e-9)


def test_target_already_reached_at_the_fill_cancels_the_order() -> None:
    # as above to 50 shares; bar 1 asks 60% (provisional 10 more at close 100). Open 300:
    # equity 5,000 + 50 × 300 = 20,000, target floor(0.6 × 20,000 / 300) = 40 < 50 held:
    # a buy order does not sell, it is canceled; the position stays 50.
    recorder, portfolio = run([(100, 100), (100, 100), (300, 300)], {0: 0.5, 1: 0.6})
    assert fills(recorder) == [("buy", 50.0, 100.0)]
    assert portfolio.position_quantity("X") == 50.0
    last = list(recorder.orders.values())[-1]
    assert last["status"] == "canceled"
    assert last["reason"].startswith("target reached at fill")


def test_short_target_is_sized_at_the_fill_too() -> None:
    # -100% at close 100; open 80: -floor(10,000 / 80) = -125, sold at 80: cash 20,000.
    recorder, portfolio = run([(100, 100), (80, 80)], {0: -1.0})
    assert fills(recorder) == [("sell", 125.0, 80.0)]
    assert portfolio.position_quantity("X") == -125.0
    assert portfolio.cash == pytest.approx(20_000.0, abs=1e-9)


def test_same_close_fills_at_the_close_it_was_sized_at() -> None:
    # market_fill = same_close: the fill price is the close 100: floor(10,000 / 100.1) = 99.
    recorder, _ = run([(100, 100), (80, 80)], {0: 1.0}, fee_rate=0.001, market_fill="same_close")
    assert fills(recorder) == [("buy", 99.0, 100.0)]


def test_close_sizing_is_unchanged() -> None:
    # the default: floor(10,000 / 100.1) = 99 at the close, filled at open 80 (affordable)
    recorder, _ = run([(100, 100), (80, 80)], {0: 1.0}, fee_rate=0.001, target_sizing="close")
    assert fills(recorder) == [("buy", 99.0, 80.0)]


class XThenY(Strategy):
    """Buys 10 Y on bar 0, asks for 50% of equity in X on bar 1 (acting on X's bars)."""

    def __init__(self) -> None:
        super().__init__()
        self.index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if bar.symbol != "X":
            return
        self.index += 1
        if self.index == 0:
            ctx.buy("Y", 10)
        elif self.index == 1:
            ctx.order_target_percent("X", 0.5)


def test_other_positions_count_at_their_last_close() -> None:
    # Y's bars come first at each time. Y: 10 bought at bar 1's open 200 (cash 8,000). X's
    # order is requested at bar 1's close (equity 8,000 + 10 × 250: provisional 52) and
    # fills at bar 2's open 100, after Y's bar 2 closed at 300: equity 8,000 + 3,000 =
    # 11,000, target floor(0.5 × 11,000 / 100) = 55.
    n = 3
    ts = T0 + np.arange(n) * DAY
    x = BarFrame("X", DAY, ts, *(np.full(n, v) for v in (100.0, 101.0, 99.0, 100.0)), np.ones(n))
    y_open, y_close = np.array([200.0, 200.0, 250.0]), np.array([200.0, 250.0, 300.0])
    y = BarFrame("Y", DAY, ts, y_open, y_close + 1, y_open - 1, y_close, np.ones(n))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"path": "<memory>", "symbol": "Y"}, {"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}, {"symbol": "Y", "lot_size": 1.0}],
            "strategy": {"path": "x_then_y"},
            "execution": {"fee_rate": 0.0, "target_sizing": "fill"},
        }
    )
    result = run_backtest(config, frames=[y, x], strategy=XThenY())
    assert [(f.symbol, f.quantity, f.price) for f in result.recorder.fills] == [
        ("Y", 10.0, 200.0),
        ("X", 55.0, 100.0),
    ]


def test_foreign_quote_is_sized_at_the_rate_of_the_fill(tmp_path: Path) -> None:
    # USD account, X quoted in EUR; rate bars close at T0 + j days with 1.1, 1.2, 1.3.
    # Requested at bar 0's close (rate 1.1: provisional floor(10,000 / 110) = 90); filled at
    # bar 1's open 100 at the rate as of then, 1.2: floor(10,000 / 120) = 83, cost
    # 83 × 100 × 1.2 = 9,960 USD.
    lines = ["timestamp,open,high,low,close"]
    for j, rate in enumerate([1.1, 1.2, 1.3]):
        lines.append(f"{(T0 - DAY + j * DAY) // 10**6},{rate},{rate},{rate},{rate}")
    (tmp_path / "eur.csv").write_text("\n".join(lines) + "\n")
    n = 2
    ts = T0 + np.arange(n) * DAY
    x = BarFrame("X", DAY, ts, *(np.full(n, v) for v in (100.0, 101.0, 99.0, 100.0)), np.ones(n))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, "currency": "USD"},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0, "quote_currency": "EUR"}],
            "fx": [{"currency": "EUR", "path": str(tmp_path / "eur.csv")}],
            "strategy": {"path": "targets"},
            "execution": {"fee_rate": 0.0, "target_sizing": "fill"},
        }
    )
    result = run_backtest(config, frames=[x], strategy=Targets({0: 1.0}))
    assert fills(result.recorder) == [("buy", 83.0, 100.0)]
    assert result.portfolio.cash == pytest.approx(40.0)


def test_per_unit_fee_beyond_the_reserve_shrinks_the_target() -> None:
    # 5.00 per share, reserve 0.1%: floor(10,000 / 100.1) = 99 would cost 9,900 + 495 =
    # 10,395 > 10,000. Shrunk: floor((10,000 − 495) / 100) = 95: 9,500 + 475 = 9,975.
    recorder, portfolio = run(
        [(100, 100), (100, 100)], {0: 1.0}, fees={"model": "per_unit", "per_unit": 5.0}
    )
    assert fills(recorder) == [("buy", 95.0, 100.0)]
    assert portfolio.cash == pytest.approx(25.0, abs=1e-9)


@pytest.mark.parametrize(
    ("bars", "slippage_bps", "filled"),
    [
        # open = high = 100, 50 bps: the fill is capped at the high, 100, and all-in is 100
        # shares. Was: sized at the uncapped 100.50 -> floor(10,000 / 100.5) = 99.
        ([(100.0, 101.0, 99.0, 100.0), (100.0, 100.0, 99.0, 100.0)], 50.0, (100.0, 100.0)),
        # open 0.99, 100 bps: 0.9999 goes up to the tick, 1.00, and all-in is 10,000. Was:
        # sized at 0.9999 -> 10,001, which the cash cap then cut (remainder canceled).
        ([(1.0, 1.01, 0.98, 1.0), (0.99, 1.02, 0.98, 1.0)], 100.0, (1.0, 10_000.0)),
    ],
    ids=["capped_at_the_high", "on_the_tick_grid"],
)
def test_the_size_divides_by_the_price_the_fill_gets(
    bars: list[tuple[float, float, float, float]],
    slippage_bps: float,
    filled: tuple[float, float],
) -> None:
    from tests.integration import scripted_run

    def all_in(ctx: Context) -> None:
        ctx.order_target_percent("X", 1.0)

    execution = {"target_sizing": "fill", "slippage_bps": slippage_bps}
    result = scripted_run.run(bars, {0: [all_in]}, execution=execution)
    assert scripted_run.fills(result) == [("buy", *filled)]
    assert scripted_run.rows(result) == [("buy", "market", "filled", filled[1])]
    assert scripted_run.cash(result) == pytest.approx(0.0, abs=1e-9)
