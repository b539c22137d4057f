"""KAMA, Kaufman's adaptive moving average: the kernel (`kama`), apart from the other MAs.

In: a NaN-free series from ``start`` and the period. Out: KAMA with TA-Lib's fast 2 /
slow 30 constants, NaN before ``start + period``. `KamaStream` (``streams.py``) adds and
removes the window's moves in this kernel's order.
"""

from __future__ import annotations

import numpy as np

from engine.indicators._alloc import copy_into, nan_head
from engine.indicators._common import TIE, FloatArray
from engine.indicators._jit import kernel


@kernel
def kama(x: FloatArray, period: int, start: int) -> FloatArray:
    """Kaufman adaptive moving average with TA-Lib's fast 2 / slow 30 constants.

    The window's noise (the sum of its bar-to-bar moves) is a running sum that counts its
    non-zero moves: a window of equal values has noise exactly 0 (read as fully efficient,
    as TA-Lib), not the rounding residue the big moves that left it leave behind, and the
    sum is recomputed from the window every ``period`` bars so no residue outlives one
    (TA-Lib 0.8.1 carries none: `tests/parity/test_kama_flat_windows.py`).
    `KamaStream` adds and removes the same moves in the same order.
    """
    n = x.shape[0]
    if period <= 1:
        out = nan_head(n, start)
        copy_into(out[start:], x[start:])
        return out
    first = start + period
    out = nan_head(n, first)
    if first >= n:
        return out
    const_max = 2.0 / 31.0
    const_diff = 2.0 / 3.0 - const_max
    noise = 0.0
    moving = 0  # non-zero moves in the window
    for i in range(start, first):
        move = abs(x[i] - x[i + 1])
        noise += move
        moving += move != 0.0
    since = 0  # bars since the noise was last summed from the window
    prev = x[first - 1]
    for i in range(first, n):
        # Unsigned indices: numba then skips its negative-index wrap-around selects.
        u = np.uint64(i)
        back = np.uint64(i - period)
        if i > first:
            move = abs(x[back] - x[np.uint64(i - period - 1)])
            noise -= move
            moving -= move != 0.0
            move = abs(x[u] - x[np.uint64(i - 1)])
            noise += move
            moving += move != 0.0
            since += 1
            if since == period:
                since = 0
                noise = 0.0
                for k in range(i - period, i):
                    noise += abs(x[np.uint64(k)] - x[np.uint64(k + 1)])
        if moving == 0:
            noise = 0.0
        change = x[u] - x[back]
        # TA-Lib caps the efficiency ratio at 1 and treats a flat window as fully efficient:
        # noise within TIE of the window's ends (0.8.1's scaled zero test), so a StochRSI
        # pinned at 100 by ulps (99.99999999999999) still reads flat
        flat = (noise <= change) | (noise <= TIE * (abs(x[u]) + abs(x[back])))
        ratio = 1.0 if flat else abs(change / noise)
        sc = ratio * const_diff + const_max
        sc *= sc
        prev = (x[u] - prev) * sc + prev  # TA-Lib's form: here the shorter chain
        out[u] = prev
    return out
