"""Running-state building blocks shared by several families' O(1) streams.

Plain-Python pieces that replay a batch kernel's arithmetic one value at a time: the true
range in TA-Lib's comparison order, an exponential average seeded by its first mean
(:class:`EmaCore`), one moving-average leg of any streamed MA type (:class:`MaCore`), a
rolling max/min over a monotonic deque (:class:`MonotonicExtreme`) and the WMA window
re-sum. They are not indicators themselves; the family ``streams`` modules compose them.
Nothing here imports a family, so every family may import this module.
"""

from __future__ import annotations

import math
from collections import deque

from engine.indicators.kernels_window import wma_reanchor_interval

NAN = math.nan
# MA type codes as TA-Lib numbers them (composite.ma's dispatch).
SMA, EMA, WMA, IDENTITY, WILDER = 0, 1, 2, 10, 13


def true_range(high: float, low: float, previous_close: float) -> float:
    """True range in TA-Lib's comparison order."""
    greatest = high - low
    up = abs(previous_close - high)
    if up > greatest:
        greatest = up
    down = abs(previous_close - low)
    return down if down > greatest else greatest


class EmaCore:
    """An exponential average seeded by the mean of its first ``period`` inputs."""

    __slots__ = ("count", "k", "period", "value")

    def __init__(self, period: int, k: float) -> None:
        self.period = period
        self.k = k
        self.count = 0
        self.value = 0.0

    def push(self, x: float) -> float:
        """Add one input; return the average, or NaN during warm-up."""
        self.count += 1
        if self.count < self.period:
            self.value += x
            return NAN
        if self.count == self.period:
            self.value = (self.value + x) / self.period
            return self.value
        self.value = (x - self.value) * self.k + self.value
        return self.value

    def clear(self) -> None:
        """Forget all inputs."""
        self.count = 0
        self.value = 0.0


class MonotonicExtreme:
    """Rolling max (or min) of the last ``period`` pushes: amortised O(1) per push.

    The deque holds (position, value) pairs whose values decrease (increase for a min)
    from front to back; anything a newer value dominates can never be the extreme again.
    """

    __slots__ = ("count", "items", "period", "sign")

    def __init__(self, period: int, is_max: bool) -> None:
        self.period = period
        self.sign = 1.0 if is_max else -1.0
        self.items: deque[tuple[int, float]] = deque()
        self.count = 0

    def push(self, value: float) -> float:
        """Add one value; return the extreme of the last ``period`` values seen."""
        items = self.items
        key = self.sign * value
        while items and self.sign * items[-1][1] <= key:
            items.pop()
        items.append((self.count, value))
        self.count += 1
        if items[0][0] <= self.count - 1 - self.period:
            items.popleft()
        return items[0][1]

    def clear(self) -> None:
        """Forget every value."""
        self.items.clear()
        self.count = 0


def wma_window_sums(window: deque[float]) -> tuple[float, float]:
    """Return a WMA window's weighted and plain sums exactly as the kernels' ``wma_sums``."""
    weighted = 0.0
    plain = 0.0
    for value in reversed(window):
        plain += value
        weighted += plain
    return weighted, plain


STREAMED_MATYPES = frozenset({SMA, EMA, WMA, IDENTITY, WILDER})


class MaCore:
    """One moving-average leg fed value by value, as ``composite.ma`` computes it batch-wise.

    SMA keeps a running sum (add, emit, drop oldest); EMA and Wilder are seeded by the mean
    of their first ``period`` inputs; WMA keeps weighted and plain sums; a period of 1 (or
    MA type 10) passes values through.
    """

    __slots__ = ("count", "divider", "k", "kind", "period", "plain", "total", "window")

    def __init__(self, period: int, kind: int) -> None:
        self.period = period
        self.kind = IDENTITY if period <= 1 else kind
        self.k = 1.0 / period if kind == WILDER else 2.0 / (period + 1)
        self.divider = period * (period + 1) / 2.0
        self.window: deque[float] = deque()
        self.count = 0
        self.total = 0.0
        self.plain = 0.0

    def clear(self) -> None:
        """Forget every input."""
        self.window.clear()
        self.count = 0
        self.total = 0.0
        self.plain = 0.0

    def push(self, value: float) -> float:
        """Add one input; return the average, or NaN during the warm-up."""
        kind = self.kind
        if kind == IDENTITY:
            return value
        period = self.period
        if kind == SMA:
            window = self.window
            window.append(value)
            self.total += value
            if len(window) < period:
                return NAN
            total = self.total
            self.total = total - window.popleft()
            return total * (1.0 / period)
        if kind == WMA:
            window = self.window
            window.append(value)
            count = len(window)
            if count < period:
                self.total += value * count
                self.plain += value
                return NAN
            outputs = self.count
            self.count = outputs + 1
            if outputs and outputs % wma_reanchor_interval(period) == 0:
                weighted, plain = wma_window_sums(window)  # the kernel's exact re-sum
            else:
                weighted = self.total + value * period
                plain = self.plain + value
            self.total = weighted - plain
            self.plain = plain - window.popleft()
            return weighted / self.divider
        self.count += 1
        if self.count < period:
            self.total += value
            return NAN
        if self.count == period:
            self.total = (self.total + value) / period
        else:
            self.total = self.total * (1.0 - self.k) + value * self.k
        return self.total
