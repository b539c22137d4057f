"""Bindings for TA-Lib's "Overlap Studies" group.

Loaded the first time an overlap indicator is computed or streamed (``families/__init__``).
Kernels of other families (the ATR behind KC and SUPERTREND, MAMA's Hilbert transform)
are imported inside the functions that call them, so that a run of moving averages loads
this family's kernels only (``tests/unit/test_import_cost.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from engine.indicators import composite as co
from engine.indicators._binding import (
    Binding,
    constant,
    ints,
    matype,
    memory_of,
    period_kernel,
    period_minus,
)
from engine.indicators._common import FloatArray, Params
from engine.indicators.families.cycle.streams import HilbertStream
from engine.indicators.families.overlap import kernels as ov
from engine.indicators.families.overlap import kernels_ma as ma
from engine.indicators.families.overlap import kernels_sar as sr
from engine.indicators.families.overlap.streams import (
    AccbandsStream,
    BbandsStream,
    ChainStream,
    EmaStream,
    KamaStream,
    KcStream,
    RmaStream,
    SarStream,
    SmaStream,
    SupertrendStream,
    WmaStream,
)
from engine.indicators.streaming import StreamingIndicator
from engine.indicators.streams_shared import (
    CascadeStream,
    EmaOfStream,
    ExtremeStream,
    FlowRatioStream,
    RangeStream,
)

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

A = Sequence[FloatArray]
Out = tuple[FloatArray, ...]


def _tp(p: Params) -> int:
    return int(p["timeperiod"])


def _ma(a: A, p: Params) -> Out:
    return (co.ma(a[0], int(p["timeperiod"]), matype(p, "matype", 0), 0),)


def _ma_lookback(p: Params) -> int:
    return int(co.ma_lookback(int(p["timeperiod"]), matype(p, "matype", 0)))


def _ma_stream(spec: StreamSpec, p: Params) -> StreamingIndicator | None:
    # The common MA types stream in O(1); the others use the generic engines.
    kind = matype(p, "matype", 0)
    if int(p["timeperiod"]) > 1 and kind in _MA_STREAMS:
        return _MA_STREAMS[kind](spec, p)
    return None


_MA_STREAMS: dict[int, Callable[[StreamSpec, Params], StreamingIndicator]] = {
    co.SMA: SmaStream,
    co.EMA: EmaStream,
    co.WMA: WmaStream,
    co.WILDER: RmaStream,
}


def _bbands(a: A, p: Params) -> Out:
    kind = matype(p, "matype", 0)
    return co.bbands(a[0], int(p["timeperiod"]), p["nbdevup"], p["nbdevdn"], kind)


def _bbands_stream(spec: StreamSpec, p: Params) -> StreamingIndicator | None:
    # Around an SMA (the default) BBANDS streams in O(1); other MA types use the generic
    # engines.
    if matype(p, "matype", 0) == co.SMA and int(p["timeperiod"]) > 1:
        return BbandsStream(spec, p)
    return None


def _bbands_lookback(p: Params) -> int:
    period = int(p["timeperiod"])
    return max(int(co.ma_lookback(period, matype(p, "matype", 0))), period - 1)


def _t3(a: A, p: Params) -> Out:
    return (ma.t3(a[0], int(p["timeperiod"]), float(p["vfactor"]), 0),)


def _hma_lookback(p: Params) -> int:
    return int(co.ma_lookback(int(p["timeperiod"]), 9))


def _zlema_lookback(p: Params) -> int:
    return int(co.ma_lookback(int(p["timeperiod"]), 12))


def _kc(a: A, p: Params) -> Out:
    from engine.indicators.families.overlap import kernels_atr

    period, atr_period = ints(p, "timeperiod", "atrperiod")
    return kernels_atr.kc(a[0], a[1], a[2], period, atr_period, float(p["nbdev"]))


def _kc_lookback(p: Params) -> int:
    return max(int(p["timeperiod"]) - 1, max(int(p["atrperiod"]), 1))


def _supertrend(a: A, p: Params) -> Out:
    from engine.indicators.families.overlap import kernels_atr

    return kernels_atr.supertrend(a[0], a[1], a[2], int(p["timeperiod"]), float(p["multiplier"]))


def _mavp(a: A, p: Params) -> Out:
    low, high = ints(p, "minperiod", "maxperiod")
    return (co.mavp(a[0], a[1], low, high, matype(p, "matype", 0)),)


def _mavp_lookback(p: Params) -> int:
    return int(co.ma_lookback(int(p["maxperiod"]), matype(p, "matype", 0)))


def _mama(a: A, p: Params) -> Out:
    from engine.indicators.families.cycle import kernels as cy

    return cy.mama(a[0], float(p["fastlimit"]), float(p["slowlimit"]), 0)


def _sar(name: str) -> Callable[[A, Params], Out]:
    def run(a: A, p: Params) -> Out:
        return (sr.sarext(a[0], a[1], sr.sar_arguments(name, p)),)

    return run


BINDINGS: dict[str, Binding] = {
    "sma": Binding(period_kernel(ma.sma), period_minus(1), stream=SmaStream),
    "ema": Binding(period_kernel(ma.ema), period_minus(1), "history", stream=EmaStream),
    "rma": Binding(period_kernel(ma.rma), period_minus(1), "history", stream=RmaStream),
    "wma": Binding(period_kernel(ma.wma), period_minus(1), stream=WmaStream),
    "dema": Binding(period_kernel(ma.dema), lambda p: 2 * (_tp(p) - 1), "history", CascadeStream),
    "tema": Binding(period_kernel(ma.tema), lambda p: 3 * (_tp(p) - 1), "history", CascadeStream),
    "trima": Binding(period_kernel(ma.trima), period_minus(1), stream=ChainStream),
    "kama": Binding(
        period_kernel(ma.kama), lambda p: 0 if _tp(p) <= 1 else _tp(p), "history", KamaStream
    ),
    "t3": Binding(_t3, lambda p: 6 * (_tp(p) - 1), "history", CascadeStream),
    "hma": Binding(period_kernel(ma.hma), _hma_lookback, stream=ChainStream),
    "zlema": Binding(period_kernel(ma.zlema), _zlema_lookback, "history", EmaOfStream),
    "ma": Binding(_ma, _ma_lookback, memory_of(("matype", 0)), _ma_stream),
    "bbands": Binding(_bbands, _bbands_lookback, memory_of(("matype", 0)), _bbands_stream),
    "midpoint": Binding(
        lambda a, p: (ov.midpoint(a[0], int(p["timeperiod"])),),
        period_minus(1),
        stream=ExtremeStream,
    ),
    "midprice": Binding(
        lambda a, p: (ov.midprice(a[0], a[1], int(p["timeperiod"])),),
        period_minus(1),
        stream=ExtremeStream,
    ),
    "donchian": Binding(
        lambda a, p: ov.donchian(a[0], a[1], int(p["timeperiod"])),
        period_minus(1),
        stream=RangeStream,
    ),
    "accbands": Binding(
        lambda a, p: ov.accbands(a[0], a[1], a[2], int(p["timeperiod"])),
        period_minus(1),
        stream=AccbandsStream,
    ),
    "kc": Binding(_kc, _kc_lookback, "history", KcStream),
    "supertrend": Binding(
        _supertrend, lambda p: max(int(p["timeperiod"]), 1), "history", SupertrendStream
    ),
    "vwma": Binding(
        lambda a, p: (ov.vwma(a[0], a[1], int(p["timeperiod"])),),
        period_minus(1),
        stream=FlowRatioStream,
    ),
    "mavp": Binding(_mavp, _mavp_lookback, memory_of(("matype", 0))),
    "mama": Binding(_mama, constant(co.MAMA_LOOKBACK), "history", HilbertStream),
    "sar": Binding(_sar("sar"), constant(1), "path", SarStream),
    "sarext": Binding(_sar("sarext"), constant(1), "path", SarStream),
}
