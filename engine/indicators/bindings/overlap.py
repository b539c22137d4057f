"""Bindings for TA-Lib's "Overlap Studies" group."""

from __future__ import annotations

from engine.indicators import kernels_ma as ma
from engine.indicators._binding import Binding
from engine.indicators.bindings._helpers import period_kernel, period_minus
from engine.indicators.streaming_core import EmaStream, RmaStream, SmaStream

BINDINGS: dict[str, Binding] = {
    "sma": Binding(period_kernel(ma.sma), period_minus(1), stream=SmaStream),
    "ema": Binding(period_kernel(ma.ema), period_minus(1), "history", stream=EmaStream),
    "rma": Binding(period_kernel(ma.rma), period_minus(1), "history", stream=RmaStream),
    "wma": Binding(period_kernel(ma.wma), period_minus(1)),
}
