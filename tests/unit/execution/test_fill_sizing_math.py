"""`engine.execution.fill_sizing`: the arithmetic of sizing at the fill, by hand."""

from __future__ import annotations

import pytest

from engine.execution.fill_sizing import FillAt, equity_at_fill, quantity_at_fill, target_quantity
from engine.execution.models import PercentFeeModel, PerUnitFeeModel
from engine.model import Instrument

SHARES = Instrument("X", quote_currency="USD", tick_size=0.01, lot_size=1.0)


def test_an_exact_fit_is_not_lost_to_float_noise() -> None:
    # equity = 7 × 99.99 × 1.001 (700.6299299999998 in floats): the division gives
    # 6.999999999999999, still 7 shares, and their cost plus fee is the equity.
    equity = 7 * 99.99 * 1.001
    assert equity / (99.99 * 1.001) < 7  # the noise this test is about
    fee = PercentFeeModel(0.001)
    quantity = target_quantity(
        1.0, equity, 99.99, 1.0, 0.001, SHARES, fee=lambda q: fee.fee(q, 99.99, "taker")
    )
    assert quantity == 7.0


def test_short_and_partial_fractions() -> None:
    assert target_quantity(-0.5, 10_000.0, 80.0, 1.0, 0.0, SHARES) == -62.0  # 5,000 / 80
    assert target_quantity(1.0, 10_000.0, 80.0, 1.25, 0.0, SHARES) == 100.0  # 10,000 / 100
    assert target_quantity(1.0, 0.0, 80.0, 1.0, 0.0, SHARES) == 0.0  # nothing to size


def test_equity_marks_the_filled_symbol_at_the_fill_and_others_at_their_close() -> None:
    # cash 1,000; X: 10 at the fill price 90 (rate 1.1 at the fill time); Y: -5 at its
    # last close 200 (rate 1): 1,000 + 990 − 1,000 = 990.
    rates = {"X": 1.1, "Y": 1.0}
    equity = equity_at_fill(
        1_000.0,
        {"X": 10.0, "Y": -5.0, "Z": 0.0},
        {"X": 100.0, "Y": 200.0},  # Z has no price yet: it holds nothing, so no NaN
        lambda symbol, ts: rates[symbol],
        "X",
        90.0,
        0,
    )
    assert equity == pytest.approx(990.0)


def test_per_unit_minimum_is_paid_for_out_of_the_budget() -> None:
    # minimum fee 50 per fill, 0.01 per share: 1,000 / 10 × 1.001 = 99 shares would cost
    # 990 + 50 = 1,040 > 1,000: floor((1,000 − 50) / 10) = 95 shares, 950 + 50 = 1,000.
    fee = PerUnitFeeModel(0.01, minimum=50.0)
    wanted, reason = quantity_at_fill(
        1.0, True, 1_000.0, {"X": 0.0}, {}, None, FillAt("X", 10.0, 0, "taker"), fee, SHARES
    )
    assert (wanted, reason) == (95.0, "")


def test_a_buy_whose_target_is_already_held_fills_nothing() -> None:
    fee = PercentFeeModel(0.0)
    wanted, reason = quantity_at_fill(
        0.5, True, 0.0, {"X": 10.0}, {}, None, FillAt("X", 100.0, 0, "taker"), fee, SHARES
    )
    # equity 10 × 100 = 1,000; target 0.5 × 1,000 / 100 = 5 < 10 held: a buy never sells
    assert wanted == 0.0
    assert reason == "target reached at fill: 0.5 of equity 1000.00 at 100 is 5, the position is 10"
