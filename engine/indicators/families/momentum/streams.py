"""O(1) streams for the momentum family: RSI/CMO, MACD, DI/DX/ADX, DM, TSI, MOM/ROC, FOSC, ...

Each replays its batch kernel's seeding and arithmetic bar by bar in plain Python floats,
so fed the same rows it returns the batch numbers (the parity tests compare them).
APO/PPO, TRIX, WILLR and other names whose class also serves another family stream
through :mod:`engine.indicators.streams_shared`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from engine.indicators._common import Params
from engine.indicators.stream_parts import WMA, EmaCore, MaCore, true_range
from engine.indicators.streaming import StreamingIndicator

if TYPE_CHECKING:
    from engine.indicators.streaming import StreamSpec


NAN = math.nan


def _is_zero(value: float) -> bool:
    return value == 0.0


class RsiStream(StreamingIndicator):
    """RSI (and CMO) with TA-Lib's Wilder smoothing of gains and losses."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._chande = spec.name == "cmo"  # CMO shares RSI's smoothing, not its ratio
        self._previous = NAN
        self._count = 0
        self._gain = 0.0
        self._loss = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        previous, self._previous = self._previous, value
        self._count += 1
        if self._count == 1:
            return (NAN,)
        change = value - previous
        period = self._period
        if self._count <= period + 1:
            if change < 0:
                self._loss -= change
            else:
                self._gain += change
            if self._count < period + 1:
                return (NAN,)
            self._gain /= period
            self._loss /= period
        else:
            self._loss *= period - 1
            self._gain *= period - 1
            if change < 0:
                self._loss -= change
            else:
                self._gain += change
            self._loss /= period
            self._gain /= period
        total = self._gain + self._loss
        if not total > 0.0:
            return (0.0,)
        if self._chande:
            return (100.0 * ((self._gain - self._loss) / total),)
        return (100.0 * (self._gain / total),)

    def _clear(self) -> None:
        self._previous = NAN
        self._count = 0
        self._gain = 0.0
        self._loss = 0.0


class MacdStream(StreamingIndicator):
    """MACD / MACDFIX: fast EMA seeded over the bars ending where the slow one starts."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        fixed = spec.name == "macdfix"
        fast, slow = (12, 26) if fixed else (int(params["fastperiod"]), int(params["slowperiod"]))
        fast, slow = min(fast, slow), max(fast, slow)
        self._fast_period, self._slow_period = fast, slow
        self._fast = EmaCore(fast, 0.15 if fixed else 2.0 / (fast + 1))
        self._slow = EmaCore(slow, 0.075 if fixed else 2.0 / (slow + 1))
        signal = int(params["signalperiod"])
        self._signal = EmaCore(signal, 2.0 / (signal + 1))
        self._count = 0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        self._count += 1
        slow = self._slow.push(value)
        if self._count > self._slow_period - self._fast_period:
            fast = self._fast.push(value)
        else:
            fast = NAN
        if math.isnan(slow):
            return (NAN, NAN, NAN)
        line = fast - slow
        signal = self._signal.push(line)
        if math.isnan(signal):
            return (NAN, NAN, NAN)
        return (line, signal, line - signal)

    def _clear(self) -> None:
        self._fast.clear()
        self._slow.clear()
        self._signal.clear()
        self._count = 0


class DirectionalStream(StreamingIndicator):
    """+DI, -DI, DX, ADX and ADXR (period > 1) with TA-Lib's Wilder smoothing."""

    MODES: ClassVar[dict[str, int]] = {"plus_di": 0, "minus_di": 1, "dx": 2, "adx": 3, "adxr": 4}
    _count: int
    _previous: tuple[float, ...]
    _plus: float
    _minus: float
    _tr: float
    _dx: float
    _adx: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = self.MODES[spec.name]
        self._history: deque[float] = deque(maxlen=max(self._period - 1, 1))
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        high, low, _ = row
        count = self._count = self._count + 1
        if count == 1:
            self._previous = row
            return (NAN,)
        previous_high, previous_low, previous_close = self._previous
        self._previous = row
        up = high - previous_high
        down = previous_low - low
        plus = up if (up > 0 and up > down) else 0.0
        minus = down if (down > 0 and down > up) else 0.0
        tr = true_range(high, low, previous_close)
        period = self._period
        if count <= period:
            self._plus += plus
            self._minus += minus
            self._tr += tr
            return (NAN,)
        self._plus = self._plus - self._plus / period + plus
        self._minus = self._minus - self._minus / period + minus
        self._tr = self._tr - self._tr / period + tr
        mode = self._mode
        small = self._tr == 0.0
        if mode < 2:
            move = self._plus if mode == 0 else self._minus
            return (0.0 if small else 100.0 * (move / self._tr),)
        value = -1.0
        if not small:
            minus_di = 100.0 * (self._minus / self._tr)
            plus_di = 100.0 * (self._plus / self._tr)
            total = minus_di + plus_di
            if total != 0.0:
                value = 100.0 * (abs(minus_di - plus_di) / total)
        if mode == 2:
            if value >= 0.0:
                self._dx = value
            return (self._dx,)
        bars = count - 1 - period  # DX values seen before this one
        if bars < period - 1:
            self._adx += max(value, 0.0)
            return (NAN,)
        if bars == period - 1:
            self._adx = (self._adx + max(value, 0.0)) / period
        elif value >= 0.0:
            self._adx = (self._adx * (period - 1) + value) / period
        adx = self._adx
        if mode == 3:
            return (adx,)
        if len(self._history) < self._history.maxlen:  # type: ignore[operator]
            self._history.append(adx)
            return (NAN,)
        old = self._history[0]
        self._history.append(adx)
        return ((adx + old) / 2.0,)

    def _clear(self) -> None:
        self._count = 0
        self._previous = (NAN, NAN, NAN)
        self._plus = self._minus = self._tr = 0.0
        self._dx = 0.0
        self._adx = 0.0
        self._history.clear()


