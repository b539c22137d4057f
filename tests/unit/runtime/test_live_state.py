"""A live strategy's own state: `StateKeeper` over a node and a ledger (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.clock import SimClock
from engine.config import parse_config
from engine.errors import StrategyError
from engine.model import Bar
from engine.persistence import RunStore
from engine.persistence.schema import live_strategy_state
from engine.runtime.live import LiveLedger
from engine.runtime.live.state import StateKeeper
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy

HOUR_NS = 3_600_000_000_000
T0 = 1_700_000_000 * 1_000_000_000
CONFIG = parse_config({"data": [{"symbol": "A"}], "strategy": {"path": "x:Y", "id": "s"}})


def bar(i: int) -> Bar:
    ts = T0 + (i + 1) * HOUR_NS
    return Bar("A", ts, ts, 10.0, 11.0, 9.0, 10.0, 100.0, HOUR_NS)


class Counter(Strategy):
    """Counts bars; ``on_start`` resets the count, ``on_load`` brings it back."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.bars_seen = -1

    def on_start(self, ctx: Context) -> None:
        self.calls.append("on_start")
        self.bars_seen = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bars_seen += 1

    def on_save(self) -> dict[str, Any]:
        return {"bars_seen": self.bars_seen}

    def on_load(self, state: dict[str, Any]) -> None:
        self.calls.append("on_load")
        self.bars_seen = int(state["bars_seen"])


class Plain(Strategy):
    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.seen = True


def started(strategy: Strategy, ledger: LiveLedger) -> tuple[TradingNode, StateKeeper]:
    node = TradingNode(CONFIG, clock=SimClock(T0), strategy=strategy)
    node.start()
    return node, StateKeeper(node, ledger)


@pytest.fixture
def ledger(tmp_path: Path) -> LiveLedger:
    return LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "acct")


def rows(ledger: LiveLedger) -> list[dict[str, Any]]:
    return ledger.store.read(select(live_strategy_state))


def test_the_state_is_saved_when_it_changes_and_loaded_after_on_start(ledger: LiveLedger) -> None:
    first = Counter()
    node, keeper = started(first, ledger)
    assert keeper.load() == (None, False)  # a first start: nothing saved, on_load not called
    for i in range(3):
        node.on_event(bar(i))
        assert keeper.save(bar(i).ts_event) is True
    assert keeper.save() is False  # unchanged: no write
    assert keeper.saves == 3
    saved = ledger.load_state("s")
    assert saved is not None
    assert (saved.state, saved.ts_event) == ({"bars_seen": 3}, bar(2).ts_event)
    # a restart: on_start resets the count to 0, on_load brings back 3, then counting goes on
    second = Counter()
    node, keeper = started(second, ledger)
    found, loaded = keeper.load()
    assert loaded is True
    assert found is not None
    assert found.saved_at == saved.saved_at
    assert second.calls == ["on_start", "on_load"]
    assert second.bars_seen == 3
    assert keeper.save() is False  # the loaded state is the last saved one
    for i in range(3, 5):
        node.on_event(bar(i))
        keeper.save(bar(i).ts_event)
    again = ledger.load_state("s")
    assert again is not None
    assert (again.state, again.ts_event) == ({"bars_seen": 5}, bar(4).ts_event)
    assert len(rows(ledger)) == 1


def test_a_strategy_without_the_hooks_writes_and_reads_nothing(ledger: LiveLedger) -> None:
    ledger.save_state("s", 1, {"bars_seen": 9})  # even a row left by an earlier strategy
    node, keeper = started(Plain(), ledger)
    assert keeper.active is False
    assert keeper.load() == (None, False)
    node.on_event(bar(0))
    assert keeper.save(bar(0).ts_event) is False
    assert [(r["ts_event"], r["state_json"]) for r in rows(ledger)] == [(1, '{"bars_seen": 9}')]


def test_a_state_json_cannot_hold_stops_with_one_line_naming_the_key(ledger: LiveLedger) -> None:
    class Bad(Counter):
        def on_save(self) -> dict[str, Any]:
            return {"bars_seen": self.bars_seen, "since": {1, 2}}

    node, keeper = started(Bad(), ledger)
    node.on_event(bar(0))
    with pytest.raises(StrategyError) as caught:
        keeper.save(bar(0).ts_event)
    assert "\n" not in str(caught.value)
    assert "state['since'] is a set" in str(caught.value)
    assert rows(ledger) == []


def test_faults_in_the_hooks_are_strategy_errors(ledger: LiveLedger) -> None:
    class NotADict(Counter):
        def on_save(self) -> Any:
            return [self.bars_seen]

    class Raises(Counter):
        def on_load(self, state: dict[str, Any]) -> None:
            raise KeyError("regime")

    _, keeper = started(NotADict(), ledger)
    with pytest.raises(StrategyError, match=r"NotADict\.on_save returned a list; it must"):
        keeper.save()
    ledger.save_state("s", 1, {"bars_seen": 2})
    _, keeper = started(Raises(), ledger)
    with pytest.raises(StrategyError, match=r"Raises\.on_load raised at .*KeyError: 'regime'"):
        keeper.load()
