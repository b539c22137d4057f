"""Bindings for TA-Lib's "Volume Indicators" group."""

from __future__ import annotations

from collections.abc import Sequence

from engine.indicators import composite as co
from engine.indicators._binding import Binding, constant, ints, matype, memory_of, period_minus
from engine.indicators._common import FloatArray, Params
from engine.indicators.families.volume import kernels as vm
from engine.indicators.families.volume.streams import RvolStream
from engine.indicators.streams_shared import (
    ElementwiseStream,
    EmaOfStream,
    FlowRatioStream,
    LineStream,
    price_oscillator_stream,
)


def _tp(p: Params) -> int:
    return int(p["timeperiod"])


def _pvo_lookback(p: Params) -> int:
    return int(co.ma_lookback(max(ints(p, "fastperiod", "slowperiod")), matype(p, "matype", 1)))


def _pvo(a: Sequence[FloatArray], p: Params) -> tuple[FloatArray, ...]:
    fast, slow = ints(p, "fastperiod", "slowperiod")
    return (co.po(a[0], fast, slow, matype(p, "matype", 1), True),)


BINDINGS: dict[str, Binding] = {
    "ad": Binding(
        lambda a, p: (vm.ad(a[0], a[1], a[2], a[3]),), constant(0), "cumulative", LineStream
    ),
    "adosc": Binding(
        lambda a, p: (vm.adosc(a[0], a[1], a[2], a[3], *ints(p, "fastperiod", "slowperiod")),),
        lambda p: max(ints(p, "fastperiod", "slowperiod")) - 1,
        "history",
        stream=LineStream,
    ),
    "cmf": Binding(
        lambda a, p: (vm.cmf(a[0], a[1], a[2], a[3], _tp(p)),),
        period_minus(1),
        stream=FlowRatioStream,
    ),
    "efi": Binding(
        lambda a, p: (vm.efi(a[0], a[1], _tp(p)),), period_minus(0), "history", EmaOfStream
    ),
    "marketfi": Binding(
        lambda a, p: (vm.marketfi(a[0], a[1], a[2]),), constant(0), stream=ElementwiseStream
    ),
    "nvi": Binding(
        lambda a, p: (vm.volume_index(a[0], a[1], False),),
        constant(0),
        "cumulative",
        stream=LineStream,
    ),
    "pvi": Binding(
        lambda a, p: (vm.volume_index(a[0], a[1], True),), constant(0), "cumulative", LineStream
    ),
    "obv": Binding(lambda a, p: (vm.obv(a[0], a[1]),), constant(0), "cumulative", LineStream),
    "pvt": Binding(lambda a, p: (vm.pvt(a[0], a[1]),), constant(0), "cumulative", LineStream),
    "pvo": Binding(
        _pvo,
        _pvo_lookback,
        memory_of(("matype", 1)),
        price_oscillator_stream,
    ),
    "rvol": Binding(lambda a, p: (vm.rvol(a[0], _tp(p)),), period_minus(0), stream=RvolStream),
    "vwap": Binding(
        lambda a, p: (vm.vwap(a[0], a[1], a[2], a[3]),), constant(0), "cumulative", LineStream
    ),
}
