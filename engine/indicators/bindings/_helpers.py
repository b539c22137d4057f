"""Small adapters that turn numba kernels into registry bindings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.indicators._common import FloatArray, Kernel, Params

PeriodKernel = Callable[[FloatArray, int, int], FloatArray]


def period_kernel(function: PeriodKernel, param: str = "timeperiod") -> Kernel:
    """Adapt ``function(x, period, start)`` to a one-input, one-output kernel."""

    def run(arrays: Sequence[FloatArray], params: Params) -> tuple[FloatArray, ...]:
        return (function(arrays[0], int(params[param]), 0),)

    return run


def period_minus(offset: int, param: str = "timeperiod") -> Callable[[Params], int]:
    """Return a lookback of ``params[param] - offset``."""

    def lookback(params: Params) -> int:
        return int(params[param]) - offset

    return lookback


def constant(value: int) -> Callable[[Params], int]:
    """Return a lookback that does not depend on parameters."""

    def lookback(params: Params) -> int:
        return value

    return lookback
