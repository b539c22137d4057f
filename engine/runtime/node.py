"""TradingNode: the kernel driven one event at a time — the paper and live code path.

In: a `RunConfig` (strategy, instruments, account, execution) and bars as they arrive
(`on_bar`), from a live feed or replayed from history. Out: the same events, orders,
fills and accounting as a backtest of the same bars, because the kernel is the same one
(`engine.runtime.kernel.build_kernel`, with ``live=True``). What differs from the backtest
loop, on purpose:
- histories grow as bars arrive and indicators are updated by their streaming form
  (`engine.strategy.history.streaming_indicator`) — nothing is computed ahead;
- every event goes through `EventBus.publish` as it arrives (no batched loop);
- the portfolio publishes an `EquitySnapshot` after each bar's timestamp, which the node
  keeps (``portfolio.equity_curve``), instead of the curve being rebuilt afterwards.

Paper trading is this node with the simulated broker and a wall clock; replay (used to
prove that backtest and paper decide alike) drives it with a `SimClock` set from the data.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.cache import SymbolHistory
from engine.clock import Clock, SimClock
from engine.config import RunConfig
from engine.errors import ConfigError, KestrelError
from engine.model import Bar, EquitySnapshot
from engine.runtime.inputs import load_funding, make_instruments
from engine.runtime.kernel import Kernel, build_kernel
from engine.strategy import Strategy, load_strategy_class, make_strategy
from engine.strategy.runner import strategy_fault

__all__ = ["TradingNode"]


class TradingNode:
    """One strategy's kernel, fed event by event."""

    def __init__(
        self,
        config: RunConfig,
        *,
        clock: Clock | None = None,
        strategy: Strategy | None = None,
    ) -> None:
        if config.fx:
            raise ConfigError(
                "fx: multi-currency accounts ([[fx]]) run in backtests only for now; paper "
                "and live trading need instruments quoted in account.currency"
            )
        if strategy is None:
            strategy_class = load_strategy_class(config.strategy.path, config.base_dir)
            strategy = make_strategy(strategy_class, config.strategy.params)
        self.config = config
        self.clock: Clock = clock if clock is not None else SimClock()
        histories = {symbol: SymbolHistory.empty(symbol) for symbol in config.symbols}
        self.kernel: Kernel = build_kernel(
            clock=self.clock,
            strategy=strategy,
            strategy_id=config.strategy.id,
            histories=histories,
            instruments=make_instruments(config),
            account=config.account,
            execution=config.execution,
            risk_config=config.risk,
            funding=load_funding(config),
            live=True,
        )
        self._current = -1
        self._started = False

    @property
    def equity_curve(self) -> list[EquitySnapshot]:
        """Return the snapshots taken so far (one per bar timestamp)."""
        return self.kernel.portfolio.equity_curve

    def start(self) -> None:
        """Call the strategy's ``on_start`` (declare indicators, timers)."""
        self.kernel.runner.start()
        self._started = True

    def on_bar(self, bar: Bar) -> None:
        """Deliver one closed bar: venue first, then the bus; snapshot when time moves on."""
        if not self._started:
            self.start()
        kernel = self.kernel
        try:
            if bar.ts_event != self._current:
                if self._current >= 0:
                    kernel.portfolio.snapshot(self._current)
                if isinstance(self.clock, SimClock):
                    self.clock.set_time(bar.ts_event)
                self._current = bar.ts_event
            kernel.broker.process_bar(bar)
            kernel.bus.publish(bar)
        except KestrelError:
            raise
        except (Exception, SystemExit) as exc:  # sys.exit() in strategy code is its fault
            raise strategy_fault(exc, self._current) from exc

    def run(self, bars: Iterable[Bar]) -> None:
        """Deliver every bar of ``bars`` in order, then stop."""
        for bar in bars:
            self.on_bar(bar)
        self.stop()

    def stop(self) -> None:
        """Take the last snapshot and call the strategy's ``on_stop``."""
        if self._current >= 0:
            self.kernel.portfolio.snapshot(self._current)
            self._current = -1
        self.kernel.runner.stop()