class DmStream(StreamingIndicator):
    """+DM / -DM with Wilder smoothing (period 1: the raw movement)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._plus = spec.name == "plus_dm"
        self._previous: tuple[float, ...] = ()
        self._count = 0
        self._total = 0.0

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        self._count += 1
        if self._count == 1:
            self._previous = row
            return (NAN,)
        high, low = row
        up = high - self._previous[0]
        down = self._previous[1] - low
        self._previous = row
        move = (
            (up if (up > 0 and up > down) else 0.0)
            if self._plus
            else (down if (down > 0 and down > up) else 0.0)
        )
        period = self._period
        if period <= 1:
            return (move,)
        if self._count < period:
            self._total += move
            return (NAN,)
        if self._count == period:
            self._total += move
        else:
            self._total = self._total - self._total / period + move
        return (self._total,)

    def _clear(self) -> None:
        self._previous = ()
        self._count = 0
        self._total = 0.0


class TsiStream(StreamingIndicator):
    """True strength index: two double-smoothed EMAs of momentum and |momentum|."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        first, second = int(params["firstperiod"]), int(params["secondperiod"])
        self._cores = [
            EmaCore(first, 2.0 / (first + 1)),
            EmaCore(second, 2.0 / (second + 1)),
            EmaCore(first, 2.0 / (first + 1)),
            EmaCore(second, 2.0 / (second + 1)),
        ]
        self._previous = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        previous, self._previous = self._previous, value
        if math.isnan(previous):
            return (NAN,)
        momentum = value - previous
        top_single, top_double, bottom_single, bottom_double = self._cores
        top = top_single.push(momentum)
        bottom = bottom_single.push(abs(momentum))
        if math.isnan(top):
            return (NAN,)
        top = top_double.push(top)
        bottom = bottom_double.push(bottom)
        if math.isnan(top):
            return (NAN,)
        return (0.0 if bottom == 0.0 else 100.0 * (top / bottom),)

    def _clear(self) -> None:
        for core in self._cores:
            core.clear()
        self._previous = NAN


class LagStream(StreamingIndicator):
    """MOM and the ROC family: compare the value with the one ``timeperiod`` bars back."""

    MODES: dict[str, int] = {"mom": 0, "roc": 1, "rocp": 2, "rocr": 3, "rocr100": 4}  # noqa: RUF012

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = self.MODES[spec.name]
        self._window: deque[float] = deque(maxlen=self._period + 1)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        window = self._window
        window.append(value)
        if len(window) <= self._period:
            return (math.nan,)
        previous = window[0]
        mode = self._mode
        if mode == 0:
            return (value - previous,)
        if previous == 0.0:
            return (0.0,)
        if mode == 1:
            return (((value / previous) - 1.0) * 100.0,)
        if mode == 2:
            return ((value - previous) / previous,)
        if mode == 3:
            return (value / previous,)
        return ((value / previous) * 100.0,)

    def _clear(self) -> None:
        self._window.clear()


