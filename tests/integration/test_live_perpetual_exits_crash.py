"""``kestrel live`` on a perpetual whose every position is under a stop-loss / take-profit
OCO pair (and often a trailing stop), killed with SIGKILL at 6 random moments and restarted
each time, then run cleanly to the end: nothing lost, doubled or reversed (issue 15).

The local exchange runs in this process, paused, replaying BTC/USDT hours as a perpetual;
the test closes one bar at a time and waits for the node's ``event`` record of it (a bar
handled), as `tests.integration.test_live_perpetual_cli` does. The node runs
`tests.integration.perp_exits.GuardedLongShort`: its exits are node-managed pairs
(`engine.runtime.live.pairs`: an algo stop and a plain limit, both reduce-only) and trailing
stops (`engine.runtime.live.trailing`: a chain of algo stops, cancel then send).

The kills, at bars drawn with a fixed seed, each of four moments at least once (6 kills,
not the 10 of the first version: each restart costs a node start, ~13 s of the suite's
time; the moments, not their count, are what the test covers): right after the exchange closed a
bar (the node is matching it, moving its trailing stop, sending exits), as soon as the node
wrote a new order row (between a row and its answer, between an OCO's two legs, between a
trailing link's cancel and the next), while idle after a bar, and while starting (its
warm-up, restore or reconciliation). Every status change at the exchange is recorded as it
happens (the user-stream reports the local exchange queues), so "never two at once" is
checked over the whole run, not at a few looks.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine.adapters.ccxt.algo import AlgoExchange
from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import Credentials, open_trading_exchange, wall_clock_ms
from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.portfolio.accounts import load_funding_rates
from engine.runtime.live import LiveLedger, LiveOrder, OrderManager
from engine.runtime.live.kill import node_positions
from engine.runtime.live.perpcash import check_wallet
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, BTC_CSV
from tests.integration.perp_config import perpetual_config
from tests.integration.test_live_perpetual_cli import ACCOUNT, SECRET, SYMBOL, Node, wait
from tests.integration.test_live_restart_cli import _records as records

SEED = 1515
KILLS = 6
HISTORY = 24
END = "2020-12-11"  # 240 hourly bars: ~215 handled by the node
MOMENTS = ("moved", "order", "idle", "starting")


def write_config(tmp_path: Path, funding: Path, start_ns: int) -> Path:
    return perpetual_config(
        tmp_path / "guard.toml",
        name=ACCOUNT,
        start=pd.Timestamp(start_ns, tz="UTC").isoformat(),
        end=END,
        funding=funding,
        strategy="tests.integration.perp_exits:GuardedLongShort",
        strategy_id="guard",
        params="quantity = 0.1, stop_pct = 0.8, target_pct = 0.8, trail_pct = 0.5",
    )


def write_funding(tmp_path: Path) -> Path:
    """8-hourly funding over the run: +0.01 %, -0.005 %, alternating."""
    times = pd.date_range("2020-12-01", END, freq="8h", tz="UTC")
    rates = [0.0001 if i % 2 == 0 else -0.00005 for i in range(len(times))]
    path = tmp_path / "funding.csv"
    frame = pd.DataFrame({"timestamp": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "rate": rates})
    frame.to_csv(path, index=False)
    return path


class Timeline:
    """Every status change at the exchange, in the order it happened: ``(book, client id,
    status)`` with ``book`` "plain" (``/fapi/v1/order``) or "algo" (``/fapi/v1/algoOrder``).

    It listens where the local exchange queues its user-stream reports (each change of an
    order's status is one), on the exchange's own thread; it changes nothing.
    """

    def __init__(self, local: LocalExchange) -> None:
        self.changes: list[tuple[str, str, str]] = []
        venue: Any = local.venue
        plain, algo = venue._report, venue.algos._report

        def on_plain(order: Any, *args: Any, **kwargs: Any) -> None:
            self.changes.append(("plain", order.client_id, order.status))
            plain(order, *args, **kwargs)

        def on_algo(order: Any) -> None:
            self.changes.append(("algo", order.client_id, order.status))
            algo(order)

        venue._report = on_plain
        venue.algos._report = on_algo

    def most_live(self, group: Callable[[str], str | None]) -> dict[str, int]:
        """Return, per group of ``group(client id)`` (None: not counted), the most orders of
        that group live at the exchange at once, and ``"groups"``: the most groups at once.

        Live: a plain order NEW or PARTIALLY_FILLED, an algo order NEW (a triggered one is
        its plain order, which is counted itself).
        """
        live: dict[tuple[str, str], str] = {}
        most: dict[str, int] = {"groups": 0}
        for book, client_id, status in self.changes:
            open_ = status in ("NEW", "PARTIALLY_FILLED") if book == "plain" else status == "NEW"
            name = group(client_id)
            if name is None:
                continue
            if open_:
                live[(book, client_id)] = name
            else:
                live.pop((book, client_id), None)
            counts: dict[str, int] = {}
            for held in live.values():
                counts[held] = counts.get(held, 0) + 1
            for held, count in counts.items():
                most[held] = max(most.get(held, 0), count)
            most["groups"] = max(most["groups"], len(counts))
        return most


def order_rows(db: Path) -> int:
    """How many order rows the node's store holds (0 before it made its tables)."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)) as conn:
            return int(conn.execute("select count(*) from live_orders").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_a_perpetual_node_with_oco_exits_and_trailing_stops_killed_six_times(
    tmp_path: Path,
) -> None:
    funding = write_funding(tmp_path)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    config = write_config(tmp_path, funding, int(frame.ts_open_ns[HISTORY]))
    local = LocalExchange(
        [frame], {SYMBOL: BTC}, secret=SECRET, paused=True, history=HISTORY, fee_rate=0.0004,
        perpetual=True, funding={SYMBOL: load_funding_rates(funding)},
    )  # fmt: skip
    local.start()
    timeline = Timeline(local)
    db = tmp_path / "k.db"
    rng = random.Random(SEED)
    last = len(frame) - 1  # the exchange never closes its last bar
    moments = [MOMENTS[k % len(MOMENTS)] for k in range(KILLS)]  # every moment at least once
    rng.shuffle(moments)
    kills = dict(zip(sorted(rng.sample(range(HISTORY + 5, last - 20), KILLS)), moments,
                     strict=True))  # fmt: skip
    killed: list[str] = []
    try:
        node = Node(config, local, tmp_path)
        node.started()
        for index in range(HISTORY, last):
            close_ns = int(frame.ts_close_ns[index])
            moment = kills.get(index)
            if moment == "moved":  # the node has the bar (or is about to): matching, sending
                local.advance(1)
                time.sleep(rng.uniform(0.0, 0.4))
                node.kill()
            elif moment == "order":  # as soon as a new order row is written
                rows = order_rows(db)
                local.advance(1)
                wait(lambda: order_rows(db) > rows or node.handled(close_ns),  # noqa: B023
                     "an order row or the bar", node.process)  # fmt: skip
                node.kill()
            elif moment == "starting":  # in its warm-up, restore or reconciliation
                node.step(close_ns)
                node.kill()
                node = Node(config, local, tmp_path)
                time.sleep(rng.uniform(0.5, 3.0))
                if node.process.poll() is not None:
                    pytest.fail(f"the node ended while starting: {node.process.stderr}")
                node.kill()
            else:
                node.step(close_ns)
                if moment == "idle":
                    node.kill()
            if moment is None:
                continue
            killed.append(moment)
            node = Node(config, local, tmp_path)
            node.started()
        out = node.stop()  # the clean run to the end
        assert "stopped" in out
        local.pause()
        ledger = LiveLedger(RunStore(f"sqlite:///{db}"), ACCOUNT)
        check_outcome(local, ledger, timeline)
        assert sorted(killed) == sorted(kills.values())
        starts = records(tmp_path / "log", "start")
        assert len(starts) >= KILLS + 1
        assert any(s["restored_orders"] for s in starts), "a restart adopted working exits"
    finally:
        local.stop()


def check_outcome(local: LocalExchange, ledger: LiveLedger, timeline: Timeline) -> None:
    venue: Any = local.venue
    rows = ledger.orders(origin=None)
    stored: dict[str, LiveOrder] = {o.client_id: o for o in rows}
    plain = list(venue.orders.values())
    algos = list(venue.algos.orders.values())
    placed_by_trigger = {a.actual.order_id for a in algos if a.actual is not None}
    sent = [o.client_id for o in plain if o.order_id not in placed_by_trigger]
    sent += [a.client_id for a in algos]
    # nothing doubled: each client id went out once (a triggered stop's order carries its
    # algo order's id: it is that order, not another)
    assert len(sent) == len(set(sent))
    # nothing lost: every exchange order, plain and algo, is a node order in the store
    assert all(c in stored and stored[c].origin == "node" for c in sent)
    assert len([o for o in rows if o.exchange_order_id]) == len(sent)
    for order in plain:
        if order.order_id not in placed_by_trigger:
            assert stored[order.client_id].filled_quantity == pytest.approx(order.filled)
    for algo in algos:
        filled = algo.actual.filled if algo.actual is not None else 0.0
        assert stored[algo.client_id].filled_quantity == pytest.approx(filled)
    # the fills are the exchange's trades, each once
    fills = [f for f in ledger.fills() if f.client_id != "baseline"]
    assert sorted(f.trade_id for f in fills) == sorted(str(t["id"]) for t in venue.trades)
    # what was exercised: OCO exits of both legs, trailing stops moved and filled
    in_pairs = {o.client_id: o for o in rows if o.list_id}
    trails = {t.order_id for t in ledger.trails()}
    links = [o for o in rows if o.order_id in trails and o.exchange_order_id]
    trail_fills = [f for f in fills if stored[f.client_id].order_id in trails]
    pair_fills = [f for f in fills if f.client_id in in_pairs]
    stop_fills = [f for f in pair_fills if stored[f.client_id].stop_price is not None]
    print(f"{len(rows)} orders, {len(sent)} at the exchange, {len(fills)} fills: "
          f"{len(pair_fills)} of pairs ({len(stop_fills)} stops), {len(trails)} trailing "
          f"stops in {len(links)} links, {len(trail_fills)} filled")  # fmt: skip
    assert len(stop_fills) >= 3
    assert len(pair_fills) - len(stop_fills) >= 3
    assert len(links) > len(trails) >= 5
    assert trail_fills
    # never two exit pairs, two trailing stops, or two links of one trailing stop at once
    pairs = timeline.most_live(lambda c: stored[c].list_id or None if c in stored else None)
    assert pairs["groups"] == 1
    assert max(v for k, v in pairs.items() if k != "groups") == 2
    chains = timeline.most_live(
        lambda c: stored[c].order_id if c in stored and stored[c].order_id in trails else None
    )
    assert chains["groups"] == 1
    assert max(v for k, v in chains.items() if k != "groups") == 1
    per_order = timeline.most_live(lambda c: stored[c].order_id if c in stored else None)
    assert max(v for k, v in per_order.items() if k != "groups") == 1
    # never a reverse position: no trade turns a long into a short or back, and every trade
    # that shrank the position was of a reduce-only order, as every exit went
    reduce = {o.order_id: o.reduce_only for o in plain}
    position = 0.0
    for trade in sorted(venue.trades, key=lambda t: int(t["id"])):
        signed = float(trade["qty"]) * (1.0 if trade["isBuyer"] else -1.0)
        after = round(position + signed, 8)
        assert position * after >= 0.0, f"trade {trade['id']} reversed {position} to {after}"
        if position and abs(after) < abs(position):
            assert reduce[trade["orderId"]], f"trade {trade['id']} closed without reduce-only"
        position = after
    exits = {o.client_id for o in rows if o.list_id or o.order_id in trails or o.triggered_from}
    sent_exits = [o for o in plain if o.client_id in exits and o.order_id not in placed_by_trigger]
    sent_exits += [a for a in algos if a.client_id in exits]
    assert len(sent_exits) > 20
    assert [stored[o.client_id] for o in sent_exits if not o.reduce_only] == []
    # the stored position is the exchange's; the wallet and the account reconcile
    held = venue.positions[SYMBOL].amount
    assert position == pytest.approx(held, abs=1e-9)
    assert node_positions(ledger, {SYMBOL: BTC})[SYMBOL] == pytest.approx(held, abs=1e-9)
    client = open_trading_exchange("binance", Credentials("perp-key", SECRET), sandbox=True,
                                   local_url=local.urls["http"], perpetual=True)  # fmt: skip
    exchange = AlgoExchange(client, RetryPolicy(attempts=3, backoff_s=0.1), wall_clock_ms,
                            perpetuals=[SYMBOL])  # fmt: skip
    exchange.load()
    baseline = ledger.baseline()
    assert baseline is not None
    checks = check_wallet(exchange, baseline, ledger.fills(), {SYMBOL: "USDT"})
    assert checks
    assert all(c.matches for c in checks), [c.mismatch() for c in checks]
    later = OrderManager(exchange, ledger, now_ms=lambda: wall_clock_ms() + 120_000)
    reconcile(later, {SYMBOL: BTC})  # raises if the account cannot be explained
