"""The paper account's journal and session: replay restores state exactly; nothing doubles.

In-process, no exchange, on SQLite and PostgreSQL: bars come from the demo config's file
and go straight to `PaperSession.process`; "a crash" is a session dropped without
`finish` (what a SIGKILL leaves: the committed journal), "a restart" is `open_session` on
the same store.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.config import RunConfig, load_config
from engine.errors import ConfigError
from engine.model import Bar
from engine.persistence import RunStore
from engine.persistence.schema import paper_accounts
from engine.runtime.backtest import iter_bars, load_frames
from engine.runtime.paper import Outputs, PaperJournal, PaperSession, open_session

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "configs" / "paper_btc.toml"
START = 1_606_780_800_000_000_000  # 2020-12-01T00:00Z, the first bar's open

FAR_LIMIT = '''
from engine.strategy import Strategy


class FarLimit(Strategy):
    """Places one buy limit far under the market on its first bar; it never fills."""

    def on_start(self, ctx):
        self.placed = False

    def on_bar(self, ctx, bar):
        if not self.placed:
            ctx.buy(bar.symbol, 0.01, limit_price=round(bar.close * 0.5, 2))
            self.placed = True
'''


def _bars(config: RunConfig, count: int | None = None) -> list[Bar]:
    bars = list(iter_bars(load_frames(config)))  # type: ignore[arg-type]
    return bars if count is None else bars[:count]


def _open(store: RunStore, config: RunConfig, **kwargs: Any) -> PaperSession:
    return open_session(
        config,
        PaperJournal(store, "acct"),
        resume_only=kwargs.get("resume_only", False),
        start_ns=lambda: START,
        url="test-store",
    )


def _state(session: PaperSession) -> tuple[Any, ...]:
    kernel = session.node.kernel
    return (
        list(kernel.recorder.orders.values()),
        [tuple(f) for f in kernel.recorder.fills],
        kernel.portfolio.cash,
        {s: p.quantity for s, p in kernel.portfolio.positions.items()},
        [o.order_id for o in kernel.execution.all_open_orders()],
        list(session.node.equity_curve),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    """The same code on SQLite and on PostgreSQL (a fresh database, dropped afterwards)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'k.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres")
    store = RunStore(url)
    yield store
    store.engine.dispose()


def test_a_restart_replays_the_journal_into_the_exact_same_state(store: RunStore) -> None:
    config = load_config(CONFIG)
    bars = _bars(config)
    whole = open_session(
        config, PaperJournal(store, "whole"), resume_only=False, start_ns=lambda: START, url="u"
    )
    first = _open(store, config)
    assert first.replayed == 0
    for bar in bars[:150]:
        assert first.process(bar) is not None
    # crash: `first` is dropped with its outputs of the last bar unwritten
    second = _open(store, config)
    assert second.replayed == 150
    assert _state(second) == _state(first)
    assert second.resume_ns == bars[149].ts_event
    for bar in bars[150:]:
        second.process(bar)
    for bar in bars:
        whole.process(bar)
    assert _state(second) == _state(whole)
    assert len(second.node.kernel.recorder.fills) >= 10


def test_outputs_are_stored_once_whatever_the_restarts(store: RunStore) -> None:
    config = load_config(CONFIG)
    bars = _bars(config, 120)
    session = _open(store, config)
    for bar in bars[:80]:
        session.process(bar)
    for _ in range(3):  # three crashes and restarts, each rewriting every output
        session = _open(store, config)
    for bar in bars[80:]:
        session.process(bar)
    session.finish()
    run_id = session.account.run_id
    fills = store.table_rows("fills", run_id)
    assert [f["fill_id"] for f in fills] == sorted(
        f.fill_id for f in session.node.kernel.recorder.fills
    )
    assert len(store.table_rows("orders", run_id)) == len(session.node.kernel.recorder.orders)
    equity = store.table_rows("equity", run_id)
    assert [row["ts_event"] for row in equity] == [bar.ts_event for bar in bars]
    run = store.get_run(run_id)
    assert run is not None
    assert run["final_equity"] == pytest.approx(session.node.kernel.portfolio.equity())


