"""A live node's checkpoint: its equity after each bar, with the bar, the state and timers
(issue 15).

One row per bar time (a second symbol's bar at the same time overwrites this session's
row), appended across restarts without touching earlier rows, never a non-finite equity;
every bar handled is stored once (a bar at or before its symbol's last stored one is not
written again); a bar's equity, the bar, state and timers go in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import SimClock
from engine.config import parse_config
from engine.model import Bar, OrderFilled, OrderSide
from engine.persistence import RunStore
from engine.persistence.schema import live_bars
from engine.runtime.live import LiveLedger
from engine.runtime.live.checkpoint import Checkpoint
from engine.runtime.live.ledger import EquityRow, StoredTimer
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy

HOUR = 3_600_000_000_000
T0 = 1_700_000_000 * 1_000_000_000
CONFIG = parse_config(
    {
        "data": [{"symbol": "A"}, {"symbol": "B"}],
        "strategy": {"path": "x:Y", "id": "s"},
        "account": {"initial_cash": 1_000.0},
    }
)


def bar(symbol: str, i: int, close: float) -> Bar:
    ts = T0 + (i + 1) * HOUR
    return Bar(symbol, ts, ts, close, close, close, close, 100.0, HOUR)


class Counting(Strategy):
    """Sets a timer, counts bars in its state; nothing else."""

    def on_start(self, ctx: Context) -> None:
        self.seen = 0
        ctx.set_timer("hourly", HOUR)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.seen += 1

    def on_save(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def on_load(self, state: dict[str, Any]) -> None:
        self.seen = int(state["seen"])


@pytest.fixture
def ledger(tmp_path: Path) -> LiveLedger:
    return LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "acct")


def node_with(position: float) -> TradingNode:
    """A started node holding ``position`` of B, restored as a restart does (no warm-up)."""
    node = TradingNode(CONFIG, clock=SimClock(T0), strategy=Counting())
    if position:
        node.kernel.portfolio.restore_fill(
            OrderFilled("s-1", "s", "X-1", "B", OrderSide.BUY, position, 50.0, 0.5, "taker",
                        0.0, T0, T0)
        )  # fmt: skip
    node.start()
    return node


def test_each_bar_time_has_one_row_the_equity_after_all_of_its_bars(ledger: LiveLedger) -> None:
    node = node_with(2.0)  # cash 1000 - 100 - 0.5 = 899.5
    checkpoint = Checkpoint(node, ledger, session=1)
    checkpoint.start()
    for i, (a, b) in enumerate([(10.0, 51.0), (11.0, 49.0)]):
        node.on_event(bar("B", i, b))
        checkpoint.after_bar(bar("B", i, b))
        node.on_event(bar("A", i, a))
        checkpoint.after_bar(bar("A", i, a))  # same time: overwrites the row
    assert ledger.equity_rows() == [
        EquityRow(T0 + HOUR, 1, 899.5, 899.5 + 2 * 51.0, 2 * 51.0),
        EquityRow(T0 + 2 * HOUR, 1, 899.5, 899.5 + 2 * 49.0, 2 * 49.0),
    ]
    assert (checkpoint.rows, checkpoint.skipped) == (2, 0)


def test_no_row_is_written_while_the_equity_is_not_finite(ledger: LiveLedger) -> None:
    node = node_with(2.0)  # B held, restored without warm-up: no price for B yet
    checkpoint = Checkpoint(node, ledger, session=1)
    checkpoint.start()
    assert node.kernel.portfolio.equity() != node.kernel.portfolio.equity()  # NaN
    node.on_event(bar("A", 0, 10.0))
    checkpoint.after_bar(bar("A", 0, 10.0))
    assert ledger.equity_rows() == []
    assert checkpoint.skipped == 1
    node.on_event(bar("B", 0, 52.0))  # B's first bar: priced from here
    checkpoint.after_bar(bar("B", 0, 52.0))
    assert ledger.equity_rows() == [EquityRow(T0 + HOUR, 1, 899.5, 899.5 + 104.0, 104.0)]
    assert (checkpoint.rows, checkpoint.skipped) == (1, 1)
    # the state still counted both bars: only the equity row waits for a price
    assert ledger.load_state("s") is not None
    assert ledger.load_state("s").state == {"seen": 2}  # type: ignore[union-attr]


def test_a_restart_appends_and_never_rewrites_an_earlier_sessions_row(ledger: LiveLedger) -> None:
    node = node_with(0.0)
    first = Checkpoint(node, ledger, session=1)
    first.start()
    for i in range(3):
        node.on_event(bar("A", i, 10.0 + i))
        first.after_bar(bar("A", i, 10.0 + i))
    before = ledger.equity_rows()
    assert [r.ts_ns for r in before] == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]
    # session 2: a bar at the last stored time (B's, say) does not touch session 1's row
    node = node_with(1.0)
    second = Checkpoint(node, ledger, session=2)
    second.start()
    for i in (2, 3, 4):
        node.on_event(bar("B", i, 60.0))
        second.after_bar(bar("B", i, 60.0))
    rows = ledger.equity_rows()
    assert rows[:3] == before
    assert rows[3:] == [
        EquityRow(T0 + 4 * HOUR, 2, 949.5, 1_009.5, 60.0),
        EquityRow(T0 + 5 * HOUR, 2, 949.5, 1_009.5, 60.0),
    ]
    assert second.rows == 2


def test_a_bars_equity_state_and_timers_are_one_transaction(
    ledger: LiveLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = node_with(0.0)
    checkpoint = Checkpoint(node, ledger, session=1)
    checkpoint.start()  # commits the timer on_start set
    assert ledger.load_timers("s") == [StoredTimer("hourly", HOUR, T0 + HOUR)]
    commits: list[str] = []
    transact = ledger.store.transact
    monkeypatch.setattr(
        ledger.store, "transact", lambda what, work: (commits.append(what), transact(what, work))[1]
    )
    node.kernel.runner.context.set_timer("daily", 24 * HOUR)  # as a bar's on_bar might
    node.on_event(bar("A", 0, 10.0))
    checkpoint.after_bar(bar("A", 0, 10.0))
    assert commits == ["checkpointing live account acct"]
    assert ledger.load_state("s") is not None
    assert [t.name for t in ledger.load_timers("s")] == ["daily", "hourly"]
    assert len(ledger.equity_rows()) == 1
    assert ledger.bars() == [bar("A", 0, 10.0)]
    checkpoint.stop()  # nothing changed since: nothing written
    assert commits == ["checkpointing live account acct"]


def test_every_bar_handled_is_stored_once_across_restarts(ledger: LiveLedger) -> None:
    node = node_with(0.0)
    first = Checkpoint(node, ledger, session=1)
    first.start()
    for i in range(3):
        node.on_event(bar("A", i, 10.0 + i))
        first.after_bar(bar("A", i, 10.0 + i))
        node.on_event(bar("B", i, 50.0 + i))
        first.after_bar(bar("B", i, 50.0 + i))  # same time, another symbol: its own row
    first.after_bar(bar("A", 2, 12.0))  # a feed repeating itself writes nothing twice
    # session 2 meets A's last stored bar again, then new ones
    node = node_with(0.0)
    second = Checkpoint(node, ledger, session=2)
    second.start()
    for i in (2, 3):
        node.on_event(bar("A", i, 10.0 + i))
        second.after_bar(bar("A", i, 10.0 + i))
    assert ledger.bars() == [
        *(bar("A", i, 10.0 + i) for i in range(4)),
        *(bar("B", i, 50.0 + i) for i in range(3)),
    ]
    table = ledger.store.read(select(live_bars.c.symbol, live_bars.c.ts_ns, live_bars.c.session))
    sessions = {(r["symbol"], r["ts_ns"]): r["session"] for r in table}
    assert sessions[("A", T0 + 3 * HOUR)] == 1
    assert sessions[("A", T0 + 4 * HOUR)] == 2
