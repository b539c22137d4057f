"""Streaming indicators: one bar in, the newest value out, matching the batch kernels.

Three engines cover every indicator:

* hand-written O(1) classes for the indicators whose value depends on the whole history
  (exponential and Wilder averages, RSI, ...); they replay TA-Lib's seeding exactly;
* :class:`WindowStream` for indicators whose value at ``t`` depends only on the last
  ``lookback + 1`` rows: it keeps that window in a ring and runs the numba kernel on it,
  which costs O(lookback) arithmetic but one kernel call per update;
* :class:`HistoryStream`, the exact fallback for history-dependent indicators that have no
  hand-written class yet: it recomputes over all rows seen (O(n) per update).

Every engine ignores leading rows that contain a NaN, as the batch API does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from engine.errors import IndicatorError
from engine.indicators._common import FloatArray, Kernel, Params

Value = float | tuple[float, ...]


class StreamSpec(Protocol):
    """What a stream needs from its indicator: names, the batch kernel, the warm-up.

    :class:`engine.indicators.registry.IndicatorSpec` satisfies it. Streams type against
    this protocol rather than the registry's class so that no stream module imports the
    registry (which imports every family): the package has no import cycle.
    """

    @property
    def name(self) -> str: ...  # lowercase TA-Lib name, e.g. "rsi"

    @property
    def inputs(self) -> tuple[str, ...]: ...

    @property
    def outputs(self) -> tuple[str, ...]: ...

    @property
    def kernel(self) -> Kernel: ...

    def lookback(self, **params: int | float) -> int: ...

    def sibling_stream(self, name: str, **params: int | float) -> StreamingIndicator:
        """Return a fresh stream of another indicator (FOSC runs a TSF stream inside)."""
        ...


class StreamingIndicator:
    """Base class: parses ``update`` arguments and tracks readiness.

    Subclasses implement :meth:`_step` (one row of floats in input order, returning one
    float per output) and :meth:`_clear`.
    """

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        self.spec = spec
        self.params: dict[str, int | float] = dict(params)
        self.lookback = spec.lookback(**params)
        self._outputs: tuple[float, ...] = tuple(math.nan for _ in spec.outputs)
        self._started = False
        self._rows = 0
        self._skipped = 0
        self._n_inputs = len(spec.inputs)
        self._one_output = len(spec.outputs) == 1

    @property
    def value(self) -> Value:
        """Return the newest value (a tuple in output order for multi-output indicators)."""
        return self._outputs[0] if len(self._outputs) == 1 else self._outputs

    @property
    def values(self) -> dict[str, float]:
        """Return the newest value of every output by name."""
        return dict(zip(self.spec.outputs, self._outputs, strict=True))

    @property
    def is_ready(self) -> bool:
        """Return True once the warm-up has passed and values are defined."""
        return self._rows > self.lookback

    def update(self, *args: float, **kwargs: float) -> Value:
        """Feed one bar and return the newest value.

        Args:
            *args: Input values in the indicator's input order (see ``spec.inputs``).
            **kwargs: Input values by name, as an alternative to positional arguments.

        Returns:
            The newest value: a float, or a tuple in output order.
        """
        if self._started and not kwargs and len(args) == self._n_inputs:
            # Hot path for live feeds: positional floats after the first valid bar.
            self._rows += 1
            outputs = self._outputs = self._step(args)
            return outputs[0] if self._one_output else outputs
        row = self._row(args, kwargs)
        if not self._started:
            if any(math.isnan(v) for v in row):
                self._skipped += 1
                return self.value
            self._started = True
        self._rows += 1
        self._outputs = self._step(row)
        return self.value

    def warmup(self, arrays: Mapping[str, Sequence[float] | FloatArray]) -> Value:
        """Feed a history of bars (input name -> 1-D series) and return the newest value."""
        columns = [np.asarray(arrays[name], dtype=np.float64) for name in self.spec.inputs]
        for row in zip(*columns, strict=True):
            self.update(*(float(v) for v in row))
        return self.value

    def reset(self) -> None:
        """Forget every bar seen so the instance can be reused from scratch."""
        self._outputs = tuple(math.nan for _ in self.spec.outputs)
        self._started = False
        self._rows = 0
        self._skipped = 0
        self._clear()

    def _row(self, args: tuple[float, ...], kwargs: Mapping[str, float]) -> tuple[float, ...]:
        inputs = self.spec.inputs
        if kwargs:
            unknown = set(kwargs) - set(inputs)
            if unknown or args:
                raise IndicatorError(
                    f"{self.spec.name}.update takes {', '.join(inputs)} either by position or "
                    f"by name; got {len(args)} positional and names {sorted(kwargs)}."
                )
            missing = [name for name in inputs if name not in kwargs]
            if missing:
                raise IndicatorError(f"{self.spec.name}.update is missing input(s) {missing}.")
            return tuple(float(kwargs[name]) for name in inputs)
        if len(args) != len(inputs):
            raise IndicatorError(
                f"{self.spec.name}.update expects {len(inputs)} value(s) "
                f"({', '.join(inputs)}) but got {len(args)}."
            )
        return tuple(float(v) for v in args)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        raise NotImplementedError

    def _clear(self) -> None:
        raise NotImplementedError


class WindowStream(StreamingIndicator):
    """Exact streaming for finite-memory indicators: rerun the kernel on the last rows.

    The ring stores each row twice (at ``i`` and ``i + size``) so the newest ``size`` rows
    are always one contiguous slice, which the kernel needs.
    """

    def __init__(self, spec: StreamSpec, params: Params, index_outputs: bool = False) -> None:
        super().__init__(spec, params)
        self._size = self.lookback + 1
        self._ring = np.zeros((len(spec.inputs), 2 * self._size))
        self._position = 0
        # MAXINDEX-style outputs are positions in the whole series, not in the window.
        self._index_outputs = index_outputs

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        size = self._size
        position = self._position
        for k, value in enumerate(row):
            self._ring[k, position] = value
            self._ring[k, position + size] = value
        self._position = (position + 1) % size
        if self._rows < size:
            return tuple(math.nan for _ in self.spec.outputs)
        begin = self._position
        window = [self._ring[k, begin : begin + size] for k in range(len(row))]
        outputs = self.spec.kernel(window, self.params)
        offset = float(self._rows - size + self._skipped) if self._index_outputs else 0.0
        return tuple(float(out[-1]) + offset for out in outputs)

    def _clear(self) -> None:
        self._ring[:] = 0.0
        self._position = 0


class HistoryStream(StreamingIndicator):
    """Exact but O(n) streaming: rerun the batch kernel over every row seen so far."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._data = np.zeros((len(spec.inputs), 64))

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        count = self._rows
        if count > self._data.shape[1]:
            grown = np.zeros((self._data.shape[0], 2 * self._data.shape[1]))
            grown[:, : self._data.shape[1]] = self._data
            self._data = grown
        self._data[:, count - 1] = row
        if count <= self.lookback:
            return tuple(math.nan for _ in self.spec.outputs)
        arrays = [np.ascontiguousarray(self._data[k, :count]) for k in range(len(row))]
        return tuple(float(out[-1]) for out in self.spec.kernel(arrays, self.params))

    def _clear(self) -> None:
        self._data = np.zeros((len(self.spec.inputs), 64))
