"""``kestrel live --exchange-url`` on an exchange that replays history: the node's "now" is
the exchange's (``GET /api/v3/time``), not the machine's, so DAY and GTD orders expire by
the replayed bars, as in a backtest (issue 15: practice on `kestrel exchange serve`).

The local exchange runs in this process, paused, replaying BTC/USDT hours from 2020-12-01;
the test closes one bar at a time and waits until the node handled it. The node runs
`tests.integration.clock_probe.ClockProbe`: it writes down ``ctx.time_ns`` at each bar
and keeps a GTD buy (good for 2 hours) and a DAY buy working, far under the market. With
the machine's clock (years after the bars) every GTD order would be refused as expired
before it was sent and no DAY order would ever expire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus
from tests.contract.conftest import BTC, BTC_CSV
from tests.integration.test_live_perpetual_cli import SECRET, SYMBOL, Node
from tests.integration.test_live_restart_cli import _records as records

HISTORY = 24  # the node's first bar closes at 2020-12-02 01:00
STEPS = 30  # through the bar closing 2020-12-03 06:00: one UTC midnight
HOUR_NS = 3_600 * 10**9
SLACK_NS = 120 * 10**9  # wall seconds the node may take with a bar, carried on its clock


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "clock.toml"
    path.write_text(f"""
[live]
mode = "live"

[run]
name = "clock"

[account]
initial_cash = 10000.0
currency = "USDT"

[[data]]
path = "{BTC_CSV}"
symbol = "{SYMBOL}"
timeframe = "1h"

[[instruments]]
symbol = "{SYMBOL}"
tick_size = 0.01
lot_size = 0.00001
min_quantity = 0.00001
min_notional = 10.0

[strategy]
path = "tests.integration.clock_probe:ClockProbe"
id = "probe"
params = {{ quantity = 0.01, gtd_hours = 2 }}
""")
    return path


def next_midnight(ts_ns: int) -> int:
    day = pd.Timestamp(ts_ns, tz="UTC").normalize() + pd.Timedelta(days=1)
    return int(day.value)


@pytest.mark.slow
def test_day_and_gtd_orders_expire_by_the_replayed_bars_at_an_exchange_url(
    tmp_path: Path,
) -> None:
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end="2020-12-05")
    local = LocalExchange([frame], {SYMBOL: BTC}, secret=SECRET, paused=True, history=HISTORY)
    local.start()
    try:
        node = Node(write_config(tmp_path), local, tmp_path)
        start = node.started()
        assert start["clock"] == "exchange"
        for index in range(HISTORY, HISTORY + STEPS):
            node.step(int(frame.ts_close_ns[index]))
        node.stop()
        stop = records(tmp_path / "log", "stop")[-1]
        assert stop["clock_reads"] >= STEPS
        assert stop["clock_failures"] == 0
        ledger = LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "clock")
        saved = ledger.load_state("probe")
        assert saved is not None
        state: dict[str, Any] = saved.state
        check_the_clock(state, ledger, local)
    finally:
        local.stop()


def check_the_clock(state: dict[str, Any], ledger: LiveLedger, local: LocalExchange) -> None:
    # at each bar the node's time is the replay's at that bar (plus the wall seconds the
    # node took), never the machine's
    assert len(state["seen"]) == STEPS
    for close_ns, now_ns in state["seen"]:
        assert close_ns <= now_ns < close_ns + SLACK_NS
    placed, expired = state["placed"], dict(state["expired"])
    rows = {r.order_id: r for r in ledger.orders(origin="node")}
    gtd = [o for o, (kind, _, _) in placed.items() if kind == "gtd"]
    day = [o for o, (kind, _, _) in placed.items() if kind == "day"]
    # a GTD order good for 2 hours is canceled after the bar closing at its expiry (the
    # last it may fill on, the backtest's) and the strategy hears it at the next poll: an
    # idle second's or the next bar's, before that bar's on_bar — placed again there
    assert len(gtd) == STEPS // 3
    for order_id in gtd:
        _, placed_ns, expire_ns = placed[order_id]
        assert expire_ns == placed_ns + 2 * HOUR_NS
        if expire_ns > state["seen"][-1][0]:
            assert order_id not in expired  # its time has not come yet
            continue
        assert expire_ns <= expired[order_id] <= expire_ns + HOUR_NS + SLACK_NS
        assert rows[order_id].status is LiveStatus.CANCELED  # canceled at the exchange
        assert rows[order_id].expire_ns == expire_ns
    # a DAY order lives until the replay's UTC midnight: the first (placed on the bar closing
    # 2020-12-02 01:00) expires at 2020-12-03 00:00; its successor lives on
    assert len(day) == 2
    first, second = day
    midnight = next_midnight(placed[first][1])
    assert rows[first].expire_ns == midnight
    assert midnight <= expired[first] <= midnight + HOUR_NS + SLACK_NS
    assert rows[first].status is LiveStatus.CANCELED
    assert placed[second][1] == midnight + HOUR_NS  # placed again on the bar it was heard
    assert rows[second].expire_ns == next_midnight(midnight + HOUR_NS)
    assert second not in expired
    assert not [r for r in rows.values() if r.status is LiveStatus.REJECTED]
    canceled = [o for o in local.venue.orders.values() if o.status == "CANCELED"]
    assert len(canceled) == len(expired)
