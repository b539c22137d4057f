"""A guard tripping to REDUCING: what it keeps working may not enlarge the position.

One symbol A, lot 0.01, no fee; orders placed at bar k's close fill at bar k+1's open.
Every scenario: short 1 at 100 (bar 2's open), the orders under test placed at bar 2's
close, a buy of 2 closing the short at 102 on bar 4 (a loss: ``max_consecutive_losses =
1`` trips to REDUCING) and leaving a long of 1; bars 5-6 reach 112.
"""

from __future__ import annotations

from collections.abc import Callable

from engine import Context
from engine.runtime import BacktestResult
from tests.integration.risk_audit_run import run2

BARS = [(100.0, 101.0, 99.0, 100.0)] * 3 + [(102.0, 103.0, 101.0, 102.0)] * 2
BARS += [(105.0, 112.0, 104.0, 108.0)] * 2


def _run(working: Callable[[Context], object]) -> BacktestResult:
    actions = {
        ("A", 1): [lambda ctx: ctx.sell("A", 1)],
        ("A", 2): [working],
        ("A", 3): [lambda ctx: ctx.buy("A", 2)],
    }
    result = run2({"A": BARS}, actions, risk={"max_consecutive_losses": 1})
    assert [str(change.state) for change in result.recorder.trading_states] == ["reducing"]
    return result


def _sell(quantity: float, price: float, group: str = "") -> Callable[[Context], object]:
    return lambda ctx: ctx.submit_order(
        "A", "sell", quantity, order_type="limit", limit_price=price, oco_group=group
    )


def test_guard_to_reducing_cancels_a_kept_order_that_would_flip_the_position() -> None:
    result = _run(_sell(4.0, 110.0))  # would take the long of 1 to a short of 3
    assert result.portfolio.position_quantity("A") == 1.0  # was -3.0
    canceled = result.recorder.orders_with_status("canceled")
    assert [(row["side"], row["quantity"]) for row in canceled] == [("sell", 4.0)]
    assert "sell 4 would take the A position from 1 to -3" in canceled[0]["reason"]
    assert canceled[0]["reason"].startswith("consecutive_losses: 1 losing round trips")


def test_guard_to_reducing_keeps_an_exit_within_the_position() -> None:
    result = _run(_sell(1.0, 110.0))
    assert result.portfolio.position_quantity("A") == 0.0  # the exit of 1 filled at 110
    assert result.recorder.orders_with_status("canceled") == []


def test_guard_to_reducing_counts_the_exits_it_keeps_together() -> None:
    # sells of 0.8 and 1.5: each alone within (or at) the long of 1, together a short of
    # 1.3; REDUCING lets a flip no larger than the position through, as it does new orders
    def both(ctx: Context) -> None:
        _sell(0.8, 110.0)(ctx)
        _sell(1.5, 111.0)(ctx)

    result = _run(both)
    assert round(result.portfolio.position_quantity("A"), 9) == 0.2
    canceled = result.recorder.orders_with_status("canceled")
    assert [(row["limit_price"], row["quantity"]) for row in canceled] == [(111.0, 1.5)]
    assert "sell 1.5 would take the A position from 1 to -1.3" in canceled[0]["reason"]


def test_guard_to_reducing_keeps_both_members_of_an_oco_exit() -> None:
    # an OCO pair selling the 1 held: at most one fills, both are kept
    def pair(ctx: Context) -> None:
        _sell(1.0, 110.0, "x")(ctx)
        _sell(1.0, 111.0, "x")(ctx)

    result = _run(pair)
    assert result.portfolio.position_quantity("A") == 0.0
    rows = [(row["limit_price"], row["status"]) for row in result.recorder.orders.values()]
    assert rows[1:3] == [(110.0, "filled"), (111.0, "canceled")]
    assert result.recorder.order_row(list(result.recorder.orders)[2])["reason"].startswith("oco:")


def test_exposure_at_trip_follows_the_fill_that_tripped() -> None:
    # the buy of 1 closing the short at bar 4's open (a loss) trips the guard flat: gross
    # exposure at the trip is 0 (was 102, the curve point of bar 3's close, before the fill)
    actions = {("A", 1): [lambda ctx: ctx.sell("A", 1)], ("A", 3): [lambda ctx: ctx.buy("A", 1)]}
    result = run2({"A": BARS}, actions, risk={"max_consecutive_losses": 1})
    assert result.portfolio.position_quantity("A") == 0.0
    assert result.metrics["guard_trips"] == 1
    assert result.metrics["guard_exposure_at_trip"] == 0.0


def test_exposure_at_trip_of_a_drawdown_is_that_close() -> None:
    # long 10 at 100 (bar 2's open); bar 3 closes at 50: equity 10,000 - 500 = 9,500 is 5 %
    # below the peak and trips at that close, exposure 10 x 50 = 500
    bars = [(100.0, 101.0, 99.0, 100.0)] * 3 + [(100.0, 101.0, 49.0, 50.0)] * 3
    result = run2(
        {"A": bars}, {("A", 1): [lambda ctx: ctx.buy("A", 10)]}, risk={"max_drawdown_pct": 5.0}
    )
    assert result.metrics["guard_trips"] == 1
    assert result.metrics["guard_exposure_at_trip"] == 500.0