def test_a_repeated_or_older_bar_is_dropped_before_the_journal(store: RunStore) -> None:
    config = load_config(CONFIG)
    bars = _bars(config, 5)
    session = _open(store, config)
    for bar in bars:
        session.process(bar)
    assert session.process(bars[4]) is None
    assert session.process(bars[2]) is None
    assert session.journal.count() == 5


def test_the_first_bar_must_close_after_the_account_started(store: RunStore) -> None:
    config = load_config(CONFIG)
    bars = _bars(config, 3)
    session = open_session(
        config,
        PaperJournal(store, "late"),
        resume_only=False,
        start_ns=lambda: bars[1].ts_event,
        url="u",
    )
    assert session.process(bars[0]) is None
    assert session.process(bars[1]) is None  # closed at the start: already history
    assert session.process(bars[2]) is not None


def test_a_changed_config_refuses_to_resume(store: RunStore) -> None:
    config = load_config(CONFIG)
    _open(store, config).process(_bars(config, 1)[0])
    changed = load_config(CONFIG, ["strategy.params.fast=6"])
    with pytest.raises(ConfigError, match=r"different config \(params changed\)"):
        _open(store, changed)
    fees = load_config(CONFIG, ["execution.fee_rate=0.002"])
    with pytest.raises(ConfigError, match=r"\(execution changed\)"):
        _open(store, fees)
    renamed = load_config(CONFIG, ['run.name="other"'])  # not a decision: resumes
    assert _open(store, renamed).replayed == 1


def test_resume_only_refuses_a_missing_account_with_a_suggestion(store: RunStore) -> None:
    config = load_config(CONFIG)
    _open(store, config)
    with pytest.raises(ConfigError, match=r"no paper account 'acc' in u.*did you mean 'acct'"):
        open_session(
            config, PaperJournal(store, "acc"), resume_only=True, start_ns=lambda: 0, url="u"
        )


def test_an_account_held_by_a_live_process_is_refused(store: RunStore) -> None:
    config = load_config(CONFIG)
    _open(store, config)
    holder = f"{socket.gethostname()}:{os.getppid()}"  # alive: our parent process
    change = update(paper_accounts).values(writer=holder)
    store.transact("test", lambda conn: conn.execute(change))
    with pytest.raises(ConfigError, match="is running in process"):
        _open(store, config)
    dead = f"{socket.gethostname()}:999999999"  # a SIGKILLed holder: taken over
    store.transact("test", lambda conn: conn.execute(update(paper_accounts).values(writer=dead)))
    _open(store, config)
    writer = store.read(select(paper_accounts.c.writer))[0]["writer"]
    assert writer == f"{socket.gethostname()}:{os.getpid()}"


def test_cancel_on_stop_is_journaled_and_replayed(store: RunStore, tmp_path: Path) -> None:
    (tmp_path / "far_limit.py").write_text(FAR_LIMIT)
    text = CONFIG.read_text().replace('"strategies.sma_cross:SmaCross"', '"far_limit.py:FarLimit"')
    text = text.replace("params = { fast = 5, slow = 20 }", "")
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    (tmp_path / "far.toml").write_text(text)
    config = load_config(tmp_path / "far.toml")
    session = _open(store, config)
    for bar in _bars(config, 10):
        session.process(bar)
    assert len(session.node.kernel.execution.all_open_orders()) == 1
    session.cancel_open_orders()
    session.finish()
    assert session.node.kernel.execution.all_open_orders() == []
    (row,) = session.node.kernel.recorder.orders.values()
    assert row["status"] == "canceled"
    assert "cancel-on-stop" in row["reason"]
    again = _open(store, config)
    assert [e.kind for e in again.journal.entries()][-1] == "cancel_open"
    assert again.node.kernel.execution.all_open_orders() == []
    assert list(again.node.kernel.recorder.orders.values()) == [row]
    stored = store.table_rows("orders", again.account.run_id)
    assert [(r["status"], r["reason"]) for r in stored] == [("canceled", row["reason"])]
    assert again.cancel_open_orders() == []  # nothing open: nothing journaled


