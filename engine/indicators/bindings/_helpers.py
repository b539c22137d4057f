"""Small adapters that turn numba kernels into registry bindings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.indicators._common import FloatArray, Kernel, Params

PeriodKernel = Callable[[FloatArray, int, int], FloatArray]
Lookback = Callable[[Params], int]

# TA-Lib's MA_Type 11 means "the function's own default moving average".
OWN_DEFAULT_MATYPE = 11


def period_kernel(function: PeriodKernel, param: str = "timeperiod") -> Kernel:
    """Adapt ``function(x, period, start)`` to a one-input, one-output kernel."""

    def run(arrays: Sequence[FloatArray], params: Params) -> tuple[FloatArray, ...]:
        return (function(arrays[0], int(params[param]), 0),)

    return run


def period_minus(offset: int, param: str = "timeperiod") -> Lookback:
    """Return a lookback of ``params[param] - offset``."""

    def lookback(params: Params) -> int:
        return int(params[param]) - offset

    return lookback


def constant(value: int) -> Lookback:
    """Return a lookback that does not depend on parameters."""

    def lookback(params: Params) -> int:
        return value

    return lookback


def matype(params: Params, key: str, default: int) -> int:
    """Return the MA type code in ``params[key]``, resolving 11 to ``default``."""
    code = int(params[key])
    return default if code == OWN_DEFAULT_MATYPE else code


def ints(params: Params, *keys: str) -> tuple[int, ...]:
    """Return ``params[key]`` as ints, in order."""
    return tuple(int(params[key]) for key in keys)


def outputs(value: FloatArray | tuple[FloatArray, ...]) -> tuple[FloatArray, ...]:
    """Normalise a kernel's return value to a tuple of outputs."""
    return value if isinstance(value, tuple) else (value,)


# MA types whose value depends only on a finite window: SMA, WMA, TRIMA, HMA, identity.
FINITE_MATYPES = frozenset({0, 2, 5, 9, 10})


def memory_of(*keys_and_defaults: tuple[str, int]) -> Callable[[Params], str]:
    """Return a memory rule: "window" when every named MA type has finite memory."""

    def memory(params: Params) -> str:
        finite = all(
            matype(params, key, default) in FINITE_MATYPES for key, default in keys_and_defaults
        )
        return "window" if finite else "history"

    return memory
