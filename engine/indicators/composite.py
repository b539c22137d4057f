"""Indicators built from other kernels with a selectable moving-average type.

TA-Lib's ``matype`` codes pick among thirteen averages. Dispatching here, in Python, keeps
each numba kernel small: a numba-side dispatcher would be compiled into every caller,
which once made cold compilation of the library take over a minute and a half. The cost
is one Python call per leg, negligible next to the array work.

Legs are entered the way TA-Lib 0.8 enters them (verified against it): most start at
their own natural warm-up; MACDEXT and the stochastics feed each stage the previous
stage's output from its first defined bar.

The overlap family's averages (``kernels_ma``) are imported with this module; kernels of
other families (MAMA's Hilbert transform, the stochastic's %K, RSI, the MACD lines, the
standard deviation) inside the function that calls them, so that the overlap family,
which uses this module for MA and BBANDS, loads no other family's kernels for an SMA.
"""

from __future__ import annotations

import math

import numpy as np

from engine.indicators._common import FloatArray
from engine.indicators.families.overlap import kernels_ma as kma

MAMA_LOOKBACK = 32
SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, MAMA, T3, HMA, IDENTITY, OWN, ZLEMA, WILDER = range(14)


def ma_lookback(period: int, matype: int) -> int:
    """Return the warm-up length of TA-Lib's MA for ``period`` and ``matype``."""
    if period <= 1 or matype == IDENTITY:
        return 0
    if matype == DEMA:
        return 2 * (period - 1)
    if matype == TEMA:
        return 3 * (period - 1)
    if matype == KAMA:
        return period
    if matype == MAMA:
        return MAMA_LOOKBACK
    if matype == T3:
        return 6 * (period - 1)
    if matype == HMA:
        return period - 1 + max(int(math.sqrt(period)), 1) - 1
    if matype == ZLEMA:
        return (period - 1) // 2 + period - 1
    return period - 1


def ma(x: FloatArray, period: int, matype: int, start: int) -> FloatArray:
    """Return TA-Lib's MA of ``x[start:]`` (NaN before), dispatching on ``matype``."""
    if period <= 1 or matype == IDENTITY:
        out = np.full(x.shape[0], np.nan)
        out[start:] = x[start:]
        return out
    simple = {
        EMA: kma.ema,
        WMA: kma.wma,
        DEMA: kma.dema,
        TEMA: kma.tema,
        TRIMA: kma.trima,
        KAMA: kma.kama,
        HMA: kma.hma,
        ZLEMA: kma.zlema,
        WILDER: kma.rma,
    }
    if matype in simple:
        return simple[matype](x, period, start)
    if matype == MAMA:
        from engine.indicators.families.cycle import kernels as cy

        return cy.mama(x, 0.5, 0.05, start)[0]
    if matype == T3:
        return kma.t3(x, period, 0.7, start)
    return kma.sma(x, period, start)


