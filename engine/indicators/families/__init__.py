"""Indicator families: one package per TA-Lib group, each holding kernels, streams and binding.

:data:`BINDINGS` gathers every family's ``binding.BINDINGS`` (name -> :class:`Binding`); the
registry joins it with TA-Lib's catalogue. Adding an indicator to an existing family does
not touch this module; see :mod:`engine.indicators` for the layout and the steps.
"""

from __future__ import annotations

from engine.indicators._binding import Binding
from engine.indicators.families.candles import binding as candles
from engine.indicators.families.cycle import binding as cycle
from engine.indicators.families.momentum import binding as momentum
from engine.indicators.families.overlap import binding as overlap
from engine.indicators.families.price import binding as price
from engine.indicators.families.statistic import binding as statistic
from engine.indicators.families.volatility import binding as volatility
from engine.indicators.families.volume import binding as volume

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
