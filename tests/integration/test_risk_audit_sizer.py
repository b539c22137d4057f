"""Sizer settings that never traded, and said nothing.

Symbol X (lot 1, flat bars at 100), cash 10,000.
"""

from __future__ import annotations

import pytest

from engine import parse_config
from engine.errors import ConfigError
from tests.integration.scripted_run import FLAT, denied, fills, run


def test_fixed_fraction_one_reserves_fee_and_slippage_on_a_cash_account() -> None:
    # 1.0 x 10,000 / 100 = 100 X cost 10,010 with a 0.1 % fee: the cash check denied the
    # entry every time; reserved as order_target_percent(1.0) does: 10,000 / (100 x 1.001)
    # = 99.9 -> 99
    result = run(
        [FLAT] * 4,
        {1: [lambda ctx: ctx.order_target_signal("X", 1.0)]},
        execution={"fee_rate": 0.001},
        risk={"sizer": {"kind": "fixed_fraction", "fraction": 1.0}},
    )
    assert denied(result) == []
    assert fills(result) == [("buy", 100.0, 99.0)]


def test_fixed_fraction_reserves_slippage_too() -> None:
    # 10,000 / (100 x (1 + 0.001 + 0.01)) = 98.9 -> 98 (fee and 100 bps of slippage reserved)
    result = run(
        [FLAT] * 4,
        {1: [lambda ctx: ctx.order_target_signal("X", 1.0)]},
        execution={"fee_rate": 0.001, "slippage_bps": 100.0},
        risk={"sizer": {"kind": "fixed_fraction", "fraction": 1.0}},
    )
    assert denied(result) == []
    assert [quantity for _, _, quantity in fills(result)] == [98.0]


def test_a_fixed_quantity_below_the_lot_is_refused() -> None:
    config = {
        "data": [{"path": "x.csv", "symbol": "BTC/USDT"}],
        "instruments": [{"symbol": "BTC/USDT", "lot_size": 1e-5}],
        "strategy": {"path": "s"},
        "risk": {"sizer": {"kind": "fixed_quantity", "quantity": 1e-6}},
    }
    with pytest.raises(ConfigError) as raised:
        parse_config(config)
    assert str(raised.value) == (
        "risk.sizer: quantity 1e-06 is below the lot size 1e-05 of BTC/USDT: every size "
        "would round to 0"
    )
    config["risk"] = {"sizer": {"kind": "fixed_quantity", "quantity": 1e-5}}
    assert parse_config(config).risk.sizer is not None
