"""Fee and slippage models."""

from __future__ import annotations

import pytest

from engine.execution import FixedBpsSlippage, PercentFeeModel
from engine.model import OrderSide


@pytest.mark.parametrize(
    ("rate", "quantity", "price", "expected"),
    [(0.001, 10.0, 50.0, 0.5), (0.0, 10.0, 50.0, 0.0), (0.0025, 0.4, 30_000.0, 30.0)],
)
def test_percent_fee(rate: float, quantity: float, price: float, expected: float) -> None:
    model = PercentFeeModel(rate)
    for liquidity in ("maker", "taker"):
        assert model.fee(quantity, price, liquidity) == pytest.approx(expected, abs=1e-12)
    assert model.sizing_rate == rate


@pytest.mark.parametrize(
    ("bps", "side", "expected"),
    [
        (10.0, OrderSide.BUY, 100.1),
        (10.0, OrderSide.SELL, 99.9),
        (2.5, OrderSide.BUY, 100.025),
        (0.0, OrderSide.BUY, 100.0),
        (0.0, OrderSide.SELL, 100.0),
    ],
)
def test_fixed_bps_slippage_moves_against_the_taker(
    bps: float, side: OrderSide, expected: float
) -> None:
    assert FixedBpsSlippage(bps).adjust(100.0, side) == pytest.approx(expected, abs=1e-12)
