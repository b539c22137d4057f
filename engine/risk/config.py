"""The ``[risk]`` section: pre-trade limits and portfolio guards, and the checks they build.

Every limit is off (None / empty) by default, so a run without ``[risk]`` has only the
built-in checks (`engine.risk.checks.default_checks`). A strategy may declare defaults in
a class attribute ``risk_defaults`` (a dict of these keys); the run's ``[risk]`` overrides
them key by key (`merge_risk_defaults`). Percent settings (``_pct``) are percent: 5.0 = 5%.

Example::

    [risk]
    max_order_notional = 50000.0
    max_position_pct = 50.0
    price_band_pct = 10.0
    max_drawdown_pct = 20.0
    guard_action = "reducing"

    [[risk.sessions]]
    start = "13:30"
    end = "20:00"
    weekdays = [0, 1, 2, 3, 4]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from engine.clock import Clock, CloseTime
from engine.model import TradingState
from engine.risk.checks import RiskCheck
from engine.risk.exits import ExitConfig
from engine.risk.guards import EquitySource, HeldQuantity, PortfolioGuard, TradingStateSink
from engine.risk.limits import (
    AllowedSymbolsCheck,
    BlockedSymbolsCheck,
    DirectionCheck,
    GrossExposureCheck,
    LeverageLimitCheck,
    MaxOpenOrdersCheck,
    NetExposureCheck,
    OrderNotionalCheck,
    OrderQuantityCheck,
    OrderRateCheck,
    PositionNotionalCheck,
    PositionPercentCheck,
    PositionQuantityCheck,
    PriceBandCheck,
    Session,
    TradingHoursCheck,
)
from engine.risk.plugins import CheckPluginConfig, load_check
from engine.risk.sizing import (
    FixedFraction,
    FixedNotional,
    FixedQuantity,
    FractionalKelly,
    Sizer,
    VolatilityTarget,
)
from engine.typed import build

__all__ = [
    "RiskConfig",
    "SessionConfig",
    "SizerConfig",
    "build_guard",
    "build_limit_checks",
    "merge_risk_defaults",
    "sizer_lot_problem",
]


# Longest order-rate window and guard cooldown: ten years. Beyond it a value is a typo, and
# near 1e308 seconds its nanoseconds overflow (an internal error once an order was counted
# or a guard tripped).
MAX_WINDOW_S = 10 * 365 * 86_400.0


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _seconds_of_day(text: str, name: str) -> int:
    parts = text.split(":")
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if not 2 <= len(numbers) <= 3 or not all(n >= 0 for n in numbers):
        raise ValueError(f"{name} must be a UTC time HH:MM or HH:MM:SS, got {text!r}")
    hours, minutes, seconds = [*numbers, 0][:3]
    total = hours * 3600 + minutes * 60 + seconds
    _require(minutes < 60 and seconds < 60 and total <= 86_400, f"{name} {text!r} is not a time")
    return total


@dataclass(frozen=True)
class SessionConfig:
    """One daily UTC trading window ``[start, end)`` on ``weekdays`` (0 = Monday).

    ``end`` before ``start`` wraps past midnight; ``end = "24:00"`` is the end of the day.
    """

    start: str = "00:00"
    end: str = "24:00"
    weekdays: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])

    def __post_init__(self) -> None:
        _seconds_of_day(self.start, "start")
        _seconds_of_day(self.end, "end")
        _require(
            all(0 <= day <= 6 for day in self.weekdays) and len(self.weekdays) > 0,
            f"weekdays must be numbers 0 (Monday) to 6 (Sunday), got {self.weekdays}",
        )

    def to_session(self) -> Session:
        """Return the `Session` the trading-hours check uses."""
        return Session(
            _seconds_of_day(self.start, "start"), _seconds_of_day(self.end, "end"), self.weekdays
        )


@dataclass(frozen=True)
class SizerConfig:
    """``[risk.sizer]``: how `Context.size` / `Context.order_target_signal` size a signal.

    Attributes:
        kind: ``"fixed_quantity"`` (``quantity``), ``"fixed_notional"`` (``notional``),
            ``"fixed_fraction"`` (``fraction`` of equity), ``"volatility_target"`` (risk
            ``risk_fraction`` of equity at ``atr_multiple`` × σ over ``atr_period`` bars,
            σ the ATR or, with ``volatility = "realized"``, the standard deviation of
            close-to-close changes; position capped at ``max_fraction`` of equity) or
            ``"fractional_kelly"``
            (``kelly_fraction`` × Kelly from the last ``kelly_window`` closed trades, at most
            ``max_fraction``; ``fraction`` until ``kelly_min_trades`` trades closed).
    """

    kind: Literal[
        "fixed_quantity",
        "fixed_notional",
        "fixed_fraction",
        "volatility_target",
        "fractional_kelly",
    ] = "fixed_fraction"
    quantity: float = 1.0
    notional: float = 1_000.0
    fraction: float = 0.1
    risk_fraction: float = 0.01
    atr_period: int = 14
    atr_multiple: float = 2.0
    max_fraction: float = 1.0
    kelly_fraction: float = 0.5
    kelly_window: int = 50
    kelly_min_trades: int = 10
    volatility: Literal["atr", "realized"] = "atr"

    def __post_init__(self) -> None:
        for name in ("quantity", "notional", "fraction", "risk_fraction", "atr_multiple"):
            value = getattr(self, name)
            _require(value > 0, f"sizer.{name} must be > 0, got {value}")
        for name in ("fraction", "risk_fraction", "kelly_fraction", "max_fraction"):
            value = getattr(self, name)
            _require(0 < value <= 10, f"sizer.{name} must be in (0, 10], got {value}")
        for name in ("atr_period", "kelly_window", "kelly_min_trades"):
            value = getattr(self, name)
            _require(value >= 1, f"sizer.{name} must be >= 1, got {value}")
        # the Kelly estimate reads the last kelly_window closed trades and needs
        # kelly_min_trades of them: more than the window never come, and the sizer used
        # the fallback fraction for the whole run
        _require(
            self.kind != "fractional_kelly" or self.kelly_min_trades <= self.kelly_window,
            f"sizer.kelly_min_trades ({self.kelly_min_trades}) must be <= sizer.kelly_window "
            f"({self.kelly_window}): the estimate reads the last kelly_window trades",
        )
        # σ of close-to-close changes over atr_period bars (`realized_volatility`): with one
        # change there is no deviation, and the sizer returned 0 on every bar
        _require(
            self.kind != "volatility_target"
            or self.volatility != "realized"
            or self.atr_period >= 2,
            f'sizer.atr_period must be >= 2 with volatility = "realized" (a standard deviation '
            f"needs two changes), got {self.atr_period}",
        )

    def build(self, cost_rate: float = 0.0) -> Sizer:
        """Return the sizer this section describes.

        ``cost_rate``: fee + slippage as a fraction of notional (the models' sizing rates),
        reserved by the sizers that size a fraction of equity (fixed_fraction, and the
        ``max_fraction`` caps of volatility_target and fractional_kelly), as
        ``order_target_percent`` reserves it: a fraction of 1.0 is affordable.
        """
        if self.kind == "fixed_quantity":
            return FixedQuantity(self.quantity)
        if self.kind == "fixed_notional":
            return FixedNotional(self.notional)
        if self.kind == "fixed_fraction":
            return FixedFraction(self.fraction, cost_rate)
        if self.kind == "volatility_target":
            return VolatilityTarget(
                self.risk_fraction,
                self.atr_multiple,
                self.atr_period,
                self.max_fraction,
                self.volatility,
                cost_rate,
            )
        return FractionalKelly(
            self.kelly_fraction,
            self.kelly_window,
            self.kelly_min_trades,
            self.fraction,
            self.max_fraction,
            cost_rate,
        )


@dataclass(frozen=True)
class RiskConfig:
    """Pre-trade limits and portfolio guards; None (or empty) switches a limit off.

    Attributes:
        max_order_quantity: Largest quantity of one order, base units.
        max_order_notional: Largest value of one order (quantity × limit/stop price or
            last close), account currency.
        max_position_quantity: Largest absolute position per symbol, base units.
        max_position_notional: Largest absolute position value per symbol.
        max_position_pct: Largest position value per symbol, percent of equity.
        max_gross_exposure: Largest Σ |position value|, account currency.
        max_net_exposure: Largest |Σ signed position value|, account currency.
        max_leverage: Largest gross exposure / equity (e.g. 2.0).
        max_open_orders: Most working orders at once (all symbols).
        order_rate_limit: Most orders approved per ``order_rate_window_s``, counted by
            the orders' decision time (``ts_event``: simulated time in a backtest).
        order_rate_window_s: Window of ``order_rate_limit``, seconds.
        price_band_pct: Largest distance of a limit/stop price from the last price,
            percent (fat-finger guard).
        direction: ``"both"`` (default), ``"long_only"`` or ``"short_only"``.
        allowed_symbols: Only these symbols may be traded (None: all).
        blocked_symbols: These symbols may not be traded.
        sessions: ``[[risk.sessions]]`` UTC windows orders may be placed in (empty: any
            time). Orders that reduce exposure pass at any time.
        max_drawdown_pct: Guard: equity this many percent below its peak trips it.
        daily_loss_pct: Guard: equity this many percent below the UTC day's start trips it.
        max_consecutive_losses: Guard: this many losing round trips in a row trip it.
        guard_action: What a tripped guard does. ``"reducing"`` (default): only orders
            that reduce exposure pass from then on, so the strategy's own exits still
            close the position. ``"flatten"``: cancel every working order, close every
            position with a reduce-only market order (filled at the next open), then
            nothing passes (HALTED). ``"halted"``: nothing passes at all, exits included
            — the open position rides until the cooldown or the end of the data (the
            summary's ``guard_exposure_left_open`` says how much). Was ``"halted"`` by
            default, which froze a losing position: on the BTC sample a 10% drawdown
            halt denied the strategy's later exits and kept the whole position to the end.
            ``"reducing"`` and ``"halted"`` also cancel working orders that would add
            exposure (`RiskEngine.cancel_adding`): an entry left working filled under them.
        cooldown_s: Seconds after a trip when the guard re-activates trading (None: never).
        sizer: ``[risk.sizer]`` (`SizerConfig`); None: `Context.size` is unavailable.
        exits: ``[risk.exits]`` (`engine.risk.exits.ExitConfig`): protective exits the
            engine attaches to every position.
        checks: ``[[risk.checks]]`` plugin checks (`engine.risk.plugins`).

    Limits that reduce exposure are never blocked by exposure limits (position, gross,
    net, leverage, direction, symbol lists, sessions).
    """

    max_order_quantity: float | None = None
    max_order_notional: float | None = None
    max_position_quantity: float | None = None
    max_position_notional: float | None = None
    max_position_pct: float | None = None
    max_gross_exposure: float | None = None
    max_net_exposure: float | None = None
    max_leverage: float | None = None
    max_open_orders: int | None = None
    order_rate_limit: int | None = None
    order_rate_window_s: float = 60.0
    price_band_pct: float | None = None
    direction: Literal["both", "long_only", "short_only"] = "both"
    allowed_symbols: list[str] | None = None
    blocked_symbols: list[str] = field(default_factory=list)
    sessions: list[SessionConfig] = field(default_factory=list)
    max_drawdown_pct: float | None = None
    daily_loss_pct: float | None = None
    max_consecutive_losses: int | None = None
    guard_action: Literal["reducing", "flatten", "halted"] = "reducing"
    cooldown_s: float | None = None
    sizer: SizerConfig | None = None
    exits: ExitConfig = field(default_factory=ExitConfig)
    checks: list[CheckPluginConfig] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (
            "max_order_quantity",
            "max_order_notional",
            "max_position_quantity",
            "max_position_notional",
            "max_position_pct",
            "max_gross_exposure",
            "max_net_exposure",
            "max_leverage",
            "price_band_pct",
            "cooldown_s",
        ):
            value = getattr(self, name)
            _require(value is None or value > 0, f"{name} must be > 0, got {value}")
        for name in ("max_open_orders", "order_rate_limit", "max_consecutive_losses"):
            value = getattr(self, name)
            _require(value is None or value >= 1, f"{name} must be >= 1, got {value}")
        _require(
            self.order_rate_window_s > 0,
            f"order_rate_window_s must be > 0, got {self.order_rate_window_s}",
        )
        for name in ("order_rate_window_s", "cooldown_s"):
            value = getattr(self, name)
            _require(
                value is None or (math.isfinite(value) and value <= MAX_WINDOW_S),
                f"{name} must be in (0, {MAX_WINDOW_S:g}] seconds (ten years), got {value}",
            )
            # counted in whole nanoseconds: below one it rounds to 0, which turned the rate
            # limit off (1e-12 s) and ended a cooldown the moment it began
            if value is not None:
                _require(
                    round(value * 1e9) >= 1,
                    f"{name} must be at least 1e-09 s (1 ns, the clock's step), got {value:g}",
                )
        for name in ("max_drawdown_pct", "daily_loss_pct"):
            value = getattr(self, name)
            _require(
                value is None or 0 < value < 100,
                f"{name} must be a percent in (0, 100), got {value}",
            )
        if self.allowed_symbols is not None:
            both = sorted(set(self.allowed_symbols) & set(self.blocked_symbols))
            _require(not both, f"symbols {both} are both allowed and blocked")

    @property
    def has_guards(self) -> bool:
        """Return whether any portfolio guard is configured."""
        return (
            self.max_drawdown_pct is not None
            or self.daily_loss_pct is not None
            or self.max_consecutive_losses is not None
        )


def sizer_lot_problem(sizer: SizerConfig | None, lots: Mapping[str, float]) -> str:
    """Return why a ``fixed_quantity`` sizer can never trade one of ``lots``' symbols.

    ``lots``: each symbol's lot size. A quantity below a symbol's lot rounds to 0 on every
    signal (1e-6 under a lot of 1e-5: a run of no trades and no word). Empty if none.
    """
    if sizer is None or sizer.kind != "fixed_quantity":
        return ""
    for symbol, lot in lots.items():
        if sizer.quantity < lot * (1.0 - 1e-9):
            return (
                f"risk.sizer: quantity {sizer.quantity:g} is below the lot size {lot:g} of "
                f"{symbol}: every size would round to 0"
            )
    return ""


def build_limit_checks(config: RiskConfig) -> list[RiskCheck]:
    """Return the configured limit checks, cheapest and most basic first.

    Plugin checks (``[[risk.checks]]``) follow the built-in limits. The order-rate check
    comes last: it counts only orders every other check passed.

    Raises:
        PluginError, ConfigError: A plugin check cannot be loaded or built.
    """
    checks: list[RiskCheck] = []
    if config.allowed_symbols is not None:
        checks.append(AllowedSymbolsCheck(config.allowed_symbols))
    if config.blocked_symbols:
        checks.append(BlockedSymbolsCheck(config.blocked_symbols))
    if config.sessions:
        checks.append(TradingHoursCheck([s.to_session() for s in config.sessions]))
    if config.direction != "both":
        checks.append(DirectionCheck(config.direction))
    if config.price_band_pct is not None:
        checks.append(PriceBandCheck(config.price_band_pct))
    if config.max_order_quantity is not None:
        checks.append(OrderQuantityCheck(config.max_order_quantity))
    if config.max_order_notional is not None:
        checks.append(OrderNotionalCheck(config.max_order_notional))
    if config.max_position_quantity is not None:
        checks.append(PositionQuantityCheck(config.max_position_quantity))
    if config.max_position_notional is not None:
        checks.append(PositionNotionalCheck(config.max_position_notional))
    if config.max_position_pct is not None:
        checks.append(PositionPercentCheck(config.max_position_pct))
    if config.max_gross_exposure is not None:
        checks.append(GrossExposureCheck(config.max_gross_exposure))
    if config.max_net_exposure is not None:
        checks.append(NetExposureCheck(config.max_net_exposure))
    if config.max_leverage is not None:
        checks.append(LeverageLimitCheck(config.max_leverage))
    if config.max_open_orders is not None:
        checks.append(MaxOpenOrdersCheck(config.max_open_orders))
    checks.extend(load_check(entry) for entry in config.checks)
    if config.order_rate_limit is not None:
        window_ns = round(config.order_rate_window_s * 1e9)
        checks.append(OrderRateCheck(config.order_rate_limit, window_ns))
    return checks


def merge_risk_defaults(config: RiskConfig, defaults: Mapping[str, Any]) -> RiskConfig:
    """Return ``config`` on top of a strategy's ``risk_defaults``.

    A setting of ``config`` that differs from the built-in default overrides the
    strategy's value; the others take the strategy's value. (A ``[risk]`` value equal
    to the built-in default therefore cannot undo a strategy default; set the strategy's
    own parameter instead.)

    Raises:
        ConfigError: ``defaults`` has an unknown key or a value of the wrong type.
    """
    if not defaults:
        return config
    base = build(RiskConfig, defaults, "strategy risk_defaults")
    plain = RiskConfig()
    given = {
        f.name: getattr(config, f.name)
        for f in fields(RiskConfig)
        if getattr(config, f.name) != getattr(plain, f.name)
    }
    return replace(base, **given)


def build_guard(
    config: RiskConfig,
    risk: TradingStateSink,
    portfolio: EquitySource,
    clock: Clock,
    positions: Mapping[str, HeldQuantity] | None = None,
    prices: Mapping[str, float] | None = None,
    close_time: CloseTime | None = None,
) -> PortfolioGuard | None:
    """Return the portfolio guard ``config`` asks for, or None when no guard is set.

    ``positions`` and ``prices`` are optional live views (open positions, last prices)
    the guard sums equity from on every bar instead of calling ``portfolio.equity()``.
    ``close_time``: the cache's `CloseTime` (equity is judged at whole close times).
    """
    if not config.has_guards:
        return None
    return PortfolioGuard(
        risk,
        portfolio,
        clock,
        max_drawdown_pct=config.max_drawdown_pct,
        daily_loss_pct=config.daily_loss_pct,
        max_consecutive_losses=config.max_consecutive_losses,
        action=TradingState.HALTED
        if config.guard_action == "flatten"
        else TradingState(config.guard_action),
        flatten=config.guard_action == "flatten",
        cooldown_ns=None if config.cooldown_s is None else round(config.cooldown_s * 1e9),
        positions=positions,
        prices=prices,
        close_time=close_time,
    )
