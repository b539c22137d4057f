"""Every indicator's binding, gathered from one module per TA-Lib group."""

from __future__ import annotations

from engine.indicators._binding import Binding
from engine.indicators.bindings import (
    candles,
    cycle,
    momentum,
    overlap,
    price,
    statistic,
    volatility,
    volume,
)

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