def test_outputs_merge_keeps_the_latest_version_of_a_row() -> None:
    first = Outputs(orders=[{"order_id": "a", "status": "accepted"}])
    first.merge(Outputs(orders=[{"order_id": "a", "status": "filled"}, {"order_id": "b"}]))
    assert first.orders == [{"order_id": "a", "status": "filled"}, {"order_id": "b"}]
    assert not Outputs()


def test_a_changed_timeframe_refuses_to_resume(store: RunStore) -> None:
    config = load_config(CONFIG)
    hourly = {"BTC/USDT": 3_600_000_000_000}
    for _ in range(2):  # the same timeframe resumes
        open_session(
            config, PaperJournal(store, "tf"), resume_only=False, start_ns=lambda: 0, url="u",
            timeframes=hourly,
        )  # fmt: skip
    with pytest.raises(ConfigError, match=r"\(timeframes changed\)"):
        open_session(
            config, PaperJournal(store, "tf"), resume_only=False, start_ns=lambda: 0, url="u",
            timeframes={"BTC/USDT": 300_000_000_000},
        )  # fmt: skip


def test_a_deleted_run_row_comes_back_with_the_next_bar(store: RunStore) -> None:
    config = load_config(CONFIG)
    bars = _bars(config, 40)
    session = _open(store, config)
    for bar in bars[:30]:
        session.process(bar)
    session.flush_pending()
    assert store.delete_run(session.account.run_id)  # `kestrel runs delete paper-acct`
    for bar in bars[30:]:
        session.process(bar)
    session.finish()
    assert store.get_run(session.account.run_id) is not None
    assert [r["ts_event"] for r in store.table_rows("equity", session.account.run_id)] == [
        bar.ts_event for bar in bars[29:]
    ]


def test_a_stop_between_two_symbols_bars_of_one_time_resumes_before_it(
    store: RunStore, tmp_path: Path
) -> None:
    text = CONFIG.read_text().replace('path = "data/', f'path = "{REPO}/data/')
    text += (
        f'\n[[data]]\npath = "{REPO}/data/binance_ETH_USDT_1h_20201201_20210717.csv"\n'
        'symbol = "ETH/USDT"\nend = "2020-12-15"\n\n'
        '[[instruments]]\nsymbol = "ETH/USDT"\nlot_size = 0.0001\n'
    )
    (tmp_path / "two.toml").write_text(text)
    config = load_config(tmp_path / "two.toml")
    bars = _bars(config, 41)  # 20 times of two symbols, then the first of time 21
    assert bars[39].ts_event == bars[40].ts_event - 3_600_000_000_000
    session = _open(store, config)
    for bar in bars:
        session.process(bar)
    again = _open(store, config)  # crash after one symbol of the last time
    assert again.resume_ns == bars[39].ts_event  # the other symbol's last bar
    assert again.process(bars[40]) is None  # the feed repeats it: dropped
    rest = _bars(config, 42)[41]
    assert rest.symbol != bars[40].symbol
    assert again.process(rest) is not None


def test_the_stored_metrics_count_a_position_still_open(store: RunStore) -> None:
    """A paper account holding BTC was stored as flat: open_positions 0, unrealized_pnl 0.0
    (an audit). They are now the backtest's: the position marked at its last bar's close."""
    config = load_config(CONFIG)
    session = _open(store, config)
    held = None
    for bar in _bars(config, 400):
        session.process(bar)
        position = session.node.kernel.portfolio.positions.get(bar.symbol)
        if position is not None and position.quantity and session.node.kernel.recorder.trades:
            held = (bar, position.quantity, position.average_price)
            break
    assert held is not None, "the demo strategy opened no position after a closed trade"
    bar, quantity, average_price = held
    session.finish()
    run = store.get_run(session.account.run_id)
    assert run is not None
    metrics = run["metrics"]
    assert metrics["open_positions"] == 1
    assert metrics["unrealized_pnl"] == pytest.approx(quantity * (bar.close - average_price))
    assert metrics["num_trades"] == len(session.node.kernel.recorder.trades)  # closed ones
