"""Bindings for TA-Lib's "Cycle Indicators" group and HT_TRENDLINE (an overlap study)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.indicators._binding import Binding, constant
from engine.indicators._common import FloatArray, Kernel, Params
from engine.indicators.families.cycle import kernels as cy
from engine.indicators.families.cycle.streams import HilbertStream


def _rows(lookback: int, phase: bool, trend: bool, *rows: int) -> Kernel:
    wanted = np.array(rows, dtype=np.int64)

    def run(a: Sequence[FloatArray], p: Params) -> tuple[FloatArray, ...]:
        result = cy.hilbert(a[0], 0, lookback, phase, trend, (0.0, 0.0), wanted)
        return tuple(result[j] for j in range(len(rows)))

    return run


BINDINGS: dict[str, Binding] = {
    "ht_dcperiod": Binding(
        _rows(32, False, False, cy.PERIOD), constant(32), "history", HilbertStream
    ),
    "ht_dcphase": Binding(_rows(63, True, False, cy.PHASE), constant(63), "history", HilbertStream),
    "ht_phasor": Binding(
        _rows(32, False, False, cy.INPHASE, cy.QUADRATURE), constant(32), "history", HilbertStream
    ),
    "ht_sine": Binding(
        _rows(63, True, False, cy.SINE, cy.LEADSINE), constant(63), "history", HilbertStream
    ),
    "ht_trendmode": Binding(
        _rows(63, True, True, cy.TRENDMODE), constant(63), "history", HilbertStream
    ),
    "ht_trendline": Binding(
        _rows(63, False, True, cy.TRENDLINE), constant(63), "history", HilbertStream
    ),
}
