"""Every indicator's binding, gathered from one module per TA-Lib group."""

from __future__ import annotations

from engine.indicators._binding import Binding
from engine.indicators.bindings import (
    candles,
    momentum,
    overlap,
    price,
    statistic,
    volatility,
    volume,
)
from engine.indicators.families.cycle import binding as cycle

BINDINGS: dict[str, Binding] = {
    **overlap.BINDINGS,
    **momentum.BINDINGS,
    **cycle.BINDINGS,
    **statistic.BINDINGS,
    **volatility.BINDINGS,
    **volume.BINDINGS,
    **price.BINDINGS,
    **candles.BINDINGS,
}
