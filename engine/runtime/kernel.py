"""The kernel: every stage built and wired to the bus, the same way in every mode.

Read `Kernel.wire` to see the whole flow. Only three things differ between modes (see
DESIGN.md §1): the clock, where bars come from, and the venue. The clock is passed in; the
rest is a `engine.runtime.modes.RunMode` (`BACKTEST`: precomputed histories and
indicators; `NODE`: growing histories, streaming indicators, equity snapshots). The
kernel types its venue against the `engine.execution.venue.Venue` protocol. Every mode
drives the kernel through the same `engine.runtime.driver.Driver` step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.bus import EventBus
from engine.cache import LiveMarketCache, MarketCache, SymbolHistory
from engine.clock import Clock, TimerClock
from engine.config import AccountConfig, ExecutionConfig
from engine.execution import ExecutionEngine, Venue
from engine.execution.costs_config import build_cost_models
from engine.execution.fills import FillMethods
from engine.execution.venue import OwnEvents
from engine.model import (
    AccountLiquidated,
    Bar,
    CancelRequested,
    CashAdjusted,
    Instrument,
    MarginCalled,
    ModifyApproved,
    ModifyRequested,
    NewsHeadline,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderTriggered,
    QuoteTick,
    TradeTick,
    TradingStateChanged,
)
from engine.portfolio import Portfolio
from engine.portfolio.accounts import AccountRules, FundingRates
from engine.portfolio.fx import FxPortfolio, FxRates
from engine.report.recorder import Recorder
from engine.risk import RiskEngine, default_checks
from engine.risk.config import RiskConfig, build_guard, build_limit_checks, merge_risk_defaults
from engine.risk.exits import ExitManager
from engine.risk.guards import PortfolioGuard
from engine.risk.sizing import Sizer
from engine.runtime.modes import BACKTEST, RunMode, VenueParts
from engine.strategy import Context, Strategy, StrategyRunner
from engine.strategy.history import precomputed_indicator, streaming_indicator

__all__ = ["Kernel", "build_kernel"]


@dataclass
class Kernel:
    """All stages of one trading node, wired to one bus."""

    bus: EventBus
    clock: Clock
    cache: MarketCache
    portfolio: Portfolio
    risk: RiskEngine
    execution: ExecutionEngine
    venue: Venue  # the simulated broker, or an exchange adapter
    runner: StrategyRunner
    recorder: Recorder
    account_rules: AccountRules | None = None  # borrow fees, funding, liquidation; None: off
    guard: PortfolioGuard | None = None  # drawdown / daily loss / losing streak; None: off
    sizer: Sizer | None = None  # [risk.sizer], used by Context.size
    exits: ExitManager | None = None  # [risk.exits] protective exits; None: off

    def wire(self) -> None:
        """Subscribe every stage. Order within a type is delivery order.

        The strategy's event hooks are subscribed only where its class overrides them
        (`StrategyRunner.handles`): a hook left as the base no-op costs nothing per event.
        """
        bus, portfolio, risk, execution = self.bus, self.portfolio, self.risk, self.execution
        runner, recorder = self.runner, self.recorder

        def strategy_hook(event_type: type, hook: str) -> None:
            if runner.handles(hook):
                bus.subscribe(event_type, getattr(runner, hook))

        # market data: the cache records prices and reveals history first, then strategies
        bus.subscribe(Bar, self.cache.on_bar)
        if self.account_rules is not None:  # margin rules see the marked close first
            bus.subscribe(Bar, self.account_rules.on_bar)
        guard = self.guard
        if guard is not None and guard.watches_bars:  # equity guards see the marked close
            bus.subscribe(Bar, guard.on_bar)
        exits = self.exits
        if exits is not None and exits.config.watches_bars:  # time stop, break-even
            bus.subscribe(Bar, exits.on_bar)
        bus.subscribe(Bar, runner.on_bar)
        bus.subscribe(TradeTick, self.cache.on_trade)
        strategy_hook(TradeTick, "on_trade")
        bus.subscribe(QuoteTick, self.cache.on_quote)
        strategy_hook(QuoteTick, "on_quote")
        strategy_hook(NewsHeadline, "on_news")  # headlines ([[data]] kind = "news")
        # strategy intent -> risk -> execution -> broker
        bus.subscribe(OrderRequested, recorder.on_order_requested)
        bus.subscribe(OrderRequested, risk.on_order_requested)
        bus.subscribe(OrderApproved, recorder.on_order_approved)
        bus.subscribe(OrderApproved, execution.on_order_approved)
        bus.subscribe(CancelRequested, risk.on_cancel_requested)  # max_open_orders
        bus.subscribe(CancelRequested, execution.on_cancel_requested)
        bus.subscribe(ModifyRequested, risk.on_modify_requested)  # a change is checked too
        bus.subscribe(ModifyApproved, execution.on_modify_approved)
        bus.subscribe(OrderDenied, recorder.on_order_denied)
        bus.subscribe(OrderDenied, execution.on_order_denied)
        strategy_hook(OrderDenied, "on_order_denied")
        # broker facts: execution's book first, then the account, the record, the strategy
        bus.subscribe(OrderAccepted, execution.on_order_accepted)
        bus.subscribe(OrderAccepted, risk.on_order_answered)  # no longer in flight (same bar)
        bus.subscribe(OrderAccepted, recorder.on_order_accepted)
        bus.subscribe(OrderRejected, risk.on_order_answered)
        bus.subscribe(OrderRejected, execution.on_order_rejected)
        bus.subscribe(OrderRejected, recorder.on_order_rejected)
        strategy_hook(OrderRejected, "on_order_rejected")
        bus.subscribe(OrderTriggered, execution.on_order_triggered)
        bus.subscribe(OrderTriggered, recorder.on_order_triggered)
        strategy_hook(OrderTriggered, "on_order_updated")
        bus.subscribe(OrderModified, execution.on_order_modified)
        bus.subscribe(OrderModified, recorder.on_order_modified)
        strategy_hook(OrderModified, "on_order_updated")
        bus.subscribe(OrderModifyRejected, recorder.on_order_modify_rejected)
        strategy_hook(OrderModifyRejected, "on_order_updated")
        bus.subscribe(OrderExpired, execution.on_order_expired)
        bus.subscribe(OrderExpired, recorder.on_order_expired)
        strategy_hook(OrderExpired, "on_order_expired")
        bus.subscribe(OrderFilled, execution.on_order_filled)
        bus.subscribe(OrderFilled, portfolio.on_order_filled)
        bus.subscribe(OrderFilled, recorder.on_order_filled)
        if guard is not None:
            bus.subscribe(OrderFilled, guard.on_order_filled)
        if exits is not None:  # after the portfolio: exits follow the new position
            bus.subscribe(OrderFilled, exits.on_order_filled)
        if self.sizer is not None and self.sizer.needs_fills:  # Kelly: closed-trade statistics
            bus.subscribe(OrderFilled, self.sizer.on_order_filled)
        strategy_hook(OrderFilled, "on_order_filled")
        bus.subscribe(OrderCanceled, execution.on_order_canceled)
        bus.subscribe(OrderCanceled, risk.on_order_answered)
        bus.subscribe(OrderCanceled, recorder.on_order_canceled)
        strategy_hook(OrderCanceled, "on_order_canceled")
        bus.subscribe(TradingStateChanged, recorder.on_trading_state_changed)
        # account facts (cash flows that are not fills, margin calls) and liquidation orders
        bus.subscribe(CashAdjusted, recorder.on_cash_adjusted)
        bus.subscribe(MarginCalled, recorder.on_account_event)
        bus.subscribe(AccountLiquidated, recorder.on_account_event)
        if isinstance(self.venue, OwnEvents):  # a venue's own markers (live OCO groups)
            for event_type, handler in self.venue.own_events():
                bus.subscribe(event_type, handler)
        rules = self.account_rules
        if rules is not None:
            bus.subscribe(OrderFilled, rules.on_order_filled)
            bus.subscribe(OrderCanceled, rules.on_order_ended)
            bus.subscribe(OrderDenied, rules.on_order_ended)
            bus.subscribe(OrderRejected, rules.on_order_ended)
            bus.subscribe(OrderExpired, rules.on_order_ended)


def build_kernel(
    *,
    clock: Clock,
    strategy: Strategy,
    strategy_id: str,
    histories: Mapping[str, SymbolHistory],
    instruments: Mapping[str, Instrument],
    account: AccountConfig,
    execution: ExecutionConfig,
    risk_config: RiskConfig | None = None,
    funding: Mapping[str, FundingRates] | None = None,
    mode: RunMode = BACKTEST,
    fx: FxRates | None = None,
) -> Kernel:
    """Build and wire a kernel for ``mode`` (`BACKTEST` unless told; the node passes `NODE`).

    ``funding`` holds the funding-rate series of perpetual symbols (``[[data]] funding``).
    ``fx`` holds the rates of symbols quoted in a foreign currency (``[[fx]]``); with it
    the account converts every quote-currency amount (`engine.portfolio.fx`), without it
    (or when empty) the run is single-currency and nothing is converted.
    """
    bus = EventBus()
    symbols = list(histories)
    # streaming (paper/live trading): histories grow bar by bar, indicators stream; with
    # snapshots the portfolio publishes an EquitySnapshot per bar time instead of the
    # backtest's rebuilt curve
    cache = LiveMarketCache(histories) if mode.streaming else MarketCache(histories)
    snapshots = mode.snapshots
    fx = fx or None  # an empty FxRates is a single-currency run
    portfolio: Portfolio
    if fx is None:
        portfolio = Portfolio(
            bus, clock, account.initial_cash, cache.last, publish_snapshots=snapshots
        )
    else:
        portfolio = FxPortfolio(
            bus, clock, account.initial_cash, cache.last, fx, publish_snapshots=snapshots
        )
    fx_at = None if fx is None else fx.rate  # (symbol, ts_ns) -> rate

    def fx_now(symbol: str) -> float:
        assert fx is not None
        return fx.rate(symbol, clock.timestamp_ns())

    fx_rate = None if fx is None else fx_now
    fee_model, slippage_model = build_cost_models(
        execution.fees,
        execution.slippage,
        fee_rate=execution.fee_rate,
        slippage_bps=execution.slippage_bps,
        clock=clock,
    )
    venue = mode.venue(
        VenueParts(
            bus=bus,
            clock=clock,
            instruments=instruments,
            prices=cache.last,
            account=portfolio,
            fee_model=fee_model,
            slippage_model=slippage_model,
            settings=execution,
            leverage=account.leverage,
            fx=fx_at,
            last_bar=cache.last_bar,
            priced_since=cache.priced_since,
        )
    )
    execution_engine = ExecutionEngine(venue, bus, clock)
    risk_defaults = getattr(strategy, "risk_defaults", None) or {}  # the strategy's, overridden
    risk_settings = merge_risk_defaults(risk_config or RiskConfig(), risk_defaults)
    risk = RiskEngine(
        bus,
        clock,
        instruments,
        portfolio,
        execution_engine,
        fee_rate=fee_model.sizing_rate,
        leverage=account.leverage,
        allow_short=account.allow_short,
        instrument_rules=execution.instrument_rules,
        checks=default_checks() + build_limit_checks(risk_settings),
        fx_rate=fx_rate,
        fee=fee_model.fee,
    )
    if isinstance(venue, FillMethods):  # a quantity sized at the fill obeys [risk] too
        venue.cap_fill_sizing(risk.fill_cap)
    # the guard's fast equity sum knows no rates: a multi-currency run asks the portfolio
    guard = build_guard(
        risk_settings,
        risk,
        portfolio,
        clock,
        portfolio.open_positions() if fx is None else None,
        cache.last if fx is None else None,
        cache.close_time,
    )
    context = Context(
        strategy_id=strategy_id,
        clock=clock,
        bus=bus,
        portfolio=portfolio,
        orders=execution_engine,
        histories=histories,
        instruments=instruments,
        # Sizing reserves fees and slippage so that "all-in" is affordable at the last close.
        sizing_fee_rate=fee_model.sizing_rate + slippage_model.sizing_rate,
        fee=fee_model.fee,  # and a fee beyond that reserve (per unit, minimum) shrinks it
        timers=clock if isinstance(clock, TimerClock) else None,
        indicator_factory=streaming_indicator if mode.streaming else precomputed_indicator,
        fx_rate=fx_rate,
        size_at_fill=venue.size_at_fill if execution.target_sizing == "fill" else None,
    )
    # fee + slippage reserved as order_target_percent does (the context's sizing rate)
    sizing_rate = fee_model.sizing_rate + slippage_model.sizing_rate
    sizer = None if risk_settings.sizer is None else risk_settings.sizer.build(sizing_rate)
    context.use_sizer(sizer)
    rules = AccountRules(
        bus,
        clock,
        portfolio,
        execution_engine,
        start_ns=clock.timestamp_ns(),
        borrow_rate=account.borrow_rate,
        maintenance_margin=account.maintenance_margin,
        funding=funding,
        fx=fx_at,
        close_time=cache.close_time,
    )
    exits = (
        ExitManager(
            risk_settings.exits,
            bus,
            clock,
            portfolio,
            execution_engine,
            instruments,
            histories,
            strategy_id,
        )
        if risk_settings.exits.active
        else None
    )
    # The strategy hears the order events of the protective exits placed on its behalf.
    also_owns = (exits.strategy_id,) if exits is not None else ()
    kernel = Kernel(
        bus=bus,
        clock=clock,
        cache=cache,
        portfolio=portfolio,
        risk=risk,
        execution=execution_engine,
        venue=venue,
        runner=StrategyRunner(strategy, context, also_owns),
        recorder=Recorder(symbols, fx=fx_at),
        account_rules=rules if rules.active else None,
        guard=guard,
        sizer=sizer,
        exits=exits,
    )
    kernel.wire()
    return kernel
