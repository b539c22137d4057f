"""The :class:`Binding` record tying a catalogue entry to its kernel and streaming engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.indicators._common import Kernel, Params

if TYPE_CHECKING:
    from engine.indicators.registry import IndicatorSpec
    from engine.indicators.streaming import StreamingIndicator

StreamFactory = Callable[["IndicatorSpec", Params], "StreamingIndicator"]


@dataclass(frozen=True)
class Binding:
    """How one indicator is computed: kernel, warm-up length and streaming engine.

    Attributes:
        kernel: Batch function on NaN-free-start float64 arrays, returning all outputs.
        lookback: Number of leading NaNs the kernel produces for given parameters.
        memory: ``"window"`` if the value at ``t`` depends only on the last
            ``lookback + 1`` rows, ``"history"`` if it depends on all earlier rows; or a
            function of the parameters returning one of those (e.g. per MA type).
        stream: Optional O(1) streaming class; None picks the generic engine for ``memory``.
        index_outputs: True when outputs are positions in the series (MAXINDEX and kin).
    """

    kernel: Kernel
    lookback: Callable[[Params], int]
    memory: str | Callable[[Params], str] = "window"
    stream: StreamFactory | None = None
    index_outputs: bool = False