def bbands(
    x: FloatArray, period: int, up: float, down: float, matype: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands: MA of ``matype`` plus/minus multiples of the population stddev."""
    from engine.indicators.families.statistic.kernels import bbands_sma, stddev

    if matype == SMA:
        return bbands_sma(x, period, up, down)
    lookback = max(ma_lookback(period, matype), period - 1)
    middle = ma(x, period, matype, 0)
    middle[:lookback] = np.nan
    deviation = stddev(x, period, 1.0, lookback - (period - 1))
    return middle + up * deviation, middle, middle - down * deviation


def mavp(
    x: FloatArray, periods: FloatArray, min_period: int, max_period: int, matype: int
) -> FloatArray:
    """Moving average whose period varies per bar (truncated, clamped to ``[min, max]``)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    lookback = ma_lookback(max_period, matype)
    if lookback >= n:
        return out
    chosen = kma.clamp_periods(periods, min_period, max_period)
    distinct = np.unique(chosen[lookback:])
    if matype == SMA:
        # One running sum per distinct period, stored only on the bars that chose it.
        summed = distinct[distinct > 1]
        if summed.size:
            kma.mavp_sma(x, chosen, summed, lookback, out)
        distinct = distinct[distinct <= 1]
    for period in distinct:
        line = ma(x, int(period), matype, lookback - ma_lookback(int(period), matype))
        kma.scatter_rows(out, line, chosen, int(period), lookback)
    return out


def po(x: FloatArray, fast: int, slow: int, matype: int, percent: bool) -> FloatArray:
    """Price oscillator: fast MA minus slow MA (APO), or that as % of the slow MA (PPO)."""
    if matype == EMA and min(fast, slow) > 1:
        return kma.ema_oscillator(x, fast, slow, percent)
    if slow < fast:
        fast, slow = slow, fast
    lookback = ma_lookback(slow, matype)
    fast_line = ma(x, fast, matype, 0)
    slow_line = ma(x, slow, matype, 0)
    out = np.full(x.shape[0], np.nan)
    if percent:
        with np.errstate(all="ignore"):
            ratio = ((fast_line - slow_line) / slow_line) * 100.0
        out[lookback:] = np.where(np.abs(slow_line) < 1e-14, 0.0, ratio)[lookback:]
    else:
        out[lookback:] = (fast_line - slow_line)[lookback:]
    return out


def macdext(
    x: FloatArray, fast: int, fast_type: int, slow: int, slow_type: int, signal: int, sig_type: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD with a chosen moving-average type for each leg."""
    from engine.indicators.families.momentum.kernels import macd_lines

    if slow < fast:
        fast, slow = slow, fast
        fast_type, slow_type = slow_type, fast_type
    if fast_type == slow_type == sig_type == SMA and min(fast, signal) > 1:
        return kma.macd_sma(x, fast, slow, signal)
    largest = max(ma_lookback(fast, fast_type), ma_lookback(slow, slow_type))
    fast_line = ma(x, fast, fast_type, largest - ma_lookback(fast, fast_type))
    slow_line = ma(x, slow, slow_type, largest - ma_lookback(slow, slow_type))
    signal_line = ma(fast_line - slow_line, signal, sig_type, largest)
    begin = largest + ma_lookback(signal, sig_type)
    return macd_lines(fast_line, slow_line, signal_line, begin)


def stochf(
    high: FloatArray, low: FloatArray, close: FloatArray, k_period: int, d_period: int, d_type: int
) -> tuple[FloatArray, FloatArray]:
    """Fast stochastic: %K and its ``d_type`` moving average %D."""
    from engine.indicators.families.momentum.kernels_oscillators import fast_k

    k = fast_k(high, low, close, k_period, 0)
    d = ma(k, d_period, d_type, k_period - 1)
    k[: k_period - 1 + ma_lookback(d_period, d_type)] = np.nan
    return k, d


def stoch(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k_period: int,
    slow_k: int,
    slow_k_type: int,
    slow_d: int,
    slow_d_type: int,
) -> tuple[FloatArray, FloatArray]:
    """Slow stochastic: %K smoothed once (slow %K) and twice (slow %D)."""
    from engine.indicators.families.momentum.kernels_oscillators import fast_k

    k = fast_k(high, low, close, k_period, 0)
    k_lookback = k_period - 1 + ma_lookback(slow_k, slow_k_type)
    smooth_k = ma(k, slow_k, slow_k_type, k_period - 1)
    smooth_d = ma(smooth_k, slow_d, slow_d_type, k_lookback)
    smooth_k[: k_lookback + ma_lookback(slow_d, slow_d_type)] = np.nan
    return smooth_k, smooth_d


def stochrsi(
    x: FloatArray, period: int, k_period: int, d_period: int, d_type: int
) -> tuple[FloatArray, FloatArray]:
    """Fast stochastic applied to RSI."""
    from engine.indicators.families.momentum.kernels import rsi
    from engine.indicators.families.momentum.kernels_oscillators import fast_k

    line = rsi(x, period, 0)
    k = fast_k(line, line, line, k_period, period)
    d = ma(k, d_period, d_type, period + k_period - 1)
    k[: period + k_period - 1 + ma_lookback(d_period, d_type)] = np.nan
    return k, d


def kdj(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k_period: int,
    slow_k: int,
    slow_k_type: int,
    slow_d: int,
    slow_d_type: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """KDJ: slow stochastic K and D, and J = 3K - 2D."""
    k, d = stoch(high, low, close, k_period, slow_k, slow_k_type, slow_d, slow_d_type)
    return k, d, 3.0 * k - 2.0 * d
