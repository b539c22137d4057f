"""TradingNode: the kernel driven one event at a time — the paper and live code path.

In: a `RunConfig` (strategy, instruments, account, execution, ``[[fx]]``), optionally the
history known before the first live bar (``warmup``), then events as they arrive
(`on_event`: `Bar`, `TradeTick`, `QuoteTick`) from a live feed or replayed from history,
headlines read from a news source (`add_news`: delivered by the driver's rule, before the
first event closing at or after each one's time),
the current time when nothing arrives (`poll`), and what a venue reports between events
(`deliver`). Out: the same events, orders, fills and accounting as a backtest of the same
events, because the kernel (`build_kernel`, in the `NODE` mode of `engine.runtime.modes`)
and the step (`engine.runtime.driver.Driver`) are the same ones. What differs from the
backtest, on purpose:
- histories grow as bars arrive and indicators are updated by their streaming form
  (`engine.strategy.history.streaming_indicator`) — nothing is computed ahead;
- each event is delivered in its own driver session (no batched loop);
- the portfolio takes an `EquitySnapshot` when time moves on past an event's time (kept
  in ``equity_curve``), instead of the curve being rebuilt afterwards.

Timers (``ctx.set_timer``) work under either clock: the driver fires the timers due at or
before each event's time before delivering it, and `poll(now_ns)` fires those due by
``now_ns`` when no event came; each fires at its scheduled time (the clock reads it).

``[[fx]]``: the rate files are loaded as in the backtest (`engine.runtime.inputs.load_fx`);
a live source appends newer rates with `add_fx_rate` as their bars close.

Warm-up: ``warmup`` maps symbols to the bars known before the node starts (e.g. the
catalog's `BarFrame`s). They fill the histories, and every streaming indicator the
strategy declares in ``on_start`` is primed over them, but no strategy hook runs and no
order can be placed for them: the first `on_bar` after them is the first decision. A bar
not after its symbol's last warm-up bar is refused.

The default clock is a `SimClock` at the last warm-up close (or 0 without warm-up: pass
``SimClock(first bar's open)`` to count timers from there, as the backtest does). Paper
trading (`engine.runtime.paper`) runs this node with the simulated broker on a `SimClock`
at the account's start, moved by its journaled inputs (bars, ticks, timer firings), so a
replay of the journal decides exactly as the live run did; a `WallClock` suits a node
whose timers need no replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np

from engine.cache import COLUMNS, SymbolHistory
from engine.clock import SimClock, WallClock
from engine.config import RunConfig
from engine.errors import ConfigError, DataError
from engine.feeds import BarFrame, format_timestamp
from engine.ml.bind import attach_ml
from engine.model import Bar, EquitySnapshot, NewsHeadline
from engine.portfolio.fx import FxRates
from engine.runtime.driver import Driver, Event
from engine.runtime.inputs import load_funding, load_fx, make_instruments
from engine.runtime.kernel import Kernel, build_kernel
from engine.runtime.modes import NODE, RunMode
from engine.runtime.news import NewsQueue, require_news_hook
from engine.strategy import Strategy, load_strategy_class, make_strategy

__all__ = ["TradingNode"]


class TradingNode:
    """One strategy's kernel, fed event by event (see the module)."""

    def __init__(
        self,
        config: RunConfig,
        *,
        clock: SimClock | WallClock | None = None,
        strategy: Strategy | None = None,
        warmup: Mapping[str, BarFrame] | None = None,
        mode: RunMode = NODE,
    ) -> None:
        """Build the node; ``warmup`` holds each symbol's bars known before the start.

        Raises:
            ConfigError: ``mode`` does not grow its histories (a backtest mode), or a
                warm-up symbol is not one of the config's.
            DataError, PluginError: see `engine.errors` (fx files, strategy plugin).
        """
        if not mode.streaming:
            raise ConfigError(
                f"TradingNode: mode {mode.name!r} precomputes histories and indicators; the "
                "node receives bars one by one and needs a streaming mode (modes.NODE)"
            )
        warmup = dict(warmup or {})
        unknown = sorted(set(warmup) - set(config.symbols))
        if unknown:
            raise ConfigError(
                f"TradingNode: warm-up symbol(s) {unknown} are not in the config's "
                f"symbols {config.symbols}"
            )
        if strategy is None:
            strategy_class = load_strategy_class(config.strategy.path, config.base_dir)
            strategy = make_strategy(strategy_class, config.strategy.params)
        attach_ml(strategy, config)  # [ml] section, for ML strategies
        require_news_hook(strategy, config)  # a news table needs an on_news hook
        self.config = config
        empty = SymbolHistory.empty
        histories = {
            symbol: _warm_history(warmup[symbol]) if symbol in warmup else empty(symbol)
            for symbol in config.symbols
        }
        # the time each symbol's history reaches: a live bar must come after it
        self._warm_until = {
            symbol: int(frame.ts_close_ns[-1]) for symbol, frame in warmup.items() if len(frame)
        }
        if clock is None:
            clock = SimClock(max(self._warm_until.values(), default=0))
        self.clock: SimClock | WallClock = clock
        instruments = make_instruments(config)
        # [[fx]]: the rate files, checked against the warm-up's first bars as in a backtest
        self.fx: FxRates = load_fx(config, instruments, list(warmup.values()))
        self.kernel: Kernel = build_kernel(
            clock=clock,
            strategy=strategy,
            strategy_id=config.strategy.id,
            histories=histories,
            instruments=instruments,
            account=config.account,
            execution=config.execution,
            risk_config=config.risk,
            funding=load_funding(config),
            mode=mode,
            fx=self.fx,
        )
        for symbol, history in histories.items():  # marks and risk read the last close
            if len(history):
                self.kernel.cache.last[symbol] = float(history.columns["close"][len(history) - 1])
        portfolio = self.kernel.portfolio
        # headlines added by the paper/live loop wait here for their bar (engine.runtime.news)
        self.news: NewsQueue | None = NewsQueue() if config.news else None
        self._driver = Driver(
            self.kernel,
            clock,
            snapshot=portfolio.snapshot if mode.snapshots else None,
            news=self.news,
        )
        self._started = False

    @property
    def equity_curve(self) -> list[EquitySnapshot]:
        """Return the snapshots taken so far (one per event timestamp left behind)."""
        return self.kernel.portfolio.equity_curve

    def start(self) -> None:
        """Call the strategy's ``on_start`` (declare indicators, timers)."""
        self.kernel.runner.start()
        self._started = True

    def on_event(self, event: Event) -> None:
        """Deliver one closed bar, trade or quote through the driver's step.

        Raises:
            DataError: A bar not after its symbol's last warm-up bar.
            StrategyError: The strategy's code raised.
        """
        if not self._started:
            self.start()
        if type(event) is Bar:
            until = self._warm_until.get(event.symbol)
            if until is not None and event.ts_event <= until:
                raise DataError(
                    f"{event.symbol}: bar closing at {format_timestamp(event.ts_event)} is not "
                    f"after the warm-up's last bar ({format_timestamp(until)})"
                )
        driver = self._driver
        with driver.session():
            driver.step(event)

    def on_bar(self, bar: Bar) -> None:
        """Deliver one closed bar (see `on_event`)."""
        self.on_event(bar)

    def poll(self, now_ns: int | None = None) -> None:
        """Fire the timers due by ``now_ns`` (the clock's time when None) with no event.

        A live loop calls it when its feed has nothing new (e.g. every second); a timer
        fires at the first `poll` or event at or after its due time.
        """
        if not self._started:
            self.start()
        self._driver.idle(self.clock.timestamp_ns() if now_ns is None else now_ns)

    def deliver(self, action: Callable[[], None]) -> None:
        """Run ``action`` between events and deliver what it publishes as a step would.

        For a venue whose answers arrive between events (a live exchange's user-data
        stream, a reconciliation after a reconnect: ``LiveVenue.report``): the events
        ``action`` publishes, and those they cause, are delivered FIFO in a driver session
        (a strategy's fault becomes `StrategyError`) at the clock's time.
        """
        if not self._started:
            self.start()
        with self._driver.session():
            action()
            self.kernel.bus.flush()

    def add_news(self, headlines: Iterable[NewsHeadline]) -> None:
        """Queue headlines read from a news source, to deliver by the driver's rule.

        Each is delivered before the next event at or after its time
        (`engine.runtime.news`).

        Raises:
            ConfigError: The config has no ``[[data]] kind = "news"`` table.
        """
        if self.news is None:
            raise ConfigError(
                "TradingNode.add_news: the config has no [[data]] kind = 'news' table"
            )
        self.news.add(headlines)

    def add_fx_rate(self, currency: str, ts_ns: int, rate: float) -> None:
        """Append ``currency``'s rate known from ``ts_ns`` on (see `FxRates.add_rate`)."""
        self.fx.add_rate(currency, ts_ns, rate)

    def run(self, events: Iterable[Event]) -> None:
        """Deliver every event of ``events`` in order, then stop."""
        for event in events:
            self.on_event(event)
        self.stop()

    def stop(self) -> None:
        """Take the last snapshot and call the strategy's ``on_stop``."""
        self._driver.settle()
        self.kernel.runner.stop()


def _warm_history(frame: BarFrame) -> SymbolHistory:
    """Return a growing history holding ``frame``'s bars (copied: the node appends to it)."""
    n = len(frame)
    capacity = max(2 * n, 1024)
    ts = np.zeros(capacity, dtype=np.int64)
    ts[:n] = frame.ts_close_ns
    columns = {}
    for name in COLUMNS:
        column = np.zeros(capacity)
        column[:n] = getattr(frame, name)
        columns[name] = column
    history = SymbolHistory(frame.symbol, ts, columns)
    history.cursor.n = n
    return history
