"""Momentum kernels (TA-Lib group "Momentum Indicators"), part one: oscillators on one series.

TA-Lib treats a denominator within 1e-8 of zero as zero (its ``TA_IS_ZERO``); the kernels do
the same so flat markets give TA-Lib's numbers, not a division blow-up.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

NAN = np.nan


@kernel
def is_zero(value: float) -> bool:
    """Return True when ``value`` is within TA-Lib's zero tolerance (1e-8)."""
    return -1e-8 < value < 1e-8


@kernel
def rsi(x: FloatArray, period: int, start: int) -> FloatArray:
    """Relative strength index with Wilder smoothing seeded by plain averages."""
    n = x.shape[0]
    out = np.full(n, NAN)
    first = start + period
    if first >= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(start + 1, first + 1):
        change = x[i] - x[i - 1]
        if change < 0:
            loss -= change
        else:
            gain += change
    gain /= period
    loss /= period
    total = gain + loss
    out[first] = 0.0 if is_zero(total) else 100.0 * (gain / total)
    for i in range(first + 1, n):
        change = x[i] - x[i - 1]
        loss *= period - 1
        gain *= period - 1
        if change < 0:
            loss -= change
        else:
            gain += change
        loss /= period
        gain /= period
        total = gain + loss
        out[i] = 0.0 if is_zero(total) else 100.0 * (gain / total)
    return out
