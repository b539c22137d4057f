"""A live strategy's own state across restarts: its ``on_save`` / ``on_load`` hooks (opt-in).

In: a started `TradingNode` and the account's `LiveLedger`. Out: the row of
``live_strategy_state`` for the node's strategy id, kept equal to what ``on_save`` returns.

`StateKeeper.load` runs once on start, after the restore and after ``on_start`` (so
``on_load`` overrides what ``on_start`` set) and before the fills that happened while the
node was down are delivered. After every bar (once ``on_bar`` ran and the orders it placed
were written) and on a clean stop `StateKeeper.pending` says what to write, which
``kestrel live`` commits with the bar's equity row and timers
(`engine.runtime.live.checkpoint`; `StateKeeper.save` writes it alone): only when the JSON
differs from the last one saved, so a strategy whose state did not change costs one
``on_save`` call and one ``json.dumps`` per bar. A strategy that defines neither hook is
not touched: nothing is read or written. Paper trading needs none of this: it replays its
journal, which rebuilds the strategy's attributes.
"""

from __future__ import annotations

from engine.runtime.live.ledger import LiveLedger, SavedState, encode_state
from engine.runtime.node import TradingNode

__all__ = ["StateKeeper"]


class StateKeeper:
    """Load the strategy's saved state on start; save it as it changes."""

    def __init__(self, node: TradingNode, ledger: LiveLedger) -> None:
        """Keep the state of ``node``'s strategy in ``ledger``'s account."""
        self.runner = node.kernel.runner
        self.strategy_id = node.config.strategy.id
        self.ledger = ledger
        self.saves = 0  # rows written by this process
        self._last: str | None = None  # the JSON last saved (or loaded)
        self._ts_event = 0  # the close of the last bar handled (ns)

    @property
    def active(self) -> bool:
        """True if the strategy defines ``on_save`` or ``on_load``."""
        return self.runner.handles("on_save") or self.runner.handles("on_load")

    def load(self) -> tuple[SavedState | None, bool]:
        """Return the saved state (None if none) and whether ``on_load`` received it.

        Call after ``on_start`` ran, before the first bar.

        Raises:
            StrategyError: ``on_load`` raised.
        """
        if not self.active:
            return None, False
        saved = self.ledger.load_state(self.strategy_id)
        if saved is None:
            return None, False
        self._last = encode_state(self.strategy_id, saved.state)
        self._ts_event = saved.ts_event
        return saved, self.runner.load_state(saved.state)

    def save(self, ts_event: int | None = None) -> bool:
        """Save ``on_save``'s state if it changed, in its own transaction; return True if a
        row was written (``kestrel live`` writes it in the bar's checkpoint instead).

        Args:
            ts_event: The close (ns) of the bar just handled; None on a stop (the last
                bar's is kept).

        Raises:
            StrategyError: ``on_save`` raised or returned a state JSON cannot hold.
        """
        found = self.pending(ts_event)
        if found is None:
            return False
        self.ledger.checkpoint(self.strategy_id, state=found)
        self.written(found)
        return True

    def pending(self, ts_event: int | None = None) -> tuple[int, str] | None:
        """Return ``(ts_event, state JSON)`` to write if ``on_save``'s state changed, else None.

        Args:
            ts_event: As for `save`.

        Raises:
            StrategyError: As for `save`.
        """
        if ts_event is not None:
            self._ts_event = ts_event
        state = self.runner.save_state()
        if state is None:
            return None
        text = encode_state(self.strategy_id, state)
        return None if text == self._last else (self._ts_event, text)

    def written(self, saved: tuple[int, str]) -> None:
        """Note that ``saved`` (from `pending`) was committed."""
        self._last = saved[1]
        self.saves += 1
