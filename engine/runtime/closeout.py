"""A run's close-out: after its last bar, what it still holds is sold at the last close.

In: a kernel whose run has delivered its last bar, and its driver. Out: nothing returned;
every open position is closed by a real order through the engine's order path, so the
result's last equity is cash. `engine.runtime.backtest.run_backtest` does it when called
with ``close_at_end=True`` (as backtesting.py's ``finalize_trades``); a walk-forward
analysis' windows need it to hand on the cash they really end with
(`engine.optimize.walkforward`).

The step, once the last bar has been delivered and before the strategy's ``on_stop``:

- trading ACTIVE or REDUCING: the strategy's own ``ctx.close_position(symbol, tag=TAG)``
  for every symbol it holds — it cancels the strategy's working orders on the symbol
  (bracket exits, entries) and sends one reduce-only market order for the whole position,
  checked by risk like any order; ``[risk.exits]`` orders are canceled once it is flat;
- trading HALTED (a guard's ``guard_action = "halted"`` left a position riding): the risk
  engine's `RiskEngine.flatten`, the only orders a halt lets through (no state change, no
  guard trip is added).

The simulated broker fills those orders, and only those (`SimulatedBroker.close_out`), as
it fills every market order under ``market_fill = "same_close"``: at once, at the last
close, the run's taker fee and slippage (kept within the last bar's range under
``slippage_within_range``), ``volume_participation`` on the last bar's volume. Each is a
fill, closes a round trip (``num_trades``), and its fee is in ``fees_paid``; the curve's
last row is the cash after it. The strategy hears the fill like any other.

What can leave a position open: risk denying the close (a limit such as
``max_order_notional``) or ``volume_participation`` filling part of it; the rest is then
marked at the last close, as any backtest marks what it holds at its end
(``open_positions`` and ``unrealized_pnl`` in the metrics say so).
"""

from __future__ import annotations

from engine.execution import SimulatedBroker
from engine.model import TradingState
from engine.runtime.driver import Driver
from engine.runtime.kernel import Kernel

__all__ = ["TAG", "close_positions"]

#: The tag of the closing orders (``tag`` in orders.csv).
TAG = "close at end"


def close_positions(kernel: Kernel, driver: Driver) -> None:
    """Close every open position at the last close (see the module docstring)."""
    broker = kernel.venue
    assert isinstance(broker, SimulatedBroker)  # a backtest's venue
    held = list(kernel.portfolio.open_positions())  # the non-flat ones
    if not held:
        return
    try:
        with driver.session():  # the bus held, faults of the strategy's hooks translated
            if kernel.risk.trading_state is TradingState.HALTED:
                broker.close_out(None)  # a halt lets only the flatten orders through
                kernel.risk.flatten("the run ends: its positions are closed")
            else:
                closing = set()
                for symbol in held:
                    order_id = kernel.runner.context.close_position(symbol, tag=TAG)
                    if order_id is not None:
                        closing.add(order_id)
                broker.close_out(closing)
            kernel.bus.flush()
    finally:
        broker.close_out(set())
