"""O(1) streams for the statistic family (VAR, STDDEV, LINEARREG*, TSF, BETA, CORREL, PERCENT*).

:class:`~engine.indicators.streaming.WindowStream` reruns the numba kernel over the last
``lookback + 1`` rows on every update: exact, but ~2-3 µs of numpy and dispatch overhead per
bar. The classes here keep running state in plain Python floats instead (a deque for the
window, running sums, a monotonic deque for extremes) and replay the batch kernel's
arithmetic in the same order, so fed the same rows they return the batch numbers.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from engine.indicators._common import BETA_FRESH_SUMS, Params
from engine.indicators.kernels_window import reanchor_interval
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


class MomentStream(StreamingIndicator):
    """VAR and STDDEV with the batch kernel's anchored sums (re-centred as it does)."""

    _seen: int
    _phase: int
    _changes: int
    _anchor: float
    _s1: float
    _s2: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._root = spec.name == "stddev"
        self._scale = float(params.get("nbdev", 1.0))
        # TA-Lib's VAR with period 1 is identically 0 (the batch kernel special-cases it).
        self._zero = spec.name == "var" and self._period == 1
        self._window: deque[float] = deque(maxlen=self._period + 1)
        self._interval = reanchor_interval(self._period)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        if self._zero:
            return (0.0,)
        variance = self._variance(row[0])
        if variance != variance or not self._root:
            return (variance,)
        return (math.sqrt(variance) * self._scale,)

    def _variance(self, value: float) -> float:
        """Add one value; return the clamped population variance (NaN in the warm-up)."""
        window = self._window
        if window:
            self._changes += value != window[-1]
        window.append(value)
        period = self._period
        if len(window) > period:
            # The pair leaving the window (its first two values) no longer counts.
            self._changes -= window[0] != window[1]
        seen = self._seen = self._seen + 1
        if seen < period:
            return NAN
        if self._phase == 0:
            values = list(window)[-period:]
            total = 0.0
            for value in values:
                total += value
            anchor = self._anchor = total / period
            s1 = s2 = 0.0
            for value in values:
                d = value - anchor
                s1 += d
                s2 += d * d
        else:
            anchor = self._anchor
            d_new = value - anchor
            d_old = window[0] - anchor
            s1 = self._s1 + (d_new - d_old)
            s2 = self._s2 + (d_new * d_new - d_old * d_old)
        self._s1, self._s2 = s1, s2
        self._phase = self._phase + 1 if self._phase + 1 < self._interval else 0
        if not self._changes:
            return 0.0  # a flat window, exactly (as the kernel's change count)
        inverse = 1.0 / period
        m1 = s1 * inverse
        variance = s2 * inverse - m1 * m1
        return variance if variance > 0.0 else 0.0

    def _clear(self) -> None:
        self._window.clear()
        self._seen = 0
        self._phase = 0
        self._changes = 0
        self._anchor = self._s1 = self._s2 = 0.0


class LinregStream(StreamingIndicator):
    """LINEARREG and kin with the batch kernel's anchored, periodically exact sums."""

    _seen: int
    _phase: int
    _changes: int
    _anchor: float
    _sum_y: float
    _sum_xy: float

    MODES: ClassVar[dict[str, int]] = {
        "linearreg": 0,
        "linearreg_slope": 1,
        "linearreg_intercept": 2,
        "linearreg_angle": 3,
        "tsf": 4,
    }

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        period = self._period = int(params["timeperiod"])
        self._mode = self.MODES[spec.name]
        self._sum_x = period * (period - 1) * 0.5
        sum_xx = period * (period - 1) * (2 * period - 1) / 6.0
        self._divisor = self._sum_x * self._sum_x - period * sum_xx
        self._window: deque[float] = deque(maxlen=period + 1)
        self._interval = reanchor_interval(period)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        window = self._window
        window.append(value)
        period = self._period
        seen = self._seen = self._seen + 1
        if seen < period:
            return (NAN,)
        if self._phase == 0:
            anchor = self._anchor = value
            sum_y = sum_xy = 0.0
            for i in range(period):
                shifted = window[-1 - i] - anchor
                sum_y += shifted
                sum_xy += i * shifted
        else:
            anchor = self._anchor
            sum_xy = self._sum_xy + (self._sum_y - period * (window[0] - anchor))
            sum_y = self._sum_y + (value - window[0])
        self._sum_y, self._sum_xy = sum_y, sum_xy
        self._phase = self._phase + 1 if self._phase + 1 < self._interval else 0
        sum_x = self._sum_x
        slope = (period * sum_xy - sum_x * sum_y) / self._divisor
        intercept = (sum_y - slope * sum_x) / period + anchor
        mode = self._mode
        if mode == 0:
            return (intercept + slope * (period - 1),)
        if mode == 1:
            return (slope,)
        if mode == 2:
            return (intercept,)
        if mode == 3:
            return (math.atan(slope) * (180.0 / math.pi),)
        return (intercept + slope * period,)

    def _clear(self) -> None:
        self._window.clear()
        self._seen = 0
        self._phase = 0
        self._anchor = self._sum_y = self._sum_xy = 0.0


