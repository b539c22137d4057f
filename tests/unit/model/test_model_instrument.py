"""Instrument: tick/lot rounding and the validation of its venue rules."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from engine.model import Instrument


@pytest.mark.parametrize(
    ("tick", "price", "expected"),
    [
        (0.01, 100.006, 100.01),
        (0.01, 100.004, 100.0),
        (0.01, 0.1 + 0.2, 0.3),
        (0.5, 100.3, 100.5),
        (0.5, 100.2, 100.0),
        (0.25, 10.13, 10.25),
        (0.25, 10.12, 10.0),
        (1.0, 99.6, 100.0),
        (0.0001, 1.23456, 1.2346),
        (5.0, 1234.0, 1235.0),
    ],
)
def test_round_price_goes_to_the_nearest_tick(tick: float, price: float, expected: float) -> None:
    assert Instrument("X", tick_size=tick).round_price(price) == expected


@pytest.mark.parametrize(
    ("lot", "quantity", "expected"),
    [
        (0.1, 0.3, 0.3),  # 0.3 / 0.1 = 2.9999999999999996 in floats: still 3 lots
        (0.1, 0.29, 0.2),
        (0.1, -0.35, -0.3),  # toward zero for negatives too
        (1.0, 2.999999, 2.0),
        (1.0, 7.0, 7.0),
        (1.0, 0.99, 0.0),
        (0.001, 1.0009, 1.0),
        (1e-8, 0.123456789, 0.12345678),
        (0.00001, 0.7, 0.7),
        (25.0, 99.0, 75.0),
    ],
)
def test_round_quantity_goes_toward_zero_to_whole_lots(
    lot: float, quantity: float, expected: float
) -> None:
    assert Instrument("X", lot_size=lot).round_quantity(quantity) == expected


def test_round_quantity_never_grows_the_order() -> None:
    instrument = Instrument("X", lot_size=0.01)
    for k in range(1, 500):
        quantity = k * 0.0137
        rounded = instrument.round_quantity(quantity)
        assert rounded <= quantity + 1e-12
        assert quantity - rounded < 0.01 + 1e-12


def test_defaults() -> None:
    instrument = Instrument("GOOG")
    assert (instrument.quote_currency, instrument.tick_size, instrument.lot_size) == (
        "USD",
        0.01,
        1.0,
    )
    assert (instrument.min_quantity, instrument.min_notional) == (0.0, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tick_size": 0.0},
        {"tick_size": -0.01},
        {"tick_size": math.nan},
        {"tick_size": math.inf},
        {"lot_size": 0.0},
        {"lot_size": math.nan},
        {"min_quantity": -1.0},
        {"min_notional": -0.5},
        {"min_notional": math.inf},
    ],
)
def test_invalid_rules_raise_value_error_naming_the_field(kwargs: dict[str, float]) -> None:
    (name,) = kwargs
    with pytest.raises(ValueError, match=name):
        Instrument("X", **kwargs)


def test_instrument_is_frozen_and_compares_by_rules() -> None:
    a = Instrument("X", tick_size=0.5)
    assert a == Instrument("X", tick_size=0.5)
    assert a != Instrument("X", tick_size=0.25)
    with pytest.raises(AttributeError):
        a.tick_size = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("lot", "quantity", "expected"),
    [
        # many lots: the float-noise allowance must stay far below one lot
        (1e-8, 50_000.1234567899, 50_000.12345678),
        (1e-8, 1_000_000.0, 1_000_000.0),
        (1e-8, 123_456.78901234, 123_456.78901234),
        (1e-8, 99_999.99999999, 99_999.99999999),
        (1.0, 999_999_999_999_999.5, 999_999_999_999_999.0),
        (0.001, 12_345_678.9999, 12_345_678.999),
        # exact multiples stay put even when the division is inexact
        (1e-8, 0.00000003, 0.00000003),
        (0.1, 1234567.8, 1234567.8),
    ],
)
def test_round_quantity_never_rounds_up_by_a_lot_for_large_quantities(
    lot: float, quantity: float, expected: float
) -> None:
    rounded = Instrument("X", lot_size=lot).round_quantity(quantity)
    assert rounded == expected
    assert Instrument("X", lot_size=lot).round_quantity(-quantity) == -expected


@pytest.mark.parametrize("lot", [1e-8, 1e-5, 0.001, 0.1, 1.0, 25.0])
def test_round_quantity_stays_within_one_lot_below_at_every_magnitude(lot: float) -> None:
    rng = np.random.default_rng(7)
    instrument = Instrument("X", lot_size=lot)
    for quantity in 10.0 ** rng.uniform(-3, 9, 2_000):
        rounded = instrument.round_quantity(quantity)
        # never up by more than the float resolution of the quantity itself
        assert rounded <= quantity + max(2 * math.ulp(quantity), 1e-9 * lot)
        assert quantity - rounded < lot * (1 + 1e-9) + math.ulp(quantity)


def test_round_quantity_fast_path_gives_the_floats_of_round() -> None:
    """Lot sizes 10**-d divide instead of calling round(): bit for bit the same floats."""
    rng = random.Random(7)
    for lot in (1.0, 0.1, 0.01, 0.001, 0.0001, 1e-5, 1e-6, 1e-8, 0.5, 0.25, 10.0, 0.3):
        instrument = Instrument("X", lot_size=lot)
        for _ in range(5000):
            quantity = rng.choice(
                (
                    rng.uniform(0, 10),
                    rng.uniform(0, 1e7),
                    rng.random() * 1e-3,
                    rng.randrange(10**9) * lot,  # on the grid, give or take float noise
                    -rng.uniform(0, 1e4),
                )
            )
            assert instrument.round_quantity(quantity).hex() == _slow_round(instrument, quantity)
        assert instrument.round_quantity(-0.0).hex() == _slow_round(instrument, -0.0)


def _slow_round(instrument: Instrument, quantity: float) -> str:
    """`Instrument.round_quantity` as it was before its fast path, as float.hex()."""
    negative = quantity < 0.0
    exact = (-quantity if negative else quantity) / instrument.lot_size
    lots = round(exact)
    excess = lots - exact
    if excess > 1e-9 and excess > 1e-9 + math.ulp(exact):
        lots -= 1
    rounded = round(lots * instrument.lot_size, instrument._quantity_decimals)
    return (-rounded if negative else rounded).hex()


def test_round_quantity_of_whole_units_on_a_lot_of_one_is_the_same_float() -> None:
    """Whole units on a lot of 1 come back as they went in (risk re-rounds every order the
    context rounded already): the same float, its sign kept, never an int."""
    instrument = Instrument("X", lot_size=1.0)
    for quantity in (1.0, 7.0, 999.0, 123_456_789.0, 2.0**49, 2.0**52, 1e20):
        assert instrument.round_quantity(quantity) == quantity
        assert instrument.round_quantity(-quantity) == -quantity
    assert type(instrument.round_quantity(5)) is float  # an int in, a float out
    assert instrument.round_quantity(5) == 5.0
    assert math.copysign(1.0, instrument.round_quantity(-0.0)) == 1.0  # 0.0, not -0.0
    assert instrument.round_quantity(999.9999999) == 999.0
    assert instrument.round_quantity(998.9999999999999) == 999.0  # float noise below a lot
    assert instrument.round_quantity(0.5) == 0.0
