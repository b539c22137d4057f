"""Bindings for TA-Lib's "Momentum Indicators" group."""

from __future__ import annotations

from engine.indicators import kernels_momentum as mo
from engine.indicators._binding import Binding
from engine.indicators.bindings._helpers import period_kernel, period_minus
from engine.indicators.streaming_core import RsiStream

BINDINGS: dict[str, Binding] = {
    "rsi": Binding(period_kernel(mo.rsi), period_minus(0), "history", stream=RsiStream),
}
