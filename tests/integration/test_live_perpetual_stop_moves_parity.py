"""Parity of a stop moved to break-even on a perpetual, through the real ``kestrel live
--replay ... --speed lockstep`` command (issue 15).

`PerpBreakEven` (``tests.integration.perp_breakeven``) on BTC/USDT hours as a USDⓈ-M
perpetual at leverage 3 with 8-hourly funding: a market entry, a reduce-only stop 0.6 %
beyond the entry price, moved to the entry price once a close is 0.3 % in the trade's
favour, the position closed at the market after 8 bars; every filled stop is modified once
more (refused: not working). Live each stop is a Binance algo order (STOP_MARKET); a move
is a cancel and a new algo order (`engine.runtime.live.stopmove`).

The reference is the backtest of the same config over the same bars (the practice
exchange never closes its last bar; the strategy is flat from the second-to-last on). The
stored fills (side, quantity, price, fee), every answer the strategy heard in order (kept
by its ``on_save``: modifications with their stop, refusals with their reasons, cancels,
fills with their prices), each order's final status, the node's last cash and equity and
the funding it booked are the backtest's; at the exchange every moved stop is two algo
orders, the first canceled, and none is left working.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from engine import load_config, run_backtest
from engine.feeds import load_bars
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus
from tests.contract.conftest import BTC_CSV
from tests.integration.conftest import CliRunner
from tests.integration.perp_breakeven import PerpBreakEven, PerpBreakEvenParams
from tests.integration.test_live_lockstep_cli import (
    KEY,
    SECRET,
    assert_fills,
    last_equity,
    lockstep,
    records,
)
from tests.integration.test_live_perpetual_cli import node_fills
from tests.integration.test_live_perpetual_orders_parity import END, SYMBOL, write_config
from tests.integration.test_live_perpetual_parity import funding_file

ACCOUNT = "breakeven"


@pytest.mark.slow
def test_stops_moved_to_break_even_on_a_perpetual_trade_live_as_in_the_backtest(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    path = write_config(tmp_path, funding_file(tmp_path), frame, ACCOUNT,
                        "tests.integration.perp_breakeven:PerpBreakEven", "be")  # fmt: skip
    result = kestrel(*lockstep(path, tmp_path))
    assert result.code == 0, result.err
    (start,) = records(tmp_path, "start")
    assert (start["perpetuals"], start["leverage"]) == ([SYMBOL], 3)

    config = load_config(path)
    strategy = PerpBreakEven(PerpBreakEvenParams(**config.strategy.params))
    backtest = run_backtest(config, strategy=strategy)
    heard = strategy.heard

    db = tmp_path / "k.db"
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), ACCOUNT)
    saved = ledger.load_state("be")
    assert saved is not None
    assert saved.state["heard"] == heard  # every answer, in order, with its terms or reason
    answers = Counter(line.partition(" ")[0] for line in heard)
    refusals = Counter(line.split(" ", 2)[2] for line in heard if line.startswith("modify-"))
    assert refusals == {"order is not working": answers["modify-rejected"]}
    assert (answers["modified"], answers["modify-rejected"]) == (41, 75)
    assert (answers["filled"], answers["canceled"]) == (192, 20)
    modified = [line.split() for line in heard if line.startswith("modified")]
    moved_to = {words[1]: float(words[3]) for words in modified}  # order id -> new stop
    assert {words[2] for words in modified} == {"0.1"}  # the whole position, unchanged
    stopped = [(line.split()[1], float(line.split()[4])) for line in heard
               if line.startswith("filled") and line.split()[1] in moved_to]  # fmt: skip
    at_break_even = [oid for oid, price in stopped if price == moved_to[oid]]
    assert (len(stopped), len(at_break_even)) == (22, 22)  # the others closed at 8 bars
    stops = set(moved_to)

    expected = backtest.recorder.fills
    assert_fills(node_fills(db, ACCOUNT), expected)
    cash, equity, _ = last_equity(db, ACCOUNT)
    assert cash == pytest.approx(backtest.portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(backtest.portfolio.equity, abs=1e-6)
    assert backtest.portfolio.positions[SYMBOL].quantity == 0.0  # flat: cash is equity
    (stop,) = records(tmp_path, "stop")
    assert stop["funding_booked"] == pytest.approx(backtest.portfolio.cash_flows, abs=1e-9)

    # each order ended as the backtest's; a moved stop is its canceled algo order and the
    # new one, which ended as the order did
    rows = ledger.orders(origin="node")
    statuses = {oid: row["status"] for oid, row in backtest.recorder.orders.items()}
    assert sorted({r.order_id for r in rows}) == sorted(statuses)
    at_exchange = {"filled": LiveStatus.FILLED, "canceled": LiveStatus.CANCELED}
    current = {r.order_id: r for r in rows}  # the newest exchange order of each
    assert {oid: current[oid].status for oid in current} == {
        oid: at_exchange[status] for oid, status in statuses.items()
    }
    for order_id in stops:
        chain = [r for r in rows if r.order_id == order_id]
        assert [r.status for r in chain[:-1]] == [LiveStatus.CANCELED] * (len(chain) - 1)
        assert chain[-1].replaces == chain[-2].client_id
    assert not [r for r in rows if r.status in (LiveStatus.STAGED, LiveStatus.OPEN)]
