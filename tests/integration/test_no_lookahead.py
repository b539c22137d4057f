"""No look-ahead: cutting the data after bar k changes no decision made up to bar k.

Every shipped strategy (entry points in group ``kestrel.strategies``) runs on the full data
and on prefixes of it; the orders requested and the fills applied up to the cut must be
identical, field for field.
"""

from __future__ import annotations

import pytest

from engine.config import parse_config
from engine.feeds import BarFrame, load_bars
from engine.runtime import run_backtest
from engine.strategy import available_strategies
from tests.integration.conftest import REPO

CUTS = (200, 1_000, 2_500, 4_000)


@pytest.fixture(scope="module")
def btc() -> BarFrame:
    return load_bars(REPO / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv", symbol="BTC/USDT")


def run(name: str, frame: BarFrame) -> tuple[list[dict[str, object]], list[tuple[object, ...]]]:
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": "unused", "symbol": "BTC/USDT"}],
            "instruments": [{"symbol": "BTC/USDT", "lot_size": 0.00001}],
            "strategy": {"path": name},
            "execution": {"slippage_bps": 2.0},
        }
    )
    result = run_backtest(config, frames=[frame])
    orders = list(result.recorder.orders.values())
    fills = [tuple(fill) for fill in result.recorder.fills]
    return orders, fills


@pytest.mark.parametrize("name", sorted(available_strategies()))
def test_truncating_data_changes_no_earlier_decision(name: str, btc: BarFrame) -> None:
    full_orders, full_fills = run(name, btc)
    assert full_orders, "the strategy must trade for this test to mean anything"
    for cut in CUTS:
        seen_until = int(btc.ts_close_ns[cut - 1])
        orders, fills = run(name, btc.head(cut))
        expected = [o for o in full_orders if int(o["ts_requested"]) <= seen_until]  # type: ignore[call-overload]
        decided = [o for o in orders if int(o["ts_requested"]) <= seen_until]  # type: ignore[call-overload]
        # status of an order placed on the last bar differs (it cannot fill without a next bar)
        strip = {"status", "filled_quantity", "average_fill_price", "fees", "ts_last", "reason"}
        assert [{k: v for k, v in o.items() if k not in strip} for o in decided] == [
            {k: v for k, v in o.items() if k not in strip} for o in expected
        ]
        assert fills == [f for f in full_fills if f[-1] <= seen_until]
