"""Passive tick rounding: never more aggressive than the price asked for."""

from __future__ import annotations

import pytest

from engine.model import Instrument


@pytest.mark.parametrize(
    ("price", "up", "expected"),
    [
        (99.996, False, 99.99),  # buy limit: down
        (99.991, True, 100.0),  # sell limit: up... to the next tick
        (99.991, False, 99.99),
        (100.0, True, 100.0),  # on the grid: unchanged either way
        (100.0, False, 100.0),
        (0.3, True, 0.3),  # 0.3 / 0.01 is 29.999999999999996: float noise, not a tick
        (0.3, False, 0.3),
    ],
)
def test_round_price_passive(price: float, up: bool, expected: float) -> None:
    assert Instrument("X", tick_size=0.01).round_price_passive(price, up) == expected


def test_coarse_tick() -> None:
    instrument = Instrument("X", tick_size=0.5)
    assert instrument.round_price_passive(50.3, up=True) == 50.5
    assert instrument.round_price_passive(50.3, up=False) == 50.0


@pytest.mark.parametrize(
    ("price", "buy", "stop", "expected"),
    [
        (97.997, True, False, 97.99),  # buy limit: down (never pay more)
        (97.997, False, False, 98.0),  # sell limit: up (never receive less)
        (97.997, True, True, 98.0),  # buy stop: up (never trigger earlier)
        (97.997, False, True, 97.99),  # sell stop: down
        (98.0, False, True, 98.0),  # on the grid: unchanged
    ],
)
def test_round_order_price_is_passive_by_side_and_kind(
    price: float, buy: bool, stop: bool, expected: float
) -> None:
    assert Instrument("X", tick_size=0.01).round_order_price(price, buy, stop=stop) == expected
