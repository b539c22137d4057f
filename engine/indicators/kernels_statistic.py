"""Statistic kernels (TA-Lib group "Statistic Functions"): variance, regression, ...

Rolling variance is computed around an anchor that is re-centred on the window's mean every
``period`` bars. The textbook ``E[x^2] - E[x]^2`` loses about ten digits on prices near
1e4 with small windows; TA-Lib 0.8 is accurate there, and so must we be.
"""

from __future__ import annotations

import math

import numpy as np

from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

NAN = np.nan


@kernel
def rolling_var(x: FloatArray, period: int, start: int) -> FloatArray:
    """Population variance over the last ``period`` values."""
    n = x.shape[0]
    out = np.full(n, NAN)
    first = start + period - 1
    if first >= n:
        return out
    anchor = 0.0
    s1 = 0.0
    s2 = 0.0
    for i in range(first, n):
        if (i - first) % period == 0:
            # Re-anchor on the exact window mean so the running sums stay small.
            mean = 0.0
            for k in range(i - period + 1, i + 1):
                mean += x[k]
            anchor = mean / period
            s1 = 0.0
            s2 = 0.0
            for k in range(i - period + 1, i + 1):
                d = x[k] - anchor
                s1 += d
                s2 += d * d
        else:
            d_new = x[i] - anchor
            d_old = x[i - period] - anchor
            s1 += d_new - d_old
            s2 += d_new * d_new - d_old * d_old
        m1 = s1 / period
        variance = s2 / period - m1 * m1
        out[i] = variance if variance > 0.0 else 0.0
    return out


@kernel
def stddev(x: FloatArray, period: int, nbdev: float, start: int) -> FloatArray:
    """Population standard deviation times ``nbdev``."""
    variance = rolling_var(x, period, start)
    out = np.full(x.shape[0], NAN)
    for i in range(start + period - 1, x.shape[0]):
        v = variance[i]
        out[i] = math.sqrt(v) * nbdev if v > 0.0 else 0.0
    return out


@kernel
def var(x: FloatArray, period: int) -> FloatArray:
    """Population variance (TA-Lib ignores VAR's ``nbdev``)."""
    if period == 1:
        return np.zeros(x.shape[0])
    return rolling_var(x, period, 0)
