"""Bindings for TA-Lib's "Statistic Functions" group."""

from __future__ import annotations

from engine.indicators._binding import Binding, period_minus
from engine.indicators._common import Params
from engine.indicators.families.statistic import kernels as st
from engine.indicators.families.statistic.streams import (
    BetaStream,
    CorrelStream,
    LinregStream,
    MomentStream,
    PercentileStream,
    PercentRankStream,
)


def _tp(p: Params) -> int:
    return int(p["timeperiod"])


def _linreg(mode: int) -> Binding:
    return Binding(
        lambda a, p: (st.linreg(a[0], _tp(p), mode),), period_minus(1), stream=LinregStream
    )


BINDINGS: dict[str, Binding] = {
    "linearreg": _linreg(0),
    "linearreg_slope": _linreg(1),
    "linearreg_intercept": _linreg(2),
    "linearreg_angle": _linreg(3),
    "tsf": _linreg(4),
    "stddev": Binding(
        lambda a, p: (st.stddev(a[0], _tp(p), float(p["nbdev"]), 0),),
        period_minus(1),
        stream=MomentStream,
    ),
    "var": Binding(lambda a, p: (st.var(a[0], _tp(p)),), period_minus(1), stream=MomentStream),
    "beta": Binding(
        lambda a, p: (st.beta(a[0], a[1], _tp(p)),), period_minus(0), stream=BetaStream
    ),
    "correl": Binding(
        lambda a, p: (st.correl(a[0], a[1], _tp(p)),), period_minus(1), stream=CorrelStream
    ),
    "avgdev": Binding(lambda a, p: (st.avgdev(a[0], _tp(p)),), period_minus(1)),
    "percentile": Binding(
        lambda a, p: (st.percentile(a[0], _tp(p), float(p["percentile"])),),
        period_minus(1),
        stream=PercentileStream,
    ),
    "percentrank": Binding(
        lambda a, p: (st.percentrank(a[0], _tp(p)),), period_minus(0), stream=PercentRankStream
    ),
}