class BetaStream(StreamingIndicator):
    """BETA of the second input's one-bar returns on the first's (exact kernel arithmetic)."""

    _previous: tuple[float, ...] | None
    _moves_x: int
    _moves_y: int
    _s_xx: float
    _s_xy: float
    _s_x: float
    _s_y: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._returns: deque[tuple[float, float]] = deque()
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        previous, self._previous = self._previous, row
        if previous is None:
            return (NAN,)
        x, y = row
        px, py = previous
        rx = 0.0 if px == 0.0 else (x - px) / px
        ry = 0.0 if py == 0.0 else (y - py) / py
        returns = self._returns
        returns.append((rx, ry))
        self._moves_x += rx != 0.0
        self._moves_y += ry != 0.0
        self._s_xx += rx * rx
        self._s_xy += rx * ry
        self._s_x += rx
        self._s_y += ry
        if len(returns) < self._period:
            return (NAN,)
        period = self._period
        if period <= BETA_FRESH_SUMS:  # as the kernel: short windows summed afresh
            s_xx = s_xy = s_x = s_y = 0.0
            for a, b in returns:
                s_xx += a * a
                s_xy += a * b
                s_x += a
                s_y += b
            self._s_xx, self._s_xy, self._s_x, self._s_y = s_xx, s_xy, s_x, s_y
        denominator = period * self._s_xx - self._s_x * self._s_x
        if denominator == 0.0:
            value = 0.0
        else:
            value = (period * self._s_xy - self._s_x * self._s_y) / denominator
        old_x, old_y = returns.popleft()
        self._s_xx -= old_x * old_x
        self._s_xy -= old_x * old_y
        self._s_x -= old_x
        self._s_y -= old_y
        # As the kernel: an input with no move left in the window has sums of exactly 0.
        self._moves_x -= old_x != 0.0
        self._moves_y -= old_y != 0.0
        if not self._moves_x:
            self._s_xx = self._s_x = self._s_xy = 0.0
        if not self._moves_y:
            self._s_y = self._s_xy = 0.0
        return (value,)

    def _clear(self) -> None:
        self._returns.clear()
        self._previous = None
        self._s_xx = self._s_xy = self._s_x = self._s_y = 0.0
        self._moves_x = self._moves_y = 0


class CorrelStream(StreamingIndicator):
    """CORREL with the batch kernel's sums, re-anchored on the newest bar every period."""

    _sums: list[float]
    _counts: list[int]
    _countdown: int
    _seen: int
    _anchor: tuple[float, float]

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._pairs: deque[tuple[float, float]] = deque(maxlen=self._period + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        x, y = row
        pairs = self._pairs
        counts = self._counts
        if pairs:
            counts[0] += x != pairs[-1][0]
            counts[1] += y != pairs[-1][1]
        pairs.append((x, y))
        period = self._period
        if len(pairs) > period:
            # The pair of bars leaving the window no longer counts (as ``changes_in``).
            counts[0] -= pairs[0][0] != pairs[1][0]
            counts[1] -= pairs[0][1] != pairs[1][1]
        self._seen += 1
        if self._seen < period:
            return (NAN,)
        if self._countdown == 0:
            self._countdown = period
            self._anchor = (x, y)
            s_x = s_y = s_xx = s_yy = s_xy = 0.0
            for px, py in list(pairs)[-period:]:
                dx = px - x
                dy = py - y
                s_x += dx
                s_y += dy
                s_xx += dx * dx
                s_yy += dy * dy
                s_xy += dx * dy
        else:
            ax, ay = self._anchor
            s_x, s_y, s_xx, s_yy, s_xy = self._sums
            dx = x - ax
            dy = y - ay
            ox = pairs[0][0] - ax
            oy = pairs[0][1] - ay
            s_x += dx - ox
            s_y += dy - oy
            s_xx += dx * dx - ox * ox
            s_yy += dy * dy - oy * oy
            s_xy += dx * dy - ox * oy
        self._countdown -= 1
        self._sums = [s_x, s_y, s_xx, s_yy, s_xy]
        spread = (s_xx - s_x * s_x / period) * (s_yy - s_y * s_y / period)
        if not (counts[0] and counts[1]):
            return (0.0,)  # a flat input: no spread, as the kernel
        r = (s_xy - s_x * s_y / period) / math.sqrt(spread) if spread > 0.0 else 0.0
        return (min(max(r, -1.0), 1.0),)

    def _clear(self) -> None:
        self._pairs.clear()
        self._seen = 0
        self._countdown = 0
        self._anchor = (0.0, 0.0)
        self._sums = [0.0] * 5
        self._counts = [0, 0]


class PercentileStream(StreamingIndicator):
    """PERCENTILE: nearest-rank percentile of the last ``period`` values (sorted window)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        period = self._period = int(params["timeperiod"])
        rank = math.ceil(float(params["percentile"]) / 100.0 * period)
        self._rank = min(max(rank, 1), period) - 1
        self._values: deque[float] = deque()
        self._sorted: list[float] = []

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        values = self._values
        values.append(value)
        bisect.insort(self._sorted, value)
        if len(values) > self._period:
            old = values.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        if len(values) < self._period:
            return (NAN,)
        return (self._sorted[self._rank],)

    def _clear(self) -> None:
        self._values.clear()
        self._sorted.clear()


class PercentRankStream(StreamingIndicator):
    """PERCENTRANK: share of the previous ``period`` values below the current one.

    A sorted copy of the window turns the count into a binary search.
    """

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._values: deque[float] = deque()
        self._sorted: list[float] = []

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        values = self._values
        result = NAN
        if len(values) == self._period:
            result = 100.0 * bisect.bisect_left(self._sorted, value) / self._period
            del self._sorted[bisect.bisect_left(self._sorted, values.popleft())]
        values.append(value)
        bisect.insort(self._sorted, value)
        return (result,)

    def _clear(self) -> None:
        self._values.clear()
        self._sorted.clear()
