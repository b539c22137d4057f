"""The cash-account cap, hand-computed: (q × price + fee(q)) × fx must fit in the cash."""

from __future__ import annotations

import pytest

from engine.execution.caps import affordable_quantity
from engine.execution.models import PercentFeeModel, PerUnitFeeModel
from engine.model import Instrument

WHOLE = Instrument("A", lot_size=1.0)


@pytest.mark.parametrize(
    ("instrument", "fees", "cash", "position", "fx", "expected"),
    [
        # buying back a short of 10 is always allowed, even when cash pays none of it
        (WHOLE, PerUnitFeeModel(0.5), 100.0, -10.0, 1.0, 10.0),
        # ... and beyond it, what cash pays: (10 + k) x 10.5 <= 300 -> k = 18
        (WHOLE, PerUnitFeeModel(0.5), 300.0, -10.0, 1.0, 28.0),
        # 40 / 10.5 = 3.8 -> 3 lots, below the minimum quantity of 5: nothing
        (Instrument("A", lot_size=1.0, min_quantity=5.0), PerUnitFeeModel(0.5), 40.0, 0, 1, 0),
        # quote currency at 2 account units: 49 x 10 x 1.01 x 2 = 989.8 <= 1000 < 1010
        (WHOLE, PercentFeeModel(0.01), 1000.0, 0.0, 2.0, 49.0),
        # fine lots: 1000 / 10.5 = 95.238095... -> 95.238
        (Instrument("A", lot_size=0.001), PerUnitFeeModel(0.5), 1000.0, 0.0, 1.0, 95.238),
        # all of it when the cash pays the fee too: 100 x 10 + 100 x 0.0 = 1000
        (WHOLE, PerUnitFeeModel(0.0), 1000.0, 0.0, 1.0, 100.0),
    ],
)
def test_affordable_quantity(
    instrument: Instrument,
    fees: PercentFeeModel | PerUnitFeeModel,
    cash: float,
    position: float,
    fx: float,
    expected: float,
) -> None:
    got = affordable_quantity(
        instrument, fees, 100.0, 10.0, "taker", cash=cash, position=position, fx=fx
    )
    assert got == pytest.approx(expected, abs=1e-12)
    extra = got - min(got, max(-position, 0.0))
    if extra > 0:  # what goes beyond the cover is paid in full, fee included
        assert (got * 10.0 + fees.fee(got, 10.0, "taker")) * fx <= cash
