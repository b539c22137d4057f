"""Rolling z-score reversion, traded only when ADX says the market is not trending.

The idea: ``z = (close - SMA(lookback)) / STDDEV(lookback)`` measures how far the close is
from its recent mean in units of recent dispersion. Far-from-mean closes revert in a range
market and keep going in a trend, so entries are taken only while the ADX (Wilder's average
directional index, TA-Lib's ``ADX``) is at or below ``adx_max``: a low ADX means no
directional trend. SMA, STDDEV (population, as TA-Lib) and ADX are read through the Context
API, so a decision on bar t sees bars up to t only.

Rules, evaluated at each bar's close (orders fill at the next bar's open by default):

- flat, ``ADX <= adx_max`` and ``-stop_z < z < -entry_z`` → long ``target_percent``;
- flat, ``allow_short``, ``ADX <= adx_max`` and ``entry_z < z < stop_z`` → short;
- long and ``z >= -exit_z`` → close (reverted); long and ``z <= -stop_z`` → close (stop);
- short and ``z <= exit_z`` → close; short and ``z >= stop_z`` → close (stop).

The regime filter gates entries only; an open position is managed by z alone. A window with
zero dispersion (a flat price) has no z-score and is skipped. ``stop_z = 0`` turns the stop
off (and then any z beyond ``entry_z`` enters).

Known failure modes: ADX lags (14-bar smoothing twice), so the first leg of a new trend
still looks like a range and is faded; the z-score's own mean and deviation move with the
price, so a slow trend drags the exit level along (the exit comes at a loss); the stop in
z-units widens with volatility, so a volatility burst makes it far in price.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import Bar
from engine.strategy import Context, Indicator, Strategy


@dataclass(frozen=True)
class ZScoreReversionParams:
    """Parameters of `ZScoreReversion`.

    Attributes:
        lookback: Bars in the rolling mean and standard deviation.
        entry_z: Enter when the z-score is beyond ``±entry_z``.
        exit_z: Close when the z-score is back within ``∓exit_z`` (0: at the mean).
        stop_z: Close (and do not enter) when it is beyond ``±stop_z``; 0 turns it off.
        adx_period: ADX period in bars.
        adx_max: Enter only while ADX is at or below this (100 disables the filter).
        target_percent: Position size as a fraction of equity (1.0 = all-in).
        allow_short: Also sell z-scores above ``entry_z``.
    """

    lookback: int = 48
    entry_z: float = 2.0
    exit_z: float = 0.0
    stop_z: float = 4.0
    adx_period: int = 14
    adx_max: float = 25.0
    target_percent: float = 1.0
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.lookback < 2:
            raise ValueError(f"lookback must be >= 2, got {self.lookback}")
        if not 0 <= self.exit_z < self.entry_z:
            raise ValueError(
                f"need 0 <= exit_z < entry_z, got exit_z={self.exit_z}, entry_z={self.entry_z}"
            )
        if self.stop_z != 0 and not self.stop_z > self.entry_z:
            raise ValueError(f"stop_z must be 0 (off) or > entry_z, got {self.stop_z}")
        if self.adx_period < 2:
            raise ValueError(f"adx_period must be >= 2, got {self.adx_period}")
        if not 0 < self.adx_max <= 100:
            raise ValueError(f"adx_max must be in (0, 100], got {self.adx_max}")
        if not 0 < self.target_percent <= 1:
            raise ValueError(f"target_percent must be in (0, 1], got {self.target_percent}")


class ZScoreReversion(Strategy):
    """Mean reversion: fade rolling z-score extremes while ADX shows no trend."""

    Params = ZScoreReversionParams
    params: ZScoreReversionParams

    def on_start(self, ctx: Context) -> None:
        """Declare SMA, STDDEV and ADX on every symbol."""
        p = self.params
        self.mean: dict[str, Indicator] = {}
        self.stddev: dict[str, Indicator] = {}
        self.adx: dict[str, Indicator] = {}
        for s in ctx.symbols:
            self.mean[s] = ctx.indicator("sma", s, timeperiod=p.lookback)
            self.stddev[s] = ctx.indicator("stddev", s, timeperiod=p.lookback, nbdev=1.0)
            self.adx[s] = ctx.indicator("adx", s, timeperiod=p.adx_period)

    def zscore(self, symbol: str, close: float) -> float | None:
        """Return the current bar's z-score, or None in warm-up or on a flat window."""
        mean, stddev = self.mean[symbol], self.stddev[symbol]
        if not (mean.is_ready and stddev.is_ready) or stddev[-1] <= 0:
            return None
        return (close - mean[-1]) / stddev[-1]

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Fade extremes in a range market; exit at the mean or at the stop."""
        symbol, p = bar.symbol, self.params
        z = self.zscore(symbol, bar.close)
        if z is None:
            return
        stop = p.stop_z if p.stop_z > 0 else float("inf")
        position = ctx.position(symbol)
        if position > 0:
            if z >= -p.exit_z or z <= -stop:
                ctx.close_position(symbol)
            return
        if position < 0:
            if z <= p.exit_z or z >= stop:
                ctx.close_position(symbol)
            return
        adx = self.adx[symbol]
        if not (adx.is_ready and adx[-1] <= p.adx_max):
            return
        if -stop < z < -p.entry_z:
            ctx.order_target_percent(symbol, p.target_percent)
        elif p.allow_short and p.entry_z < z < stop:
            ctx.order_target_percent(symbol, -p.target_percent)
