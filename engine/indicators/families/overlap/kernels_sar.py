"""Parabolic SAR (SAR) and its extended form (SAREXT), as TA-Lib computes them.

Wilder's stop-and-reverse trails price: while long, the stop rises each bar by ``af`` times
the distance to the extreme point (the highest high of the trade), ``af`` growing by the
acceleration step at every new extreme up to the maximum; a low at or below the stop
reverses the trade. TA-Lib's bootstrap, which these kernels reproduce exactly:

* the first bar is consumed: it only seeds the stop (its low when starting long, its high
  when starting short), so the first value is at bar 1 (lookback 1);
* the initial direction is short when bar 1's -DM is positive (its low fell more than its
  high rose, and did fall), long otherwise -- ties go long; SAREXT's ``startvalue`` > 0
  forces long at that stop, < 0 forces short at ``|startvalue|``;
* on a reversal the stop jumps to the old extreme point, is kept outside yesterday's and
  today's range, and (SAREXT) is pushed further by ``offsetonreverse`` times itself;
* every new stop is clamped to stay outside yesterday's and today's range.

SAREXT reports stops of short trades as negative numbers; SAR reports them as they are.
The state is a tuple of seven floats so the streaming class (``SarStream``) calls the
very same compiled step per bar and matches batch bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.indicators._alloc import nan_head
from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

# Slots of the parameter tuple (after TA-Lib's clamping, see ``sar_params``).
START, OFFSET, INIT_LONG, STEP_LONG, MAX_LONG, INIT_SHORT, STEP_SHORT, MAX_SHORT, SIGNED = range(9)
# The state: direction (1 long / 0 short), both accelerations, extreme point, stop for the
# coming bar, and the previous bar's high and low.
SarState = tuple[float, float, float, float, float, float, float]
SarParams = tuple[float, float, float, float, float, float, float, float, float]


def sar_params(
    startvalue: float,
    offsetonreverse: float,
    init_long: float,
    step_long: float,
    max_long: float,
    init_short: float,
    step_short: float,
    max_short: float,
    signed: bool,
) -> SarParams:
    """Return the parameter array, with TA-Lib's clamping of steps above their maximum.

    Args:
        startvalue: 0 picks the direction from bar 1's -DM; > 0 starts long at that stop,
            < 0 short at its absolute value.
        offsetonreverse: Fraction of the stop added (short) or removed (long) on reversal.
        init_long: Acceleration factor when a long trade starts.
        step_long: Added to it at every new high of the trade.
        max_long: Its ceiling.
        init_short: Acceleration factor when a short trade starts.
        step_short: Added to it at every new low of the trade.
        max_short: Its ceiling.
        signed: True (SAREXT) reports short stops as negative values.
    """
    init_long = min(init_long, max_long)
    step_long = min(step_long, max_long)
    init_short = min(init_short, max_short)
    step_short = min(step_short, max_short)
    flag = 1.0 if signed else 0.0
    return (
        float(startvalue),
        float(offsetonreverse),
        float(init_long),
        float(step_long),
        float(max_long),
        float(init_short),
        float(step_short),
        float(max_short),
        flag,
    )


@kernel
def _at_least(value: float, floor1: float, floor2: float) -> float:
    # TA-Lib's two "if (sar < x) sar = x" in order (a NaN bound leaves the stop alone).
    if value < floor1:
        value = floor1
    if value < floor2:
        value = floor2
    return value


@kernel
def _at_most(value: float, ceiling1: float, ceiling2: float) -> float:
    if value > ceiling1:
        value = ceiling1
    if value > ceiling2:
        value = ceiling2
    return value


@kernel
def sar_start(p: SarParams, high0: float, low0: float, high1: float, low1: float) -> SarState:
    """Return the state seeded from the first two bars (before :func:`sar_step` reads bar 1)."""
    start = p[START]
    if start == 0.0:
        up = high1 - high0
        down = low0 - low1
        is_long = not (down > 0.0 and up < down)
    else:
        is_long = start > 0.0
    stop = (low0 if is_long else high0) if start == 0.0 else abs(start)
    ep = high1 if is_long else low1
    # TA-Lib seeds "yesterday" with bar 1 itself, so bar 1's clamps use its own range.
    return (1.0 if is_long else 0.0, p[INIT_LONG], p[INIT_SHORT], ep, stop, high1, low1)


@kernel
def sar_step(state: SarState, p: SarParams, high: float, low: float) -> tuple[float, SarState]:
    """Consume one bar; return its stop (negative for shorts when ``p[SIGNED]``) and the state.

    State and parameters are tuples, not arrays, so the compiled loop keeps them in
    registers (an array state cost ~3x TA-Lib's time in loads and stores).
    """
    is_long, af_long, af_short, ep, sar, prev_high, prev_low = state
    if is_long == 1.0:
        if low <= sar:
            # Reverse to short: the stop jumps to the trade's highest high.
            is_long = 0.0
            sar = _at_least(ep, prev_high, high)
            if p[OFFSET] != 0.0:
                sar += sar * p[OFFSET]
            out = -sar if p[SIGNED] == 1.0 else sar
            af_short = p[INIT_SHORT]
            ep = low
            sar = sar + af_short * (ep - sar)
            sar = _at_least(sar, prev_high, high)
        else:
            out = sar
            if high > ep:
                ep = high
                af_long = _at_most(af_long + p[STEP_LONG], p[MAX_LONG], p[MAX_LONG])
            sar = sar + af_long * (ep - sar)
            sar = _at_most(sar, prev_low, low)
    elif high >= sar:
        # Reverse to long: the stop jumps to the trade's lowest low.
        is_long = 1.0
        sar = _at_most(ep, prev_low, low)
        if p[OFFSET] != 0.0:
            sar -= sar * p[OFFSET]
        out = sar
        af_long = p[INIT_LONG]
        ep = high
        sar = sar + af_long * (ep - sar)
        sar = _at_most(sar, prev_low, low)
    else:
        out = -sar if p[SIGNED] == 1.0 else sar
        if low < ep:
            ep = low
            af_short = _at_most(af_short + p[STEP_SHORT], p[MAX_SHORT], p[MAX_SHORT])
        sar = sar + af_short * (ep - sar)
        sar = _at_least(sar, prev_high, high)
    return out, (is_long, af_long, af_short, ep, sar, high, low)


@kernel
def sarext(high: FloatArray, low: FloatArray, p: SarParams) -> FloatArray:
    """SAR / SAREXT over whole series; NaN at bar 0 (lookback 1)."""
    n = high.shape[0]
    out = nan_head(n, 1)
    if n < 2:
        return out
    state = sar_start(p, high[0], low[0], high[1], low[1])
    for i in range(1, n):
        out[i], state = sar_step(state, p, high[i], low[i])
    return out


def sar_arguments(name: str, params: Mapping[str, int | float]) -> SarParams:
    """Return the parameter array for registry ``params`` of ``"sar"`` or ``"sarext"``.

    SAR is SAREXT with no start value, no offset, one acceleration/maximum pair for both
    directions, and unsigned output.
    """
    if name == "sar":
        step, ceiling = float(params["acceleration"]), float(params["maximum"])
        return sar_params(0.0, 0.0, step, step, ceiling, step, step, ceiling, signed=False)
    return sar_params(
        float(params["startvalue"]),
        float(params["offsetonreverse"]),
        float(params["accelerationinitlong"]),
        float(params["accelerationlong"]),
        float(params["accelerationmaxlong"]),
        float(params["accelerationinitshort"]),
        float(params["accelerationshort"]),
        float(params["accelerationmaxshort"]),
        signed=True,
    )
