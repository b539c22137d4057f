"""The :class:`Binding` record tying a catalogue entry to its kernel and streaming engine.

:meth:`Binding.open_stream` is the one place that chooses how an indicator streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.indicators._common import Kernel, Params
from engine.indicators.streaming import (
    HistoryStream,
    StreamingIndicator,
    StreamSpec,
    WindowStream,
)

StreamFactory = Callable[[StreamSpec, Params], StreamingIndicator | None]
"""Builds an indicator's O(1) stream, or returns None when these parameters have none."""


@dataclass(frozen=True)
class Binding:
    """How one indicator is computed: kernel, warm-up length and streaming engine.

    Attributes:
        kernel: Batch function on NaN-free-start float64 arrays, returning all outputs.
        lookback: Number of leading NaNs the kernel produces for given parameters.
        memory: ``"window"`` if the value at ``t`` depends only on the last
            ``lookback + 1`` rows, ``"history"`` if it depends on all earlier rows; or a
            function of the parameters returning one of those (e.g. per MA type).
        stream: Optional O(1) streaming class or factory; it may return None for parameters
            it does not cover (e.g. an MA type without an O(1) form). None, or a None
            result, means the generic engine for ``memory``.
        index_outputs: True when outputs are positions in the series (MAXINDEX and kin).
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
        return HistoryStream(spec, params)
