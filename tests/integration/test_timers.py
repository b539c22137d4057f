"""Strategy timers fire on the simulated clock, and their orders act at the timer's time."""

from __future__ import annotations

from pathlib import Path

from engine import parse_config, run_backtest
from engine.report.artifacts import iso
from tests.integration.conftest import REPO

PLUGIN = """
from engine.strategy import Strategy

class Daily(Strategy):
    def on_start(self, ctx):
        self.fired = []
        ctx.set_timer("daily", "1d")

    def on_timer(self, ctx, name):
        self.fired.append((name, ctx.time_ns))
        if len(self.fired) == 3:
            ctx.buy(ctx.symbols[0], 1)
"""


def test_daily_timer_fires_every_day_and_orders_fill_next_bar(tmp_path: Path) -> None:
    plugin = tmp_path / "daily.py"
    plugin.write_text(PLUGIN)
    config = parse_config(
        {
            "data": [{"path": str(REPO / "data" / "GOOG.csv"), "symbol": "GOOG"}],
            "instruments": [{"symbol": "GOOG", "lot_size": 1.0}],
            "strategy": {"path": f"{plugin}:Daily"},
        }
    )
    result = run_backtest(config)
    fired = result.strategy.fired  # type: ignore[attr-defined]
    # first bar opens 2004-08-19; the clock starts there, so timers fire each midnight after
    assert [iso(ts) for _, ts in fired[:3]] == [
        "2004-08-20T00:00:00Z",
        "2004-08-21T00:00:00Z",
        "2004-08-22T00:00:00Z",
    ]
    assert {name for name, _ in fired} == {"daily"}
    # placed on Sunday 2004-08-22: fills at the open of the next bar (Monday 08-23, 110.75)
    (fill,) = result.recorder.fills
    assert (iso(fill.ts_event), fill.price) == ("2004-08-23T00:00:00Z", 110.75)


def test_strategy_hooks_see_only_their_own_orders() -> None:
    from engine.bus import EventBus
    from engine.model import OrderCanceled
    from engine.strategy import Context, Strategy, StrategyRunner

    class Seen(Strategy):
        def on_start(self, ctx: Context) -> None:
            self.canceled: list[str] = []

        def on_order_canceled(self, ctx: Context, event: OrderCanceled) -> None:
            self.canceled.append(event.order_id)

    def runner(strategy_id: str, strategy: Seen) -> StrategyRunner:
        context = Context(
            strategy_id=strategy_id,
            clock=None,  # type: ignore[arg-type]
            bus=EventBus(),
            portfolio=None,  # type: ignore[arg-type]
            orders=None,  # type: ignore[arg-type]
            histories={},
            instruments={},
        )
        return StrategyRunner(strategy, context)

    plain, suffixed = Seen(), Seen()
    plain_runner, suffixed_runner = runner("S1", plain), runner("S1-b", suffixed)
    plain_runner.start()
    suffixed_runner.start()
    owners = {"S1-000001": "S1", "S1-X000002": "S1", "S1-b-000001": "S1-b"}
    for order_id, owner in owners.items():
        event = OrderCanceled(order_id, owner, "X", "test", 0, 0)
        plain_runner.on_order_canceled(event)
        suffixed_runner.on_order_canceled(event)
    assert plain.canceled == ["S1-000001", "S1-X000002"]
    assert suffixed.canceled == ["S1-b-000001"]
