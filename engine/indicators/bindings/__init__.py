"""Every indicator's binding, gathered from one module per TA-Lib group."""

from __future__ import annotations

from engine.indicators._binding import Binding
from engine.indicators.bindings import cycle, momentum, overlap

BINDINGS: dict[str, Binding] = {**overlap.BINDINGS, **momentum.BINDINGS, **cycle.BINDINGS}
