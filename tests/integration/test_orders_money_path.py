"""Issue 10, strategy context and risk (1/2): string enums, same-bar orders, modify.

Hand-computed scenarios through the whole kernel (`tests.integration.scripted_run`:
daily bars, symbol X, cash 10,000, no fee, no slippage).
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import Context
from engine.errors import StrategyError
from engine.model import OrderRequested, OrderSide, OrderType
from engine.risk import TradingState
from tests.integration.scripted_run import (
    FLAT,
    MARGIN_2X,
    Action,
    bare_kernel,
    cash,
    denied,
    fills,
    order_reason,
    position,
    rows,
    run,
)

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
    assert result.in_flight == ()  # every approval was answered


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


def test_a_sell_trailing_stop_of_100_percent_or_more_is_denied() -> None:
    # 150 % below the best price is a negative level that never triggers. Was: accepted.
    def trail(ctx: Context) -> None:
        ctx.trailing_stop("X", "sell", 10, percent=150)

    result = run([FLAT] * 4, {0: [lambda ctx: ctx.buy("X", 10)], 1: [trail]}, account=MARGIN_2X)
    assert denied(result) == [
        ("order_validity", "a sell trailing stop's percent offset must be below 100, got 150")
    ]


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
    assert rows(result)[0] == ("buy", "market", "filled", 10.0)  # as risk read it
    denied = result.recorder.orders["raw-long"]
    assert (denied["status"], denied["check"]) == ("denied", "order_validity")
    assert denied["reason"] == "side 'long' is not one of buy, sell"


def test_set_trading_state_reads_any_case_and_refuses_unknown_states() -> None:
    risk = bare_kernel().risk  # the kernel a run wires, with the run's defaults
    risk.set_trading_state("HALTED", "test")
    assert risk.trading_state is TradingState.HALTED
    with pytest.raises(ValueError, match=r"'halt' is not one of active, reducing, halted \(did"):
        risk.set_trading_state("halt")


# --- orders placed on the same bar see each other ----------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected", "held"),
    [
        # target 10 twice: the second sees the first's 10 as ordered. Was: 10 + 10 = 20.
        (("quantity", 10.0), ("quantity", 10.0), [("buy", 100.0, 10.0)], 10.0),
        # target 10, then 4: the second sells the 6 the first buys too many
        (
            ("quantity", 10.0),
            ("quantity", 4.0),
            [("buy", 100.0, 10.0), ("sell", 100.0, 6.0)],
            4.0,
        ),
        # all-in twice on 2x margin: 100 @ 100 = 1x equity. Was: 200 (2x, within leverage).
        (("percent", 1.0), ("percent", 1.0), [("buy", 100.0, 100.0)], 100.0),
        (("value", -5_000.0), ("value", -5_000.0), [("sell", 100.0, 50.0)], -50.0),
    ],
    ids=["quantity", "quantity_then_less", "percent", "value_short"],
)
def test_order_targets_called_twice_on_one_bar_do_not_stack(
    first: tuple[str, float], second: tuple[str, float], expected: list[Any], held: float
) -> None:
    def target(kind: str, amount: float) -> Action:
        return lambda ctx: getattr(ctx, f"order_target_{kind}")("X", amount)

    result = run([FLAT] * 3, {0: [target(*first), target(*second)]}, account=MARGIN_2X)
    assert fills(result) == expected
    assert position(result) == held


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


PER_UNIT_5 = {"fees": {"model": "per_unit", "per_unit": 5.0}, "cash_shortfall": "cancel"}


@pytest.mark.parametrize(
    ("fees", "quantity", "cost"),
    [
        ({"model": "per_unit", "per_unit": 5.0}, 98, "10290.00"),  # 9,800 + 98 x 5
        ({"model": "per_unit", "per_unit": 0.01, "minimum": 150.0}, 99, "10050.00"),  # 9,900 + 150
        ({"model": "percent", "maker_rate": 0.0, "taker_rate": 0.02}, 99, "10098.00"),  # 2 % taker
    ],
    ids=["per_unit", "minimum", "taker_rate"],
)
def test_cash_check_charges_the_fee_models_fee_not_the_sizing_rate(
    fees: dict[str, Any], quantity: int, cost: str
) -> None:
    # Was: risk reserved the sizing rate (0.1 %: 98 x 100 x 1.001 = 9,809.80) and approved
    # the buy; at the unchanged price of 100 the broker's cap (which charges the model's
    # fee) then canceled it whole under cash_shortfall = "cancel".
    execution = {"fees": fees, "cash_shortfall": "cancel"}
    result = run([FLAT] * 3, {0: [lambda ctx: ctx.buy("X", quantity)]}, execution=execution)
    assert fills(result) == []
    assert denied(result) == [
        (
            "cash",
            f"insufficient cash: buying {quantity} X at ~100 costs {cost} with fees, "
            "free cash is 10000.00",
        )
    ]


def test_a_buy_the_fee_model_lets_the_cash_pay_passes_and_fills_whole() -> None:
    # 95 x 100 + 95 x 5 = 9,975 <= 10,000: approved and filled, cash 25.
    result = run([FLAT] * 3, {0: [lambda ctx: ctx.buy("X", 95)]}, execution=PER_UNIT_5)
    assert fills(result) == [("buy", 100.0, 95.0)]
    assert cash(result) == 25.0


@pytest.mark.parametrize(
    ("fees", "quantity", "spent"),
    [
        ({"model": "per_unit", "per_unit": 5.0}, 95.0, 9_975.0),  # 96 would cost 10,080
        ({"model": "per_unit", "per_unit": 0.01, "minimum": 150.0}, 98.0, 9_950.0),
        ({"model": "percent", "rate": 0.001}, 99.0, 9_909.9),  # the reserve suffices
    ],
    ids=["per_unit", "minimum", "percent"],
)
def test_all_in_target_shrinks_until_the_fee_models_fee_fits(
    fees: dict[str, Any], quantity: float, spent: float
) -> None:
    # floor(10,000 / (100 x 1.001)) = 99 reserves 0.1 %; a per-unit fee of 5 charges 495.
    # Was: 99 ordered, approved, then cut to 95 by the broker's cash cap at the same price
    # (and, with risk charging the model's fee, it would be denied outright).
    def all_in(ctx: Context) -> None:
        ctx.order_target_percent("X", 1.0)

    result = run([FLAT] * 3, {0: [all_in]}, execution={"fees": fees})
    assert fills(result) == [("buy", 100.0, quantity)]
    assert cash(result) == pytest.approx(10_000.0 - spent, abs=1e-9)
    assert rows(result) == [("buy", "market", "filled", quantity)]


def test_same_bar_buys_reserve_the_fee_models_fee_for_each_other() -> None:
    # 50 @ 100 costs 5,000 + 250 = 5,250 reserved; 48 more cost 4,800 + 240 = 5,040 >
    # 4,750 free. Was: 5,005 reserved and 4,804.80 asked, so both passed risk.
    twice = [lambda ctx: ctx.buy("X", 50), lambda ctx: ctx.buy("X", 48)]
    result = run([FLAT] * 3, {0: twice}, execution=PER_UNIT_5)
    assert fills(result) == [("buy", 100.0, 50.0)]
    assert cash(result) == 10_000.0 - 5_250.0
    assert denied(result) == [
        (
            "cash",
            "insufficient cash: buying 48 X at ~100 costs 5040.00 with fees, free cash is 4750.00",
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
        (
            {"limit_price": 95},
            {"quantity": 30},
            "risk max_order_notional: order notional 2850.00 (30 x 95) exceeds the maximum 2000.00",
        ),
    ],
    ids=["limit_price", "stop_price", "stop_quantity", "stop_limit_quantity", "notional"],
)
def test_modifications_meet_the_configured_limits(
    place: dict[str, float], change: dict[str, float], reason: str
) -> None:
    actions = {0: [lambda ctx: ctx.buy("X", 10, **place)], 1: [modify_first(**change)]}
    limits = {"price_band_pct": 10.0, "max_order_quantity": 50, "max_order_notional": 2000}
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


@pytest.mark.parametrize(
    ("place", "change", "bars", "filled"),
    [
        # 10 @ 95 modified to 0.4: lot 1 rounds it to 0 — refused, 10 fill on the dip
        ({}, 0.4, [FLAT, FLAT, DIP, FLAT], [("buy", 95.0, 10.0)]),
        # 5 of 10 filled on the first dip (5 per bar by volume), then 5.4 -> 5: nothing
        # left to fill — refused, the other 5 fill on the second dip
        (
            {"volume_participation": 5e-6},
            5.4,
            [FLAT, DIP, DIP, FLAT],
            [("buy", 95.0, 5.0), ("buy", 95.0, 5.0)],
        ),
    ],
    ids=["to_zero", "to_the_filled"],
)
def test_a_modified_quantity_that_rounds_to_no_more_than_filled_is_refused(
    place: dict[str, Any],
    change: float,
    bars: list[tuple[float, float, float, float]],
    filled: list[tuple[str, float, float]],
) -> None:
    # Was: accepted, the order's quantity became 0 (or the filled 5): it vanished from the
    # venue without a fill or cancel and stayed "accepted" / working in the book forever.
    actions = {
        0: [lambda ctx: ctx.buy("X", 10, limit_price=95)],
        1: [modify_first(quantity=change)],
    }
    result = run(bars, actions, execution=place)
    assert fills(result) == filled
    assert order_reason(result) == (
        f"modify rejected: quantity {change:g} rounds to {change // 1:g} at lot size 1, "
        f"which must exceed the filled {filled[0][2] if len(filled) > 1 else 0:g}"
    )
    assert rows(result) == [("buy", "limit", "filled", 10.0)]
    assert [o for o in result.working_orders if o.strategy_id == "S1"] == []


def test_a_cash_accounts_short_is_covered_in_full_even_when_the_cash_cannot_pay() -> None:
    """The cash-account cap never blocks buying back a short (closing risk goes through):
    a 100-unit short sold at 100 (cash 20,000) and covered at a 300 open pays 30,000, and
    the cash ends at -10,000, a debt, as README's cash-account row says. Capping the cover
    at the cash would have left 33 units short with no cash and no way out (noticed by
    the margin audit: the README said cash never goes below zero)."""
    from engine.strategy import Strategy
    from engine.testing import fills_of, make_bars, run_strategy

    class ShortThenCover(Strategy):
        def on_start(self, ctx: Context) -> None:
            self.bars = 0

        def on_bar(self, ctx: Context, bar: Any) -> None:
            self.bars += 1
            if self.bars == 1:
                ctx.order_target_percent(bar.symbol, -1.0)
            elif self.bars == 4:
                ctx.close_position(bar.symbol)

    bars = make_bars([100, 100, 130, 160, 200, 260, 300])
    bars.loc[bars.index[4], ["open", "high"]] = 300.0  # the cover's bar gaps up to 300
    result = run_strategy(ShortThenCover, bars, config={"account": {"allow_short": True}})
    assert [(f.side, f.quantity, f.price) for f in fills_of(result)] == [
        ("sell", 100.0, 100.0),
        ("buy", 100.0, 300.0),
    ]
    assert result.portfolio.positions["X"].quantity == 0.0
    assert result.portfolio.cash == -10_000.0
    assert result.metrics["equity_went_non_positive_at"] is not None
