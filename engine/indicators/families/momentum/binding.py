"""Bindings for TA-Lib's "Momentum Indicators" group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.indicators import composite as co
from engine.indicators._binding import Binding, constant, ints, matype, memory_of, period_minus
from engine.indicators._common import FloatArray, Params
from engine.indicators.families.momentum import kernels as mo
from engine.indicators.families.momentum import kernels_directional as di
from engine.indicators.families.momentum import kernels_oscillators as osc
from engine.indicators.families.momentum.streams import (
    ChangeSumStream,
    CoppockStream,
    DirectionalStream,
    DmStream,
    DpoStream,
    FoscStream,
    LagStream,
    MacdStream,
    RsiStream,
    TsiStream,
)
from engine.indicators.families.momentum.streams_range import (
    AroonStream,
    AwesomeStream,
    UltoscStream,
    WindowSumsStream,
)
from engine.indicators.families.momentum.streams_stoch import (
    SmiStream,
    macdext_stream,
    stoch_stream,
    stochf_stream,
    stochrsi_stream,
)
from engine.indicators.streaming import StreamingIndicator
from engine.indicators.streams_shared import (
    CascadeStream,
    DifferenceSmaStream,
    ElementwiseStream,
    EmaOfStream,
    LineStream,
    RangeStream,
    price_oscillator_stream,
)

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec

A = Sequence[FloatArray]
Out = tuple[FloatArray, ...]


def _tp(p: Params) -> int:
    return int(p["timeperiod"])


def _change(mode: int) -> Binding:
    return Binding(lambda a, p: (mo.change(a[0], _tp(p), mode),), period_minus(0), stream=LagStream)


def _po(percent: bool, default: int) -> Binding:
    def run(a: A, p: Params) -> Out:
        fast, slow = ints(p, "fastperiod", "slowperiod")
        return (co.po(a[0], fast, slow, matype(p, "matype", default), percent),)

    def lookback(p: Params) -> int:
        period = max(ints(p, "fastperiod", "slowperiod"))
        return int(co.ma_lookback(period, matype(p, "matype", default)))

    return Binding(run, lookback, memory_of(("matype", default)), price_oscillator_stream)


def _macd(a: A, p: Params) -> Out:
    fast, slow, signal = ints(p, "fastperiod", "slowperiod", "signalperiod")
    return mo.macd(a[0], fast, slow, signal, False)


def _macd_lookback(p: Params) -> int:
    fast, slow, signal = ints(p, "fastperiod", "slowperiod", "signalperiod")
    return max(fast, slow) - 1 + signal - 1


def _macdext_args(p: Params) -> tuple[int, int, int, int, int, int]:
    fast, slow, signal = ints(p, "fastperiod", "slowperiod", "signalperiod")
    fast_type = matype(p, "fastmatype", 0)
    slow_type = matype(p, "slowmatype", 0)
    return fast, fast_type, slow, slow_type, signal, matype(p, "signalmatype", 0)


def _macdext(a: A, p: Params) -> Out:
    return co.macdext(a[0], *_macdext_args(p))


def _macdext_lookback(p: Params) -> int:
    fast, fast_type, slow, slow_type, signal, signal_type = _macdext_args(p)
    largest = max(int(co.ma_lookback(fast, fast_type)), int(co.ma_lookback(slow, slow_type)))
    return largest + int(co.ma_lookback(signal, signal_type))


def _stoch_args(p: Params, default: int) -> tuple[int, int, int, int, int]:
    k, slow_k, slow_d = ints(p, "fastk_period", "slowk_period", "slowd_period")
    return k, slow_k, matype(p, "slowk_matype", default), slow_d, matype(p, "slowd_matype", default)


def _stoch_lookback(default: int) -> Binding:
    def run(a: A, p: Params) -> Out:
        fn = co.stoch if default == 0 else co.kdj
        return fn(a[0], a[1], a[2], *_stoch_args(p, default))

    def lookback(p: Params) -> int:
        k, slow_k, k_type, slow_d, d_type = _stoch_args(p, default)
        return k - 1 + int(co.ma_lookback(slow_k, k_type)) + int(co.ma_lookback(slow_d, d_type))

    memory = memory_of(("slowk_matype", default), ("slowd_matype", default))
    return Binding(run, lookback, memory, stoch_stream)


def _stochf(a: A, p: Params) -> Out:
    k, d = ints(p, "fastk_period", "fastd_period")
    return co.stochf(a[0], a[1], a[2], k, d, matype(p, "fastd_matype", 0))


def _stochf_lookback(p: Params) -> int:
    k, d = ints(p, "fastk_period", "fastd_period")
    return k - 1 + int(co.ma_lookback(d, matype(p, "fastd_matype", 0)))


def _stochrsi(a: A, p: Params) -> Out:
    period, k, d = ints(p, "timeperiod", "fastk_period", "fastd_period")
    return co.stochrsi(a[0], period, k, d, matype(p, "fastd_matype", 0))


def _stochrsi_lookback(p: Params) -> int:
    return _tp(p) + _stochf_lookback(p)


def _smi(a: A, p: Params) -> Out:
    period, fast, slow, signal = ints(p, "timeperiod", "fastperiod", "slowperiod", "signalperiod")
    return osc.smi(a[0], a[1], a[2], period, fast, slow, signal)


def _smi_lookback(p: Params) -> int:
    period, fast, slow, signal = ints(p, "timeperiod", "fastperiod", "slowperiod", "signalperiod")
    return period - 1 + slow - 1 + fast - 1 + signal - 1


def _ultosc(a: A, p: Params) -> Out:
    p1, p2, p3 = ints(p, "timeperiod1", "timeperiod2", "timeperiod3")
    return (osc.ultosc(a[0], a[1], a[2], p1, p2, p3),)


def _coppock(a: A, p: Params) -> Out:
    w, r1, r2 = ints(p, "wmaperiod", "roc1period", "roc2period")
    return (mo.coppock(a[0], w, r1, r2),)


def _coppock_lookback(p: Params) -> int:
    w, r1, r2 = ints(p, "wmaperiod", "roc1period", "roc2period")
    return max(r1, r2) + w - 1


def _di_stream(spec: StreamSpec, p: Params) -> StreamingIndicator | None:
    # Period 1 has no smoothing and a one-bar memory: the window engine is exact there.
    return DirectionalStream(spec, p) if _tp(p) > 1 else None


def _di_memory(p: Params) -> str:
    return "window" if _tp(p) <= 1 else "history"


def _di(plus: bool) -> Binding:
    return Binding(
        lambda a, p: (di.di(a[0], a[1], a[2], _tp(p), plus),),
        lambda p: max(_tp(p), 1),
        _di_memory,
        _di_stream,
    )


def _dm(plus: bool) -> Binding:
    return Binding(
        lambda a, p: (di.dm(a[0], a[1], _tp(p), plus),),
        lambda p: max(_tp(p) - 1, 1),
        "history",
        DmStream,
    )


BINDINGS: dict[str, Binding] = {
    "rsi": Binding(lambda a, p: (mo.rsi(a[0], _tp(p), 0),), period_minus(0), "history", RsiStream),
    "cmo": Binding(lambda a, p: (mo.cmo(a[0], _tp(p)),), period_minus(0), "history", RsiStream),
    "cmou": Binding(lambda a, p: (mo.cmou(a[0], _tp(p)),), period_minus(0), stream=ChangeSumStream),
    "mom": _change(0),
    "roc": _change(1),
    "rocp": _change(2),
    "rocr": _change(3),
    "rocr100": _change(4),
    "apo": _po(False, 1),
    "ppo": _po(True, 1),
    "macd": Binding(_macd, _macd_lookback, "history", stream=MacdStream),
    "macdfix": Binding(
        lambda a, p: mo.macd(a[0], 12, 26, int(p["signalperiod"]), True),
        lambda p: 25 + int(p["signalperiod"]) - 1,
        "history",
        stream=MacdStream,
    ),
    "macdext": Binding(
        _macdext,
        _macdext_lookback,
        memory_of(("fastmatype", 0), ("slowmatype", 0), ("signalmatype", 0)),
        macdext_stream,
    ),
    "trix": Binding(
        lambda a, p: (mo.trix(a[0], _tp(p)),),
        lambda p: 3 * (_tp(p) - 1) + 1,
        "history",
        stream=CascadeStream,
    ),
    "tsi": Binding(
        lambda a, p: (mo.tsi(a[0], *ints(p, "firstperiod", "secondperiod")),),
        lambda p: sum(ints(p, "firstperiod", "secondperiod")) - 1,
        "history",
        TsiStream,
    ),
    "ao": Binding(
        lambda a, p: (mo.ao(a[0], a[1], *ints(p, "fastperiod", "slowperiod")),),
        lambda p: max(ints(p, "fastperiod", "slowperiod")) - 1,
        stream=AwesomeStream,
    ),
    "ac": Binding(
        lambda a, p: (mo.ac(a[0], a[1], *ints(p, "fastperiod", "slowperiod", "signalperiod")),),
        lambda p: max(ints(p, "fastperiod", "slowperiod")) + int(p["signalperiod"]) - 2,
        stream=AwesomeStream,
    ),
    "coppock": Binding(_coppock, _coppock_lookback, stream=CoppockStream),
    "dpo": Binding(
        lambda a, p: (mo.dpo(a[0], _tp(p)),),
        lambda p: max(_tp(p) - 1, _tp(p) // 2 + 1),
        stream=DpoStream,
    ),
    "er": Binding(lambda a, p: (mo.er(a[0], _tp(p)),), period_minus(0), stream=ChangeSumStream),
    "eri": Binding(
        lambda a, p: mo.eri(a[0], a[1], a[2], _tp(p)), period_minus(1), "history", EmaOfStream
    ),
    "fosc": Binding(lambda a, p: (mo.fosc(a[0], _tp(p)),), period_minus(0), stream=FoscStream),
    "bop": Binding(
        lambda a, p: (osc.bop(a[0], a[1], a[2], a[3]),), constant(0), stream=ElementwiseStream
    ),
    "cci": Binding(lambda a, p: (osc.cci(a[0], a[1], a[2], _tp(p)),), period_minus(1)),
    "mfi": Binding(
        lambda a, p: (osc.mfi(a[0], a[1], a[2], a[3], _tp(p)),),
        period_minus(0),
        stream=WindowSumsStream,
    ),
    "stoch": _stoch_lookback(0),
    "kdj": _stoch_lookback(13),
    "stochf": Binding(_stochf, _stochf_lookback, memory_of(("fastd_matype", 0)), stochf_stream),
    "stochrsi": Binding(_stochrsi, _stochrsi_lookback, "history", stochrsi_stream),
    "willr": Binding(
        lambda a, p: (osc.willr(a[0], a[1], a[2], _tp(p)),), period_minus(1), stream=RangeStream
    ),
    "ultosc": Binding(
        _ultosc,
        lambda p: max(ints(p, "timeperiod1", "timeperiod2", "timeperiod3")),
        stream=UltoscStream,
    ),
    "imi": Binding(
        lambda a, p: (osc.imi(a[0], a[1], _tp(p)),), period_minus(1), stream=ChangeSumStream
    ),
    "qstick": Binding(
        lambda a, p: (osc.qstick(a[0], a[1], _tp(p)),), period_minus(1), stream=DifferenceSmaStream
    ),
    "vhf": Binding(lambda a, p: (osc.vhf(a[0], _tp(p)),), period_minus(0), stream=WindowSumsStream),
    "wad": Binding(
        lambda a, p: (osc.wad(a[0], a[1], a[2]),), constant(0), "cumulative", LineStream
    ),
    "smi": Binding(_smi, _smi_lookback, "history", SmiStream),
    "plus_di": _di(True),
    "minus_di": _di(False),
    "plus_dm": _dm(True),
    "minus_dm": _dm(False),
    "dx": Binding(
        lambda a, p: (di.dx(a[0], a[1], a[2], _tp(p)),),
        period_minus(0),
        "history",
        stream=DirectionalStream,
    ),
    "adx": Binding(
        lambda a, p: (di.adx(a[0], a[1], a[2], _tp(p)),),
        lambda p: 2 * _tp(p) - 1,
        "history",
        stream=DirectionalStream,
    ),
    "adxr": Binding(
        lambda a, p: (di.adxr(a[0], a[1], a[2], _tp(p)),),
        lambda p: 3 * _tp(p) - 2,
        "history",
        stream=DirectionalStream,
    ),
    "aroon": Binding(
        lambda a, p: di.aroon(a[0], a[1], _tp(p)), period_minus(0), stream=AroonStream
    ),
    "aroonosc": Binding(
        lambda a, p: (di.aroonosc(a[0], a[1], _tp(p)),), period_minus(0), stream=AroonStream
    ),
    "vortex": Binding(
        lambda a, p: di.vortex(a[0], a[1], a[2], _tp(p)), period_minus(0), stream=WindowSumsStream
    ),
}
