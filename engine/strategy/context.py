"""`Context`: everything a strategy may see and do, and nothing else.

In: the clock, the bus, read-only views of the portfolio and of open orders, the bar
history and the instruments. Out: commands on the bus (`OrderRequested`,
`CancelRequested`, `ModifyRequested`: the order methods live in `engine.strategy.orders`,
which `Context` inherits); risk and execution decide what becomes of them and answer with events
(`OrderDenied`, `OrderFilled`, …) delivered to the strategy's hooks. The context never
fills, sizes against risk limits or touches the broker itself, so the same strategy code
runs in backtest, paper and live.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd

from engine.bus import EventBus
from engine.cache import SymbolHistory
from engine.clock import Clock
from engine.errors import IndicatorError, StrategyError, did_you_mean
from engine.feeds.timeframe import parse_timeframe
from engine.indicators import registry
from engine.model import (
    Instrument,
    OrderSide,
    OrderType,
    TrailingOffsetType,
)
from engine.risk.sizing import Sizer, SizingInputs, average_true_range, realized_volatility
from engine.risk.sizing import size as size_signal
from engine.strategy.history import Declaration, Indicator, precomputed_indicator
from engine.strategy.orders import OrderMethods, OrdersView, PortfolioView, choice

__all__ = ["Context", "OrdersView", "PortfolioView", "input_columns"]

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


class TimerService(Protocol):
    """Schedules callbacks on the run's clock (`engine.clock.SimClock` in backtests)."""

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        callback: Callable[[str, int], None],
        start_ns: int | None = None,
    ) -> None:
        """Call ``callback(name, ts)`` every ``interval_ns``."""
        ...


IndicatorFactory = Callable[[str, SymbolHistory, Mapping[str, str], Declaration], Indicator]


