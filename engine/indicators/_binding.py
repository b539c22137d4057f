"""The :class:`Binding` of one indicator (kernel, warm-up, stream) and the helpers to build it.

:meth:`Binding.open_stream` is the one place that chooses how an indicator streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.indicators._common import FloatArray, Kernel, Params
from engine.indicators.streaming import HistoryStream, StreamingIndicator, StreamSpec, WindowStream

StreamFactory = Callable[[StreamSpec, Params], StreamingIndicator | None]
"""Builds an indicator's O(1) stream, or returns None when these parameters have none."""


@dataclass(frozen=True)
class Binding:
    """How one indicator is computed: kernel, warm-up length and streaming engine.

    Attributes:
        kernel: Batch function on NaN-free-start float64 arrays, returning all outputs.
        lookback: Number of leading NaNs the kernel produces for given parameters.
        memory: ``"window"`` if the value at ``t`` depends only on the last
            ``lookback + 1`` rows; ``"history"`` if it depends on all earlier rows through
            a seed whose weight decays geometrically (EMA, Wilder, ...); ``"path"`` if
            through a state that forgets its start only after a data-dependent number of
            rows (SAR's trend and acceleration: no decay rate); ``"cumulative"`` if it
            never forgets where the rows started (running totals and averages: OBV, AD,
            NVI, VWAP, ...: their level is relative to the first row); or a function of the
            parameters returning one of those (e.g. per MA type). A live node's warm-up
            length and start-up notices follow it (`engine.runtime.live.warmup`).
        stream: Optional O(1) streaming class or factory; it may return None for parameters
            it does not cover (e.g. an MA type without an O(1) form). None, or a None
            result, means the generic engine for ``memory``.
        index_outputs: True when outputs are positions in the series (MAXINDEX and kin):
            counted from the first row, so start-dependent as ``"cumulative"`` is.
    """

    kernel: Kernel
    lookback: Callable[[Params], int]
    memory: str | Callable[[Params], str] = "window"
    stream: StreamFactory | None = None
    index_outputs: bool = False

    def open_stream(self, spec: StreamSpec, params: Params) -> StreamingIndicator:
        """Return a fresh stream for checked ``params``: the one place a stream is chosen.

        The binding's own O(1) class wins when it covers these parameters; otherwise
        :class:`WindowStream` (finite memory: rerun the kernel on the last ``lookback + 1``
        rows) or :class:`HistoryStream` (infinite memory: rerun it on every row seen).
        """
        if self.stream is not None:
            stream = self.stream(spec, params)
            if stream is not None:
                return stream
        memory = self.memory(params) if callable(self.memory) else self.memory
        if memory == "window":
            return WindowStream(spec, params, index_outputs=self.index_outputs)
        return HistoryStream(spec, params)  # "history", "path", "cumulative": all rows


# Helpers the families' binding modules build their Bindings from.

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
