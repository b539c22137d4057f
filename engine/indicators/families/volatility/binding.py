"""Bindings for TA-Lib's "Volatility Indicators" group."""

from __future__ import annotations

from engine.indicators._binding import Binding, constant, ints, period_minus
from engine.indicators._common import Params
from engine.indicators.families.volatility import kernels as vo
from engine.indicators.families.volatility.streams import (
    AtrStream,
    RangeEmaStream,
    RviStream,
    TrangeStream,
)
from engine.indicators.streams_shared import DifferenceSmaStream


def _tp(p: Params) -> int:
    return int(p["timeperiod"])


BINDINGS: dict[str, Binding] = {
    "trange": Binding(
        lambda a, p: (vo.trange(a[0], a[1], a[2], 0),), constant(1), stream=TrangeStream
    ),
    "atr": Binding(
        lambda a, p: (vo.atr(a[0], a[1], a[2], _tp(p), 0),),
        lambda p: max(_tp(p), 1),
        "history",
        stream=AtrStream,
    ),
    "natr": Binding(
        lambda a, p: (vo.natr(a[0], a[1], a[2], _tp(p)),),
        lambda p: max(_tp(p), 1),
        "history",
        stream=AtrStream,
    ),
    "adr": Binding(
        lambda a, p: (vo.adr(a[0], a[1], _tp(p)),), period_minus(1), stream=DifferenceSmaStream
    ),
    "cvi": Binding(
        lambda a, p: (vo.cvi(a[0], a[1], *ints(p, "timeperiod", "rocperiod")),),
        lambda p: _tp(p) - 1 + int(p["rocperiod"]),
        "history",
        RangeEmaStream,
    ),
    "massi": Binding(
        lambda a, p: (vo.massi(a[0], a[1], *ints(p, "fastperiod", "slowperiod")),),
        lambda p: 2 * (int(p["fastperiod"]) - 1) + int(p["slowperiod"]) - 1,
        "history",
        RangeEmaStream,
    ),
    "rvi": Binding(
        lambda a, p: (vo.rvi(a[0], *ints(p, "timeperiod", "stddevperiod")),),
        lambda p: int(p["stddevperiod"]) - 1 + _tp(p) - 1,
        "history",
        RviStream,
    ),
}
