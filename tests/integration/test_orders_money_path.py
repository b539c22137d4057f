"""Issue 10, strategy context and risk: hand-computed scenarios through the whole kernel.

Bars are daily, bar k opening at ``T0 + k`` days; a scripted strategy runs its actions on
the given bars (decided at bar k's close, so market orders fill at bar k+1's open).
Defaults: symbol X, lot 1, tick 0.01, cash 10,000, no fee, no slippage; ``MARGIN_2X`` is
a margin account with leverage 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.errors import StrategyError
from engine.feeds import BarFrame
from engine.model import Bar, OrderRequested, OrderSide, OrderType
from engine.risk import TradingState
from engine.runtime import BacktestResult

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY  # a UTC midnight
FLAT = (100.0, 101.0, 99.0, 100.0)
MARGIN_2X = {"leverage": 2.0}
Action = Callable[[Context], object]


class Scripted(Strategy):
    def __init__(self, actions: dict[int, list[Action]]) -> None:
        super().__init__()
        self.actions = actions
        self.bar_index = -1
        self.errors: list[str] = []

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bar_index += 1
        for action in self.actions.get(self.bar_index, ()):
            action(ctx)


def run(
    bars: list[tuple[float, float, float, float]],
    actions: dict[int, list[Action]],
    *,
    account: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    execution: dict[str, Any] | None = None,
) -> BacktestResult:
    n = len(bars)
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*bars, strict=True))
    frame = BarFrame("X", DAY, T0 + np.arange(n) * DAY, o, h, low, c, np.full(n, 1e6))
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, **(account or {})},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "lot_size": 1.0}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **(execution or {})},
            "risk": risk or {},
        }
    )
    return run_backtest(config, frames=[frame], strategy=Scripted(actions))


def position(result: BacktestResult) -> float:
    return result.kernel.portfolio.position_quantity("X")


def cash(result: BacktestResult) -> float:
    return result.kernel.portfolio.cash


def fills(result: BacktestResult) -> list[tuple[str, float, float]]:
    """Return (side, price, quantity) of every fill, in order."""
    return [(str(f.side), f.price, f.quantity) for f in result.recorder.fills]


def rows(result: BacktestResult) -> list[tuple[str, str, str, float]]:
    """Return (side, type, status, quantity) of every orders.csv row, in request order."""
    return [
        (str(r["side"]), str(r["order_type"]), str(r["status"]), float(r["quantity"]))
        for r in result.recorder.orders.values()
    ]


# --- string enums: read as the member they name, or refused -----------------------------


@pytest.mark.parametrize("side", ["buy", "BUY", " Buy ", OrderSide.BUY])
@pytest.mark.parametrize("account", [{}, MARGIN_2X], ids=["cash", "margin"])
def test_a_string_buy_side_opens_a_long(side: str, account: dict[str, Any]) -> None:
    result = run([FLAT] * 3, {0: [lambda ctx: ctx.submit_order("X", side, 10)]}, account=account)
    # was: a short of 10 booked (cash 11,000) while orders.csv said "buy"
    assert fills(result) == [("buy", 100.0, 10.0)]
    assert position(result) == 10.0
    assert cash(result) == 10_000.0 - 1_000.0
    assert rows(result) == [("buy", "market", "filled", 10.0)]


@pytest.mark.parametrize("side", ["sell", "SELL"])
def test_a_string_sell_side_opens_a_short(side: str) -> None:
    result = run([FLAT] * 3, {0: [lambda ctx: ctx.submit_order("X", side, 10)]})
    assert fills(result) == [("sell", 100.0, 10.0)]
    assert (position(result), cash(result)) == (-10.0, 11_000.0)


def test_a_string_bracket_side_puts_its_exits_on_the_other_side() -> None:
    # Long 10 at o1 = 100; bar 2 reaches the take-profit at 104 (high 105): sold there.
    bars = [FLAT, FLAT, (100.0, 105.0, 99.5, 104.0), FLAT]

    def bracket(ctx: Context) -> None:
        ctx.bracket("X", "buy", 10, stop_loss=95, take_profit=104)

    result = run(bars, {0: [bracket]}, account=MARGIN_2X)
    # was: entry sold short 10 at 100 and the "exits" were buys
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 104.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_040.0)
    assert [r[:3] for r in rows(result)] == [
        ("buy", "market", "filled"),
        ("sell", "stop", "canceled"),
        ("sell", "limit", "filled"),
    ]
    assert result.kernel.risk._book.in_flight == {}  # every approval was answered


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"order_type": "LIMIT", "limit_price": 99.5}, ("buy", 99.5, 10.0)),
        ({"order_type": "Stop", "stop_price": 100.5}, ("buy", 100.5, 10.0)),
        (
            {"order_type": "stop_limit", "stop_price": 100.5, "limit_price": 100.8},
            ("buy", 100.5, 10.0),
        ),
        ({"time_in_force": "IOC"}, ("buy", 100.0, 10.0)),
        ({"time_in_force": "Day", "limit_price": 99.5}, ("buy", 99.5, 10.0)),
    ],
)
def test_string_order_types_and_time_in_force_are_read(
    kwargs: dict[str, Any], expected: tuple[str, float, float]
) -> None:
    result = run([FLAT] * 3, {0: [lambda ctx: ctx.submit_order("X", "buy", 10, **kwargs)]})
    assert fills(result)[0] == expected
    assert position(result) == 10.0


def test_a_string_trailing_stop_side_and_offset_type() -> None:
    # Long 10 at o1 = 100 (bar 0); trailing sell stop 2% from the best price placed at c1:
    # best 101 (bar 2 high) -> stop 98.98; bar 3's low 98 reaches it, fills at 98.98.
    bars = [FLAT, FLAT, (100.0, 101.0, 99.5, 100.0), (99.5, 99.6, 98.0, 98.5), FLAT]

    def trail(ctx: Context) -> None:
        ctx.submit_order(
            "X",
            "SELL",
            10,
            order_type="trailing_stop",
            trailing_offset=2.0,
            trailing_offset_type="Percent",
            reduce_only=True,
        )

    result = run(bars, {0: [lambda ctx: ctx.buy("X", 10)], 1: [trail]})
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 98.98, 10.0)]
    assert position(result) == 0.0


def test_a_misspelled_enum_argument_is_a_clear_strategy_error() -> None:
    errors: list[str] = []

    def attempt(**kwargs: Any) -> Action:
        def act(ctx: Context) -> None:
            try:
                ctx.submit_order("X", kwargs.pop("side", "buy"), 10, **kwargs)
            except StrategyError as exc:
                errors.append(str(exc))

        return act

    def bad_bracket(ctx: Context) -> None:
        try:
            ctx.bracket("X", "long", 1, stop_loss=95, take_profit=105)
        except StrategyError as exc:
            errors.append(str(exc))

    actions = [
        attempt(side="by"),
        attempt(order_type="limt", limit_price=99.0),
        attempt(time_in_force="gtx"),
        attempt(trailing_offset_type="percentage"),
        attempt(side=OrderType.MARKET),  # another enum's member is never reinterpreted
        bad_bracket,
    ]
    result = run([FLAT] * 3, {0: actions})
    assert errors == [
        "side 'by' is not one of buy, sell (did you mean 'buy'?)",
        "order_type 'limt' is not one of market, limit, stop, stop_limit, trailing_stop, "
        "market_on_open, market_on_close (did you mean 'limit'?)",
        "time_in_force 'gtx' is not one of gtc, day, gtd, ioc, fok (did you mean 'gtd'?)",
        "trailing_offset_type 'percentage' is not one of price, percent (did you mean 'percent'?)",
        "side <OrderType.MARKET: 'market'> is not one of buy, sell",
        "side 'long' is not one of buy, sell",
    ]
    assert result.recorder.orders == {}  # nothing was published


def test_risk_reads_string_enums_published_on_the_bus_and_denies_unreadable_ones() -> None:
    def publish(side: str, kind: str, tif: str) -> Action:
        def act(ctx: Context) -> None:
            ctx._bus.publish(
                OrderRequested(f"raw-{side}", "S", "X", side, 10.0, kind, None, None, tif, 0, 0)  # type: ignore[arg-type]
            )

        return act

    result = run(
        [FLAT] * 3,
        {0: [publish("Buy", "MARKET", "gtc"), publish("long", "market", "gtc")]},
        account=MARGIN_2X,
    )
    assert fills(result) == [("buy", 100.0, 10.0)]
    assert position(result) == 10.0
    denied = result.recorder.orders["raw-long"]
    assert (denied["status"], denied["check"]) == ("denied", "order_validity")
    assert denied["reason"] == "side 'long' is not one of buy, sell"


def test_set_trading_state_reads_any_case_and_refuses_unknown_states() -> None:
    result = run([FLAT] * 2, {})
    risk = result.kernel.risk
    risk.set_trading_state("HALTED", "test")
    assert risk.trading_state is TradingState.HALTED
    with pytest.raises(ValueError, match=r"'halt' is not one of active, reducing, halted \(did"):
        risk.set_trading_state("halt")


# --- orders placed on the same bar see each other ----------------------------------------


def denied(result: BacktestResult) -> list[tuple[str, str]]:
    """Return (check, reason) of every denied order, in request order."""
    return [
        (str(r["check"]), str(r["reason"]))
        for r in result.recorder.orders.values()
        if r["status"] == "denied"
    ]


def test_two_same_bar_buys_on_margin_cannot_pass_leverage_together() -> None:
    # Equity 10,000 x leverage 2 = 20,000. The first 150 @ 100 (15,000) passes; the second
    # counts the first (still in flight): 30,000 > 20,000. Was: both filled (3x equity).
    twice = [lambda ctx: ctx.buy("X", 150), lambda ctx: ctx.buy("X", 150)]
    result = run([FLAT] * 3, {0: twice}, account=MARGIN_2X)
    assert fills(result) == [("buy", 100.0, 150.0)]
    assert (position(result), cash(result)) == (150.0, 10_000.0 - 15_000.0)
    assert denied(result) == [
        ("leverage", "gross exposure would be 30000.00, above equity x leverage = 20000.00")
    ]


@pytest.mark.parametrize(
    ("kwargs", "price"),
    [
        ({"limit_price": 100.0}, 100.0),  # limit: valued at its limit
        ({"stop_price": 100.5}, 100.5),  # stop: valued at its stop
        ({"stop_price": 100.5, "limit_price": 100.8}, 100.8),  # stop-limit: at its limit
    ],
    ids=["limit", "stop", "stop_limit"],
)
def test_same_bar_priced_orders_count_each_other(kwargs: dict[str, Any], price: float) -> None:
    twice = [lambda ctx: ctx.buy("X", 150, **kwargs), lambda ctx: ctx.buy("X", 150, **kwargs)]
    bars = [FLAT, (100.0, 102.0, 99.0, 100.0), FLAT]
    result = run(bars, {0: twice}, account=MARGIN_2X)
    assert [f[2] for f in fills(result)] == [150.0]
    assert position(result) == 150.0
    gross = 300 * price
    assert denied(result) == [
        ("leverage", f"gross exposure would be {gross:.2f}, above equity x leverage = 20000.00")
    ]


def test_two_same_bar_shorts_on_margin_cannot_pass_leverage_together() -> None:
    twice = [lambda ctx: ctx.sell("X", 150), lambda ctx: ctx.sell("X", 150)]
    result = run([FLAT] * 3, {0: twice}, account=MARGIN_2X)
    assert fills(result) == [("sell", 100.0, 150.0)]
    assert (position(result), cash(result)) == (-150.0, 25_000.0)
    assert [check for check, _ in denied(result)] == ["leverage"]


def test_two_same_bar_buys_on_a_cash_account_cannot_spend_the_cash_twice() -> None:
    # 60 @ 100 = 6,000 each: the second sees 6,000 reserved, free cash 4,000 < 6,000.
    twice = [lambda ctx: ctx.buy("X", 60), lambda ctx: ctx.buy("X", 60)]
    result = run([FLAT] * 3, {0: twice})
    assert fills(result) == [("buy", 100.0, 60.0)]
    assert (position(result), cash(result)) == (60.0, 4_000.0)
    assert denied(result) == [
        (
            "cash",
            "insufficient cash: buying 60 X at ~100 costs 6000.00 with fees, free cash is 4000.00",
        )
    ]


def test_same_bar_sells_cannot_short_when_shorting_is_disabled() -> None:
    # Long 10 (bar 0); on bar 1 two sells of 10: the second would sell 20 of the 10 held.
    sells = [lambda ctx: ctx.sell("X", 10), lambda ctx: ctx.sell("X", 10)]
    result = run(
        [FLAT] * 4,
        {0: [lambda ctx: ctx.buy("X", 10)], 1: sells},
        account={"allow_short": False},
    )
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 100.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_000.0)
    assert [check for check, _ in denied(result)] == ["short_selling"]


def test_same_bar_orders_count_each_other_in_configured_position_limits() -> None:
    twice = [lambda ctx: ctx.buy("X", 60), lambda ctx: ctx.buy("X", 60)]
    result = run([FLAT] * 3, {0: twice}, account=MARGIN_2X, risk={"max_position_quantity": 100})
    assert position(result) == 60.0
    assert denied(result) == [
        ("max_position_quantity", "X position would be 120 (from 60), beyond the maximum 100")
    ]


def test_a_same_bar_exit_and_reentry_within_limits_both_pass() -> None:
    # Long 150 on 2x (15,000 of 20,000): a reduce-only sell of 150 never adds exposure and
    # a buy of 40 more (19,000) is within the limit: both pass and fill at o2.
    later = [lambda ctx: ctx.sell("X", 150, reduce_only=True), lambda ctx: ctx.buy("X", 40)]
    result = run([FLAT] * 4, {0: [lambda ctx: ctx.buy("X", 150)], 1: later}, account=MARGIN_2X)
    assert denied(result) == []
    assert fills(result) == [("buy", 100.0, 150.0), ("sell", 100.0, 150.0), ("buy", 100.0, 40.0)]
    assert (position(result), cash(result)) == (40.0, 6_000.0)


# --- ctx.modify is a request for risk ---------------------------------------------------

DIP = (96.0, 97.0, 94.0, 95.0)  # trades through a buy limit at 95 (fills at 95)
POP = (104.0, 106.0, 103.0, 105.0)  # trades through a sell limit at 105


def modify_first(**change: float) -> Action:
    return lambda ctx: ctx.modify(ctx.open_orders("X")[0].order_id, **change)


def order_reason(result: BacktestResult, index: int = 0) -> str:
    return str(list(result.recorder.orders.values())[index]["reason"])


def test_a_limit_buy_modified_beyond_leverage_is_refused_and_fills_as_it_was() -> None:
    # Limit buy 10 @ 95 on 2x; modified on bar 1 to 1,000 (95,000 > 20,000): refused, the
    # order keeps working and fills 10 @ 95 on bar 2. Was: 1,000 filled (cash -84,999.50).
    actions = {0: [lambda ctx: ctx.buy("X", 10, limit_price=95)], 1: [modify_first(quantity=1000)]}
    result = run([FLAT, FLAT, DIP, FLAT], actions, account=MARGIN_2X)
    assert fills(result) == [("buy", 95.0, 10.0)]
    assert (position(result), cash(result)) == (10.0, 9_050.0)
    assert order_reason(result) == (
        "modify rejected: risk leverage: gross exposure would be 95000.00, above equity x "
        "leverage = 20000.00"
    )


def test_a_modification_within_limits_passes_and_fills_at_the_new_quantity() -> None:
    # 10 -> 200 @ 95 = 19,000 <= 20,000: passes; fills 200 @ 95.
    actions = {0: [lambda ctx: ctx.buy("X", 10, limit_price=95)], 1: [modify_first(quantity=200)]}
    result = run([FLAT, FLAT, DIP, FLAT], actions, account=MARGIN_2X)
    assert fills(result) == [("buy", 95.0, 200.0)]
    assert (position(result), cash(result)) == (200.0, 10_000.0 - 19_000.0)


def test_a_modified_buy_on_a_cash_account_must_be_payable() -> None:
    # 10 -> 200 @ 95 costs 19,000 of 10,000 cash (the order's own 950 is not reserved twice).
    actions = {0: [lambda ctx: ctx.buy("X", 10, limit_price=95)], 1: [modify_first(quantity=200)]}
    result = run([FLAT, FLAT, DIP, FLAT], actions)
    assert fills(result) == [("buy", 95.0, 10.0)]
    assert order_reason(result) == (
        "modify rejected: risk cash: insufficient cash: buying 200 X at ~95 costs 19000.00 "
        "with fees, free cash is 10000.00"
    )


def test_a_modified_short_is_checked_for_leverage() -> None:
    # Sell limit 10 @ 105 -> 1,000 (105,000 > 20,000) refused; fills 10 @ 105 on bar 2.
    actions = {
        0: [lambda ctx: ctx.sell("X", 10, limit_price=105)],
        1: [modify_first(quantity=1000)],
    }
    result = run([FLAT, FLAT, POP, FLAT], actions, account=MARGIN_2X)
    assert fills(result) == [("sell", 105.0, 10.0)]
    assert (position(result), cash(result)) == (-10.0, 11_050.0)
    assert order_reason(result).startswith("modify rejected: risk leverage: gross exposure would")


def test_a_modified_sell_cannot_go_short_when_shorting_is_disabled() -> None:
    # Long 10 (o1 = 100); a sell limit of 10 @ 105 modified to 20 would sell 10 short.
    actions = {
        0: [lambda ctx: ctx.buy("X", 10)],
        1: [lambda ctx: ctx.sell("X", 10, limit_price=105)],
        2: [modify_first(quantity=20)],
    }
    result = run([FLAT, FLAT, FLAT, POP, FLAT], actions, account={"allow_short": False})
    assert fills(result) == [("buy", 100.0, 10.0), ("sell", 105.0, 10.0)]
    assert (position(result), cash(result)) == (0.0, 10_050.0)
    assert order_reason(result, 1) == (
        "modify rejected: risk short_selling: short selling is disabled (account.allow_short "
        "= false): selling 20 with 0 pending exceeds the 10 held"
    )


@pytest.mark.parametrize(
    ("place", "change", "reason"),
    [
        (
            {"limit_price": 95},
            {"limit_price": 50},
            "risk price_band: limit price 50 is 50.00% away from the last price 100, beyond "
            "the band of 10%",
        ),
        (
            {"stop_price": 110},
            {"stop_price": 150},
            "risk price_band: stop price 150 is 50.00% away from the last price 100, beyond "
            "the band of 10%",
        ),
        (
            {"stop_price": 110},
            {"quantity": 60},
            "risk max_order_quantity: order quantity 60 exceeds the maximum 50",
        ),
        (
            {"stop_price": 105, "limit_price": 106},
            {"quantity": 60},
            "risk max_order_quantity: order quantity 60 exceeds the maximum 50",
        ),
    ],
    ids=["limit_price", "stop_price", "stop_quantity", "stop_limit_quantity"],
)
def test_modifications_meet_the_configured_limits(
    place: dict[str, float], change: dict[str, float], reason: str
) -> None:
    actions = {0: [lambda ctx: ctx.buy("X", 10, **place)], 1: [modify_first(**change)]}
    limits = {"price_band_pct": 10.0, "max_order_quantity": 50}
    result = run([FLAT] * 3, actions, account=MARGIN_2X, risk=limits)
    assert order_reason(result) == f"modify rejected: {reason}"
    row = next(iter(result.recorder.orders.values()))
    assert (row["quantity"], row["limit_price"], row["stop_price"]) == (
        10.0,
        place.get("limit_price"),
        place.get("stop_price"),
    )


def test_a_modification_that_lowers_the_quantity_always_passes() -> None:
    # Lowering 40 -> 30 only reduces what the order can do: no check; fills 30 @ 95.
    actions = {0: [lambda ctx: ctx.buy("X", 40, limit_price=95)], 1: [modify_first(quantity=30)]}
    result = run([FLAT, FLAT, DIP, FLAT], actions, risk={"max_order_quantity": 40})
    assert fills(result) == [("buy", 95.0, 30.0)]
    assert order_reason(result) == ""


# --- close_position makes the position flat whatever exits are working ------------------


def statuses(result: BacktestResult) -> list[tuple[str, str, str]]:
    """Return (side, type, status) of every order, in request order."""
    return [row[:3] for row in rows(result)]


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
    # Long 50 @ 100; the guard trips at c2 (REDUCING). On bar 3 the working limit buy of 1
    # @ 60 raised to 10 is refused; the reduce-only sell limit @ 130 moved to 120 passes
    # (and a move that only lowers a quantity never needs a check).
    actions = {
        0: [lambda ctx: ctx.buy("X", 50), lambda ctx: ctx.buy("X", 1, limit_price=60)],
        1: [lambda ctx: ctx.sell("X", 50, limit_price=130, reduce_only=True)],
        3: [
            lambda ctx: ctx.modify(ctx.open_orders("X")[0].order_id, quantity=10),
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
        "exposure pass, and this one takes the expected X position from 50 to 60"
    )
    assert order_reason(result, 2) == ""
