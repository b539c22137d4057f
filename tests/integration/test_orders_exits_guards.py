"""Issue 10, strategy context and risk (2/2): close_position, held exits, guards.

Hand-computed scenarios through the whole kernel (`tests.integration.scripted_run`:
daily bars, symbol X, cash 10,000, no fee, no slippage).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import Context
from engine.risk import TradingState
from tests.integration.scripted_run import (
    DAY,
    FLAT,
    MARGIN_2X,
    T0,
    Action,
    cash,
    denied,
    fills,
    order_reason,
    position,
    run,
    statuses,
)

# --- close_position makes the position flat whatever exits are working ------------------


def bracket_of(side: str, **prices: float) -> Action:
    return lambda ctx: ctx.bracket("X", side, 10, **prices)


def test_close_position_with_a_brackets_exits_working_sells_the_long() -> None:
    # Long 10 @ 100 (bar 0 bracket, filled o1); close on bar 1: the stop and target are
    # canceled and one reduce-only sell of 10 fills at o2 = 100. Was: a BUY of 10 (long 20).
    bracket = bracket_of("buy", stop_loss=90, take_profit=110)
    actions = {0: [bracket], 1: [lambda ctx: ctx.close_position("X")]}
    result = run([FLAT] * 4, actions, account=MARGIN_2X)
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 100.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_000.0)
    assert statuses(result) == [
        ("buy", "market", "filled"),
        ("sell", "stop", "canceled"),
        ("sell", "limit", "canceled"),
        ("sell", "market", "filled"),
    ]


def test_close_position_with_a_brackets_exits_working_covers_the_short() -> None:
    bracket = bracket_of("sell", stop_loss=110, take_profit=90)
    actions = {0: [bracket], 1: [lambda ctx: ctx.close_position("X")]}
    result = run([FLAT] * 4, actions, account=MARGIN_2X)
    assert fills(result) == [("sell", 100.0, 10.0), ("buy", 100.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_000.0)


@pytest.mark.parametrize(
    "exit_order",
    [
        lambda ctx: ctx.sell("X", 10, stop_price=90, reduce_only=True),
        lambda ctx: ctx.sell("X", 10, limit_price=110, reduce_only=True),
        lambda ctx: ctx.sell("X", 10, stop_price=90, limit_price=89, reduce_only=True),
        lambda ctx: ctx.trailing_stop("X", "sell", 10, percent=5.0),
    ],
    ids=["stop", "limit", "stop_limit", "trailing"],
)
def test_close_position_with_a_reduce_only_exit_working_sells(exit_order: Action) -> None:
    # Long 10 @ 100; a reduce-only exit works from bar 1; close on bar 2 sells 10 at o3.
    # Was: the exit counted as a pending sell of 10, so nothing was sent.
    actions = {
        0: [lambda ctx: ctx.buy("X", 10)],
        1: [exit_order],
        2: [lambda ctx: ctx.close_position("X")],
    }
    result = run([FLAT] * 5, actions)
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 100.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_000.0)
    assert statuses(result)[1][2] == "canceled"


@pytest.mark.parametrize(
    ("actions", "expected", "orders"),
    [
        # flat: a target of 10 then a close in one on_bar leaves nothing (was: long 10)
        (
            {
                0: [
                    lambda ctx: ctx.order_target_quantity("X", 10),
                    lambda ctx: ctx.close_position("X"),
                ]
            },
            [],
            [("buy", "market", "canceled")],
        ),
        # long 10: a buy of 5 then a close in one on_bar sells the 10 (was: long 5 left)
        (
            {
                0: [lambda ctx: ctx.buy("X", 10)],
                1: [lambda ctx: ctx.buy("X", 5), lambda ctx: ctx.close_position("X")],
            },
            [("buy", 100.0, 10.0), ("sell", 100.0, 10.0)],
            [
                ("buy", "market", "filled"),
                ("buy", "market", "canceled"),
                ("sell", "market", "filled"),
            ],
        ),
    ],
    ids=["flat", "long"],
)
def test_close_position_cancels_an_entry_requested_earlier_in_the_same_hook(
    actions: dict[int, list[Action]],
    expected: list[tuple[str, float, float]],
    orders: list[tuple[str, str, str]],
) -> None:
    result = run([FLAT] * 4, actions, account=MARGIN_2X)
    assert fills(result) == expected
    assert position(result) == 0.0
    assert statuses(result) == orders


def test_a_cancel_in_the_same_hook_as_its_order_cancels_it() -> None:
    # The cancel reaches execution before the order's approval does. Was: ignored (the
    # order unknown there), and the buy filled 10 @ 100.
    def buy_then_cancel(ctx: Context) -> None:
        ctx.cancel(ctx.buy("X", 10))

    result = run([FLAT] * 3, {0: [buy_then_cancel]})
    assert fills(result) == []
    assert (position(result), cash(result)) == (0.0, 10_000.0)
    assert statuses(result) == [("buy", "market", "canceled")]
    assert order_reason(result) == "canceled by request"
    assert result.in_flight == ()


def test_close_position_cancels_a_working_entry_when_flat() -> None:
    # A limit buy at 90 works (never reached); close_position while flat cancels it.
    actions = {
        0: [lambda ctx: ctx.buy("X", 10, limit_price=90)],
        1: [lambda ctx: ctx.close_position("X")],
    }
    result = run([FLAT] * 4, actions)
    assert fills(result) == []
    assert statuses(result) == [("buy", "limit", "canceled")]


@pytest.mark.parametrize(
    "flatten",
    [
        lambda ctx: ctx.order_target_quantity("X", 0),
        lambda ctx: ctx.order_target_percent("X", 0.0),
        lambda ctx: ctx.order_target_value("X", 0.0),
    ],
    ids=["quantity", "percent", "value"],
)
def test_order_target_zero_with_exits_working_sells_the_position(flatten: Action) -> None:
    # Exits are not pending sells: target 0 from long 10 sells 10 (was: bought 10 with a
    # bracket's two exits working). The exits stay working, then cap at the flat position.
    bracket = bracket_of("buy", stop_loss=90, take_profit=110)
    result = run([FLAT] * 4, {0: [bracket], 1: [flatten]}, account=MARGIN_2X)
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 100.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_000.0)


def test_order_target_on_every_bar_with_a_stop_working_does_not_double() -> None:
    # Target 10 every bar with a reduce-only stop for 10 working: still 10 at the end
    # (was: the stop counted as a pending sell, so each bar bought 10 more).
    def hold(ctx: Context) -> None:
        ctx.order_target_quantity("X", 10)
        if ctx.position("X") and not ctx.open_orders("X"):
            ctx.sell("X", 10, stop_price=90, reduce_only=True)

    result = run([FLAT] * 6, {k: [hold] for k in range(6)})
    assert fills(result) == [("buy", 100.0, 10.0)]
    assert position(result) == 10.0


# --- held bracket exits are "held" until their parent fills ------------------------------


def test_a_brackets_exits_are_held_until_the_entry_fills() -> None:
    # A limit entry at 90 that the data never reaches: its exits were never sent, so
    # orders.csv says "held" (was: "submitted").
    actions = {
        0: [lambda ctx: ctx.bracket("X", "buy", 10, stop_loss=80, take_profit=110, entry_price=90)]
    }
    result = run([FLAT] * 3, actions)
    assert statuses(result) == [
        ("buy", "limit", "accepted"),
        ("sell", "stop", "held"),
        ("sell", "limit", "held"),
    ]


def test_held_exits_follow_their_entry_canceled_or_filled() -> None:
    # Bracket A's limit entry at 90 is canceled on bar 1: its exits end "canceled".
    # Bracket B's market entry fills at o1: its exits are released ("accepted").
    def bracket_a(ctx: Context) -> None:
        ctx.bracket("X", "buy", 10, stop_loss=80, take_profit=110, entry_price=90)

    def bracket_b(ctx: Context) -> None:
        ctx.bracket("X", "buy", 5, stop_loss=80, take_profit=120)

    actions = {
        0: [bracket_a, bracket_b],
        1: [lambda ctx: ctx.cancel(ctx.open_orders("X")[0].order_id)],  # A's entry: oldest
    }
    result = run([FLAT] * 3, actions)
    assert statuses(result) == [
        ("buy", "limit", "canceled"),
        ("sell", "stop", "canceled"),
        ("sell", "limit", "canceled"),
        ("buy", "market", "filled"),
        ("sell", "stop", "accepted"),
        ("sell", "limit", "accepted"),
    ]


# --- guards: the default lets exits through, "flatten" closes, "halted" says what it left --

DROP = (100.0, 100.0, 69.0, 70.0)  # long 50 from 100: equity 8,500 at this close (-15%)
RISE = (100.0, 131.0, 100.0, 130.0)  # short 50 from 100: equity 8,500 at this close
AFTER_DROP = (72.0, 73.0, 71.0, 72.0)
AFTER_RISE = (128.0, 129.0, 127.0, 128.0)


def guard(action: str | None = None, **limits: float) -> dict[str, Any]:
    settings: dict[str, Any] = dict(limits or {"max_drawdown_pct": 10.0})
    if action is not None:
        settings["guard_action"] = action
    return settings


@pytest.mark.parametrize(
    ("entry", "bars", "close_side", "close_price", "final_cash", "account"),
    [
        ("buy", [FLAT, FLAT, DROP, AFTER_DROP, FLAT], "sell", 72.0, 5_000 + 3_600, {}),
        ("buy", [FLAT, FLAT, DROP, AFTER_DROP, FLAT], "sell", 72.0, 5_000 + 3_600, MARGIN_2X),
        ("sell", [FLAT, FLAT, RISE, AFTER_RISE, FLAT], "buy", 128.0, 15_000 - 6_400, MARGIN_2X),
    ],
    ids=["long_cash", "long_margin", "short_margin"],
)
@pytest.mark.parametrize(
    "limits",
    [{"max_drawdown_pct": 10.0}, {"daily_loss_pct": 10.0}],
    ids=["drawdown", "daily_loss"],
)
def test_flatten_closes_the_position_at_the_next_open_and_denies_the_rest(
    entry: str,
    bars: list[tuple[float, float, float, float]],
    close_side: str,
    close_price: float,
    final_cash: float,
    account: dict[str, Any],
    limits: dict[str, float],
) -> None:
    # 50 @ 100 at o1; c2 is 30 against it: equity 8,500, 15% down (peak and day start
    # 10,000) -> trip at c2. Flatten: the working stop is canceled, 50 closes at o3, and the
    # strategy's order on bar 3 is denied (HALTED).
    protective = "sell" if entry == "buy" else "buy"
    stop = 50.0 if entry == "buy" else 150.0
    actions = {
        0: [lambda ctx: ctx.submit_order("X", entry, 50)],
        1: [lambda ctx: ctx.submit_order("X", protective, 50, stop_price=stop, reduce_only=True)],
        3: [lambda ctx: ctx.submit_order("X", entry, 1)],
    }
    result = run(bars, actions, account=account, risk=guard("flatten", **limits))
    assert fills(result) == [(entry, 100.0, 50.0), (close_side, close_price, 50.0)]
    assert (position(result), cash(result)) == (0.0, final_cash)
    assert statuses(result) == [
        (entry, "market", "filled"),
        (protective, "stop", "canceled"),
        (close_side, "market", "filled"),  # risk-flatten-000001
        (entry, "market", "denied"),
    ]
    (change,) = result.recorder.trading_states
    assert (change.state, change.ts_event) == (TradingState.HALTED, T0 + 3 * DAY)
    assert result.metrics["guard_exposure_at_trip"] == pytest.approx(50 * bars[2][3])
    assert result.metrics["guard_exposure_left_open"] == 0.0


def test_flatten_on_a_losing_streak_cancels_working_entries_and_held_exits() -> None:
    # One losing round trip (buy 10 @ 100 at o1, sell 10 @ 90 at o2) trips
    # max_consecutive_losses = 1 at that fill; nothing is held, but the working limit entry
    # (with its held bracket exits) is canceled.
    bars = [FLAT, FLAT, (90.0, 91.0, 89.0, 90.0), FLAT, FLAT]

    def entry_with_bracket(ctx: Context) -> None:
        ctx.bracket("X", "buy", 5, stop_loss=70, take_profit=99, entry_price=80)

    actions = {
        0: [lambda ctx: ctx.buy("X", 10)],
        1: [lambda ctx: ctx.sell("X", 10), entry_with_bracket],
    }
    result = run(bars, actions, risk=guard("flatten", max_consecutive_losses=1))
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 90.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 9_900.0)
    assert statuses(result)[2:] == [
        ("buy", "limit", "canceled"),
        ("sell", "stop", "canceled"),
        ("sell", "limit", "canceled"),
    ]
    assert result.metrics["guard_final_state"] == "halted"


def test_the_default_guard_action_lets_the_strategys_exit_through() -> None:
    # Default "reducing": the strategy's plain (not reduce-only) sell of 50 at c3 passes and
    # fills at o4 = 100; its buy is denied. Was ("halted" by default): both denied, the
    # long 50 rode to the end.
    bars = [FLAT, FLAT, DROP, AFTER_DROP, FLAT, FLAT]
    actions = {
        0: [lambda ctx: ctx.buy("X", 50)],
        3: [lambda ctx: ctx.buy("X", 5), lambda ctx: ctx.sell("X", 50)],
    }
    result = run(bars, actions, risk=guard())
    assert fills(result) == [("buy", 100.0, 50.0), ("sell", 100.0, 50.0)]
    assert (position(result), cash(result)) == (0.0, 10_000.0)
    assert [check for check, _ in denied(result)] == ["trading_state"]
    assert result.metrics["guard_final_state"] == "reducing"
    assert result.metrics["guard_exposure_left_open"] == 0.0


def test_halted_denies_the_exit_and_reports_the_exposure_left_open(tmp_path: Path) -> None:
    # "halted": the sell at c3 is denied, the long 50 rides to the last close 100.
    bars = [FLAT, FLAT, DROP, AFTER_DROP, FLAT, FLAT]
    actions = {0: [lambda ctx: ctx.buy("X", 50)], 3: [lambda ctx: ctx.sell("X", 50)]}
    result = run(bars, actions, risk=guard("halted"))
    assert fills(result) == [("buy", 100.0, 50.0)]
    assert position(result) == 50.0
    assert result.metrics["guard_exposure_at_trip"] == 50 * 70.0
    assert result.metrics["guard_exposure_left_open"] == 50 * 100.0
    assert result.metrics["guard_trips"] == 1
    html = result.report(tmp_path / "report.html").read_text()
    assert "A guard (halted) left 5,000.00 of gross exposure open." in html


@pytest.mark.parametrize("action", [None, "halted"], ids=["reducing", "halted"])
def test_a_trip_cancels_working_orders_that_add_exposure_and_keeps_the_exits(
    action: str | None,
) -> None:
    # Long 50 at 100 (o1); on bar 1 a limit buy of 50 @ 65 (an entry), a reduce-only stop
    # sell @ 60 and a plain limit sell of 50 @ 110 (exits). DROP's close 70 trips the guard
    # (-15 %); bar 3 then trades down to 64. Was: the entry stayed working and filled 50
    # more at 65 under the guard (100 held, as if the guard let exposure through).
    def place(ctx: Context) -> None:
        ctx.buy("X", 50, limit_price=65)
        ctx.sell("X", 50, stop_price=60, reduce_only=True)
        ctx.sell("X", 50, limit_price=110)

    bars = [FLAT, FLAT, DROP, (66.0, 67.0, 64.0, 66.0), FLAT]
    result = run(bars, {0: [lambda ctx: ctx.buy("X", 50)], 1: [place]}, risk=guard(action))
    assert fills(result) == [("buy", 100.0, 50.0)]
    assert position(result) == 50.0
    assert statuses(result) == [
        ("buy", "market", "filled"),
        ("buy", "limit", "canceled"),
        ("sell", "stop", "accepted"),
        ("sell", "limit", "accepted"),
    ]
    assert order_reason(result, 1).startswith("max_drawdown: ")


def test_runs_without_a_guard_have_no_guard_metrics() -> None:
    result = run([FLAT] * 2, {})
    assert not [key for key in result.metrics if key.startswith("guard")]


def test_canceling_a_held_exit_and_its_entry_on_one_bar_cancels_each_once() -> None:
    # Found while testing "flatten": the entry's cancel used to cancel its held exit a
    # second time (InvalidStateTransition: canceled -> canceled).
    ids: list[str] = []

    def place(ctx: Context) -> None:
        ids.extend(ctx.bracket("X", "buy", 5, stop_loss=70, take_profit=99, entry_price=80))

    def cancel_both(ctx: Context) -> None:
        ctx.cancel(ids[0])  # the entry, then its held stop
        ctx.cancel(ids[1])

    result = run([FLAT] * 3, {0: [place], 1: [cancel_both]})
    assert [row[2] for row in statuses(result)] == ["canceled"] * 3
    reasons = [str(row["reason"]) for row in result.recorder.orders.values()]
    assert reasons == [
        "canceled by request",
        "canceled by request",
        f"parent {ids[0]} ended without a fill",
    ]


def test_under_reducing_a_modification_that_adds_is_refused_and_an_exit_may_move() -> None:
    # Long 50 @ 100; the guard trips at c2 (REDUCING). On bar 3 the working plain sell
    # limit of 10 @ 140 (an exit: the trip keeps it) raised to 120 would go short 70: it
    # is refused; the reduce-only sell limit @ 130 moved to 120 passes (and a move that
    # only lowers a quantity never needs a check). (Until issue 10's audit this used a
    # limit buy left working under REDUCING; the trip now cancels such entries.)
    actions = {
        0: [lambda ctx: ctx.buy("X", 50), lambda ctx: ctx.sell("X", 10, limit_price=140)],
        1: [lambda ctx: ctx.sell("X", 50, limit_price=130, reduce_only=True)],
        3: [
            lambda ctx: ctx.modify(ctx.open_orders("X")[0].order_id, quantity=120),
            lambda ctx: ctx.modify(ctx.open_orders("X")[1].order_id, limit_price=120),
        ],
    }
    bars = [FLAT, FLAT, DROP, AFTER_DROP, (119.0, 125.0, 118.0, 121.0), FLAT]
    result = run(bars, actions, risk=guard())
    assert fills(result) == [("buy", 100.0, 50.0), ("sell", 120.0, 50.0)]
    assert (position(result), cash(result)) == (0.0, 11_000.0)
    assert order_reason(result, 1) == (
        "modify rejected: risk trading_state: trading is REDUCING (max_drawdown: equity "
        "8500.00 is 15.00% below its peak 10000.00 (limit 10%)): only orders that reduce "
        "exposure pass, and this one takes the expected X position from 50 to -70"
    )
    assert order_reason(result, 2) == ""


def test_flatten_also_cancels_the_engines_protective_exits() -> None:
    # [risk.exits] keeps a stop 50% below and a target 50% above the entry (an OCO pair of
    # the "<strategy>.exits" id); flatten cancels them with everything else, sells 50 at
    # o3 = 72 and no exit is placed again on the flat position.
    bars = [FLAT, FLAT, DROP, AFTER_DROP, FLAT]
    risk = guard("flatten") | {"exits": {"stop_loss_pct": 50.0, "take_profit_pct": 50.0}}
    result = run(bars, {0: [lambda ctx: ctx.buy("X", 50)]}, risk=risk)
    assert fills(result) == [("buy", 100.0, 50.0), ("sell", 72.0, 50.0)]
    assert (position(result), cash(result)) == (0.0, 8_600.0)
    assert statuses(result) == [
        ("buy", "market", "filled"),
        ("sell", "stop", "canceled"),
        ("sell", "limit", "canceled"),
        ("sell", "market", "filled"),
    ]


def test_modifying_a_held_exit_or_an_ended_order_is_answered_not_dropped() -> None:
    # The bracket's stop is held (limit entry at 80 never reached): moving it is refused
    # with the reason; modifying a filled order says it is not working. Was: no answer.
    ids: list[str] = []

    def place(ctx: Context) -> None:
        ids.extend(ctx.bracket("X", "buy", 5, stop_loss=70, take_profit=99, entry_price=80))
        ids.append(ctx.buy("X", 1))

    def move(ctx: Context) -> None:
        ctx.modify(ids[1], stop_price=75)
        ctx.modify(ids[3], quantity=2)

    result = run([FLAT] * 3, {0: [place], 1: [move]})
    assert order_reason(result, 1) == (
        f"modify rejected: order is held until its parent {ids[0]} fills"
    )
    assert order_reason(result, 3) == "modify rejected: order is not working"
    assert result.recorder.orders[ids[1]]["stop_price"] == 70.0