class Context(OrderMethods):
    """The strategy's window on the engine. One per strategy, passed to every hook."""

    def __init__(
        self,
        *,
        strategy_id: str,
        clock: Clock,
        bus: EventBus,
        portfolio: PortfolioView,
        orders: OrdersView,
        histories: Mapping[str, SymbolHistory],
        instruments: Mapping[str, Instrument],
        sizing_fee_rate: float = 0.0,
        indicator_factory: IndicatorFactory = precomputed_indicator,
        timers: TimerService | None = None,
        fx_rate: Callable[[str], float] | None = None,
        size_at_fill: Callable[[str, float], None] | None = None,
        fee: Callable[[float, float, str], float] | None = None,
    ) -> None:
        """Build a context; ``fx_rate(symbol)`` is the quote-to-account rate now (None: 1).

        ``size_at_fill(order_id, fraction)`` (``execution.target_sizing = "fill"``) hands
        `order_target_percent`'s fraction to the venue, which sizes the order at its fill.
        ``fee`` is the run's `FeeModel.fee`: long targets shrink until its fee fits.
        """
        self.strategy_id = strategy_id
        self._size_at_fill = size_at_fill
        self._fx_rate = fx_rate
        self._clock = clock
        self._bus = bus
        self._waiting = bus.pending  # the bus's queue (one object for the bus's life)
        self._portfolio = portfolio
        self._orders = orders
        self._histories = histories
        self._instruments = instruments
        self._sizing_fee_rate = sizing_fee_rate
        self._fee = fee
        self._indicator_factory = indicator_factory
        self._timers = timers
        # Set by the StrategyRunner: timers call back into the strategy's on_timer hook.
        self.timer_callback: Callable[[str, int], None] | None = None
        self._indicators: dict[tuple[object, ...], Indicator] = {}
        self._next_order = 0
        self._reduce_only_ids: set[str] = set()  # see `OrderMethods`
        self._queued: dict[str, tuple[str, float]] = {}  # see `OrderMethods`

    # --- time and account -------------------------------------------------------------

    @property
    def time_ns(self) -> int:
        """Return the current time in ns since the epoch, UTC (a bar's close time in bars)."""
        return self._clock.timestamp_ns()

    @property
    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._clock.timestamp_ns() / 1e9, tz=UTC)

    @property
    def symbols(self) -> list[str]:
        """Return the symbols this run trades, in config order."""
        return list(self._histories)

    @property
    def cash(self) -> float:
        """Return cash in account currency."""
        return self._portfolio.cash

    @property
    def equity(self) -> float:
        """Return cash plus every position marked at its last close."""
        return self._portfolio.equity()

    def position(self, symbol: str) -> float:
        """Return the signed position in ``symbol``: > 0 long, < 0 short, 0 flat."""
        return self._portfolio.position_quantity(self._known(symbol))

    def history(self, symbol: str, n: int | None = None) -> pd.DataFrame:
        """Return the last ``n`` closed bars of ``symbol`` (open, high, low, close, volume).

        The index is each bar's close time (UTC). The current bar is the last row.
        """
        return self._histories[self._known(symbol)].frame(n)

    # --- indicators -------------------------------------------------------------------

    def indicator(
        self,
        name: str,
        symbol: str,
        source: str = "close",
        inputs: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Indicator:
        """Declare an indicator on ``symbol`` and return it (cached per arguments).

        Args:
            name: TA-Lib function name, any case (``"sma"``, ``"RSI"``, ``"macd"``).
            symbol: The symbol whose bars feed it.
            source: Column for single-series indicators (``close``, ``open``, ``high``,
                ``low``, ``volume``). Indicators that take high/low/close use those.
            inputs: Column per TA-Lib input name, for the two-series functions
                (``real0``/``real1`` of BETA, CORREL, ADD, …: default ``high`` and
                ``low``, as TA-Lib's abstract API) and MAVP's ``periods``.
            **params: TA-Lib parameters (``timeperiod=14``); omitted ones take defaults.

        Returns:
            An `Indicator`: a list of the closed bars' values of its first output
            (``ind[-1]`` is the current bar's), other outputs by ``ind.output(name)``.

        Raises:
            IndicatorError: Unknown name, parameter or source (with the nearest valid name),
                or a ``source`` that feeds nothing (the indicator has no 'real' input, or
                ``inputs`` names its column).
        """
        history = self._histories[self._known(symbol)]
        if source not in PRICE_COLUMNS:
            suggestion = did_you_mean(source, PRICE_COLUMNS)
            raise IndicatorError(f"indicator source {source!r} is not a bar column{suggestion}")
        spec, resolved = registry.resolve(name, params)
        columns = input_columns(spec.name, spec.inputs, source, inputs or {})
        if source != "close" and ("real" not in spec.inputs or "real" in (inputs or {})):
            read = ", ".join(f"{key} = {column}" for key, column in columns.items())
            raise IndicatorError(
                f"{spec.name}: source {source!r} is not used: it reads {read}; remove source "
                "(it picks the column of the input 'real', as for sma or rsi)"
            )
        key = (spec.name, symbol, tuple(columns.items()), tuple(sorted(resolved.items())))
        cached = self._indicators.get(key)
        if cached is not None:
            return cached
        label = f"{spec.name}({', '.join(f'{k}={v}' for k, v in resolved.items())})"

        indicator = self._indicator_factory(label, history, columns, Declaration(spec, resolved))
        self._indicators[key] = indicator
        return indicator

    def declared_indicators(self, symbol: str) -> list[tuple[str, Indicator]]:
        """Return ``(registry name, indicator)`` for each indicator declared on ``symbol``.

        In declaration order. Each indicator holds the values revealed so far (after a
        backtest: one per bar of the symbol). The HTML report draws them on the price chart.
        """
        return [(str(key[0]), ind) for key, ind in self._indicators.items() if key[1] == symbol]

    def indicator_parameters(self) -> list[tuple[str, str, dict[str, int | float]]]:
        """Return ``(registry name, symbol, parameters)`` of each declared indicator.

        In declaration order; the parameters are the resolved ones (defaults filled in). A
        live node sizes its warm-up from them (`engine.runtime.live.warmup`).
        """
        return [
            (str(key[0]), str(key[1]), dict(key[3]))  # type: ignore[call-overload]
            for key in self._indicators
        ]

    def set_timer(self, name: str, interval: str | int) -> None:
        """Call the strategy's ``on_timer(ctx, name)`` every ``interval`` from now.

        Args:
            name: Passed back to ``on_timer``.
            interval: A timeframe string (``"1h"``, ``"1d"``) or nanoseconds.
        """
        if self._timers is None or self.timer_callback is None:
            raise StrategyError("timers are not available in this mode")
        interval_ns = parse_timeframe(interval) if isinstance(interval, str) else int(interval)
        if interval_ns <= 0:
            raise StrategyError(f"set_timer({name!r}): interval must be positive")
        self._timers.set_timer(name, interval_ns, self.timer_callback)

    # --- orders -----------------------------------------------------------------------

    def trailing_stop(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: float,
        *,
        offset: float | None = None,
        percent: float | None = None,
        atr_multiple: float | None = None,
        atr_period: int = 14,
        reduce_only: bool = True,
        tag: str = "",
    ) -> str:
        """Place a trailing stop (market) order; give exactly one of the three offsets.

        Args:
            offset: Distance from the best price since placement, in price units.
            percent: Distance as a percent of the best price (2.0 = 2%).
            atr_multiple: Distance as a multiple of ATR(``atr_period``) at the current bar,
                converted to a price amount now (the trail then keeps that amount).
        """
        side = choice(OrderSide, side, "side")  # before any work: a bad side raises first
        given = [v for v in (offset, percent, atr_multiple) if v is not None]
        if len(given) != 1:
            raise StrategyError("trailing_stop: give one of offset, percent, atr_multiple")
        offset_type = TrailingOffsetType.PRICE if percent is None else TrailingOffsetType.PERCENT
        amount = percent if percent is not None else offset
        if atr_multiple is not None:
            atr = self.indicator("atr", symbol, timeperiod=atr_period)
            amount = atr_multiple * atr.value
        return self.submit_order(
            symbol,
            side,
            quantity,
            order_type=OrderType.TRAILING_STOP,
            trailing_offset=amount,
            trailing_offset_type=offset_type,
            reduce_only=reduce_only,
            tag=tag,
        )

    def fx_rate(self, symbol: str) -> float:
        """Return the price of one unit of ``symbol``'s quote currency in the account currency.

        The rate as of now (the last rate bar closed at or before the current time); 1.0
        for symbols quoted in the account currency; NaN while no rate is known yet.
        """
        return 1.0 if self._fx_rate is None else self._fx_rate(self._known(symbol))

    # --- sizing (engine.risk.sizing; the run's sizer is [risk.sizer]) ------------------

    _sizer: Sizer | None = None

    def use_sizer(self, sizer: Sizer | None) -> None:
        """Set the sizer `size` and `order_target_signal` use by default.

        The kernel sets the run's ``[risk.sizer]``; a strategy may set its own in
        ``on_start`` (e.g. ``ctx.use_sizer(VolatilityTarget(0.01))``).
        """
        self._sizer = sizer

    def size(self, symbol: str, strength: float = 1.0, sizer: Sizer | None = None) -> float:
        """Return the signed quantity for a signal ``strength`` in [-1, 1] on ``symbol``.

        The sizer (``sizer``, else the one set by `use_sizer` / ``[risk.sizer]``) sees the
        equity now, the last close and, if it needs one, the ATR of the last bars — price
        and ATR converted into the account currency at the rate now (`fx_rate`); the
        result is scaled by ``|strength|`` and rounded toward zero to the lot size. 0 when
        nothing can be sized yet (no price, too few bars for the ATR).

        Raises:
            StrategyError: No sizer is set.
        """
        chosen = sizer or self._sizer
        if chosen is None:
            raise StrategyError(
                f"size({symbol!r}): no sizer; add a [risk.sizer] section or call ctx.use_sizer"
            )
        history = self._histories[self._known(symbol)]
        rate = self.fx_rate(symbol)
        price = self._portfolio.last_price(symbol) * rate
        if not (math.isfinite(price) and price > 0):
            return 0.0
        atr = math.nan
        if chosen.atr_period > 0:
            n = len(history)
            columns = history.columns
            if getattr(chosen, "measure", "atr") == "realized":
                atr = realized_volatility(columns["close"][:n], chosen.atr_period)
            else:
                atr = average_true_range(
                    columns["high"][:n], columns["low"][:n], columns["close"][:n], chosen.atr_period
                )
        inputs = SizingInputs(self.equity, price, atr * rate)
        return size_signal(chosen, inputs, strength, self._instruments[symbol])

    def order_target_signal(
        self, symbol: str, strength: float, tag: str = "", sizer: Sizer | None = None
    ) -> str | None:
        """Hold the position `size` gives for ``strength`` (1 long, -1 short, 0 flat).

        Returns the order id, or None if the position (with working orders) is already there.
        """
        if not math.isfinite(strength):
            raise StrategyError(f"order_target_signal({symbol!r}, {strength}): not a number")
        target = self.size(symbol, strength, sizer) if strength else 0.0
        return self.order_target_quantity(symbol, target, tag=tag)


_DEFAULT_COLUMNS = {"real": "close", "real0": "high", "real1": "low"}


def input_columns(
    name: str, wanted: tuple[str, ...], source: str, given: Mapping[str, str]
) -> dict[str, str]:
    """Return the bar column feeding each TA-Lib input of indicator ``name``.

    Shared by ``ctx.indicator`` and `engine.ml.features.build_features`, so a feature
    computed offline reads the same columns as the indicator a strategy declares.
    """
    unknown = [key for key in given if key not in wanted]
    if unknown:
        raise IndicatorError(
            f"{name} has no input {unknown[0]!r}{did_you_mean(unknown[0], wanted)}"
        )
    columns: dict[str, str] = {}
    for input_name in wanted:
        if input_name in given:
            column = given[input_name]
        elif input_name == "real":
            column = source
        elif input_name in PRICE_COLUMNS:
            column = input_name
        elif input_name in _DEFAULT_COLUMNS:
            column = _DEFAULT_COLUMNS[input_name]
        else:
            raise IndicatorError(
                f"{name} needs a column for its input {input_name!r}: pass "
                f"inputs={{{input_name!r}: 'volume'}} (any of {', '.join(PRICE_COLUMNS)})"
            )
        if column not in PRICE_COLUMNS:
            raise IndicatorError(
                f"{name}: input {input_name!r} column {column!r} is not a bar column"
                f"{did_you_mean(column, PRICE_COLUMNS)}"
            )
        columns[input_name] = column
    return columns
