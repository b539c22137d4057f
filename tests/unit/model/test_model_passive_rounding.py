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


@pytest.mark.parametrize(
    ("price", "up", "expected"),
    [
        (32_996.749995, False, 32_996.74),  # 0.0005 tick off the grid: a real price, floored
        (32_996.740005, True, 32_996.75),  # and ceiled
        (32_996.75, False, 32_996.75),  # on the grid
        (329_967_499 * 0.01, True, 3_299_674.99),  # float noise at 3.3e8 ticks: on the grid
        (0.29 + 0.01, False, 0.3),  # 0.30000000000000004: float noise
    ],
)
def test_the_on_grid_allowance_is_float_noise_not_a_share_of_the_price(
    price: float, up: bool, expected: float
) -> None:
    """Found by an audit: the allowance was 1e-9 of the tick count, 0.0033 tick at 33,000
    on a 0.01 tick, so a sell slipped to 32,996.749995 filled at 32,996.75, not .74."""
    assert Instrument("X", tick_size=0.01).round_price_passive(price, up) == expected