class CoppockStream(StreamingIndicator):
    """COPPOCK: WMA of the sum of two rates of change."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._roc1 = int(params["roc1period"])
        self._roc2 = int(params["roc2period"])
        self._prices: deque[float] = deque(maxlen=max(self._roc1, self._roc2) + 1)
        self._wma = MaCore(int(params["wmaperiod"]), WMA)

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        prices = self._prices
        prices.append(row[0])
        if len(prices) < prices.maxlen:  # type: ignore[operator]
            return (NAN,)
        return (self._wma.push(self._roc(self._roc1) + self._roc(self._roc2)),)

    def _roc(self, period: int) -> float:
        previous = self._prices[-1 - period]
        return 0.0 if previous == 0.0 else ((self._prices[-1] / previous) - 1.0) * 100.0

    def _clear(self) -> None:
        self._prices.clear()
        self._wma.clear()


class ChangeSumStream(StreamingIndicator):
    """ER (net over summed absolute change), CMOU (plain-sum CMO) and IMI (candle bodies)."""

    _previous: float
    _up: float
    _down: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._mode = {"er": 0, "cmou": 1, "imi": 2}[spec.name]
        self._moves: deque[float] = deque()
        # ER compares the price with the one ``period`` bars back.
        self._prices: deque[float] = deque(maxlen=self._period + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        mode = self._mode
        if mode == 2:
            move = row[1] - row[0]  # the candle body; IMI's window counts bodies
        else:
            previous, self._previous = self._previous, row[0]
            self._prices.append(row[0])
            if previous != previous:
                return (NAN,)
            move = row[0] - previous
        moves = self._moves
        moves.append(move)
        if mode == 0:
            self._up += abs(move)
        elif move > 0:
            self._up += move
        else:
            self._down -= move
        if len(moves) < self._period:
            return (NAN,)
        if mode == 0:
            net = abs(self._prices[-1] - self._prices[0])
            noise = self._up
            value = 1.0 if (noise <= net) | _is_zero(noise) else net / noise
        else:
            total = self._up + self._down
            if mode == 1:
                value = 0.0 if _is_zero(total) else 100.0 * ((self._up - self._down) / total)
            else:
                value = 50.0 if _is_zero(total) else 100.0 * (self._up / total)
        old = moves.popleft()
        if mode == 0:
            self._up -= abs(old)
        elif old > 0:
            self._up -= old
        else:
            self._down += old
        return (value,)

    def _clear(self) -> None:
        self._moves.clear()
        self._prices.clear()
        self._previous = NAN
        self._up = self._down = 0.0


class DpoStream(StreamingIndicator):
    """DPO: the price ``period / 2 + 1`` bars ago minus the current SMA."""

    _seen: int
    _total: float

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._period = int(params["timeperiod"])
        self._shift = self._period // 2 + 1
        self._prices: deque[float] = deque(maxlen=max(self._period, self._shift) + 1)
        self._clear()

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        prices = self._prices
        prices.append(row[0])
        index = self._seen
        self._seen += 1
        self._total += row[0]
        period = self._period
        if index >= period:
            self._total -= prices[-1 - period]
        if index < max(period - 1, self._shift):
            return (NAN,)
        return (prices[-1 - self._shift] - self._total * (1.0 / period),)

    def _clear(self) -> None:
        self._prices.clear()
        self._seen = 0
        self._total = 0.0


class FoscStream(StreamingIndicator):
    """FOSC: % gap between the price and the previous bar's time-series forecast (TSF)."""

    def __init__(self, spec: StreamSpec, params: Params) -> None:
        super().__init__(spec, params)
        self._tsf = spec.sibling_stream("tsf", timeperiod=int(params["timeperiod"]))
        self._forecast = NAN

    def _step(self, row: tuple[float, ...]) -> tuple[float, ...]:
        value = row[0]
        forecast, self._forecast = self._forecast, float(self._tsf.update(value))  # type: ignore[arg-type]
        if forecast != forecast:
            return (NAN,)
        return (0.0 if value == 0.0 else 100.0 * (value - forecast) / value,)

    def _clear(self) -> None:
        self._tsf.reset()
        self._forecast = NAN
