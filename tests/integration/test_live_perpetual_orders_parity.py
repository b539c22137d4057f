"""Parity of post-only limits and their modifications on a perpetual, through the real
``kestrel live --replay ... --speed lockstep`` command (issue 15).

`PerpMaker` (``tests.integration.perp_maker``) on BTC/USDT hours as a USDⓈ-M perpetual at
leverage 3 with 8-hourly funding: post-only entries (GTD buys, DAY sells) and reduce-only
post-only exits (DAY), each modified once on the bar after it was placed (live: Binance's
``PUT /fapi/v1/order``, in place), some first moved through the last close or given a
quantity of zero (refused), and every filled order modified once more (refused: not
working). Live, the entries are LIMIT orders with time in force GTX, the DAY and GTD ones
GTC at the exchange that the node cancels at their expiry.

The reference is the backtest of the same config over the same bars (the practice
exchange never closes its last bar; the strategy is flat from the second-to-last on). The
stored fills (side, quantity, price, fee), every answer the strategy heard in order — the
modifications with their terms, the refusals with their reasons, the expiries, cancels and
fills — (kept by its ``on_save``), the node's last cash and equity, and the funding it
booked are the backtest's; each order is one exchange order (modified in place, never
replaced), every one of them ended.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from engine import load_config, run_backtest
from engine.feeds import BarFrame, load_bars
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, LiveStatus
from engine.runtime.live.refusals import MODIFY_NOT_MADE
from tests.contract.conftest import BTC_CSV
from tests.integration.conftest import CliRunner
from tests.integration.perp_config import perpetual_config
from tests.integration.perp_maker import PerpMaker, PerpMakerParams
from tests.integration.test_live_lockstep_cli import (
    KEY,
    SECRET,
    assert_fills,
    last_equity,
    lockstep,
    records,
)
from tests.integration.test_live_perpetual_cli import node_fills
from tests.integration.test_live_perpetual_parity import funding_file

SYMBOL = "BTC/USDT"
END = "2020-12-20"  # ~450 hourly bars traded
HISTORY = 24  # bars the practice exchange has closed when the node starts
ACCOUNT = "perpmaker"


def write_config(
    tmp_path: Path,
    funding: Path,
    frame: BarFrame,
    account: str = ACCOUNT,
    strategy: str = "tests.integration.perp_maker:PerpMaker",
    strategy_id: str = "pm",
) -> Path:
    """Write the live config (the backtest's too, over the bars the node trades): the
    perpetual at leverage 3 with funding, ``strategy`` trading 0.1 BTC until ``frame``'s
    second-to-last bar (also `test_live_perpetual_stop_moves_parity`'s)."""
    flat_from = int(frame.ts_close_ns[-2])
    return perpetual_config(
        tmp_path / f"{account}.toml",
        name=account,
        start=pd.Timestamp(int(frame.ts_open_ns[HISTORY]), tz="UTC").isoformat(),
        end=END,
        funding=funding,
        strategy=strategy,
        strategy_id=strategy_id,
        params=f"quantity = 0.1, flat_from_ns = {flat_from}",
    )


@pytest.mark.slow
def test_post_only_limits_modified_in_place_on_a_perpetual_trade_live_as_in_the_backtest(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    path = write_config(tmp_path, funding_file(tmp_path), frame)
    result = kestrel(*lockstep(path, tmp_path))
    assert result.code == 0, result.err
    (start,) = records(tmp_path, "start")
    assert (start["perpetuals"], start["leverage"]) == ([SYMBOL], 3)

    config = load_config(path)
    strategy = PerpMaker(PerpMakerParams(**config.strategy.params))
    backtest = run_backtest(config, strategy=strategy)
    heard = strategy.heard

    db = tmp_path / "k.db"
    ledger = LiveLedger(RunStore(f"sqlite:///{db}"), ACCOUNT)
    saved = ledger.load_state("pm")
    assert saved is not None
    assert saved.state["heard"] == heard  # every answer, in order, with its terms or reason
    answers = Counter(answer(line) for line in heard)
    assert answers["modified"] >= 80  # 89: entries and exits moved once, in place
    assert answers["modify-rejected: post-only limit would take"] >= 40  # 44
    assert answers["modify-rejected: quantity 0 must exceed the filled 0"] >= 25  # 29
    assert answers["modify-rejected: order is not working"] >= 150  # 163: each filled order
    assert answers["expired"] >= 10  # 12 DAY/GTD orders
    assert answers["filled"] >= 150  # 164
    assert any(line.startswith("modified") and " 0.12 " in line for line in heard)

    expected = backtest.recorder.fills
    assert_fills(node_fills(db, ACCOUNT), expected)
    cash, equity, _ = last_equity(db, ACCOUNT)
    assert cash == pytest.approx(backtest.portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(backtest.portfolio.equity, abs=1e-6)
    assert backtest.portfolio.positions[SYMBOL].quantity == 0.0  # flat: cash is equity
    (stop,) = records(tmp_path, "stop")
    assert stop["funding_booked"] == pytest.approx(backtest.portfolio.cash_flows, abs=1e-9)

    # one exchange order per order (modified in place, never replaced), each ended as the
    # backtest's: filled, or canceled at the exchange for its expiry; a modification the
    # venue refused is a trace row besides (those of filled orders, "not working", the
    # execution engine refuses before the venue)
    every = ledger.orders(origin="node")
    traces = [row for row in every if row.reason.startswith(MODIFY_NOT_MADE)]
    refused = [kind for kind in answers if kind.startswith("modify-rejected")]
    by_venue = [kind for kind in refused if not kind.endswith("order is not working")]
    assert len(traces) == sum(answers[kind] for kind in by_venue) > 0
    assert all(row.status is LiveStatus.REJECTED for row in traces)
    rows = {row.order_id: row for row in every if row not in traces}
    statuses = {oid: row["status"] for oid, row in backtest.recorder.orders.items()}
    assert sorted(rows) == sorted(statuses)
    at_exchange = {"filled": LiveStatus.FILLED, "expired": LiveStatus.CANCELED}
    assert {oid: rows[oid].status for oid in rows} == {
        oid: at_exchange[status] for oid, status in statuses.items()
    }
    assert all(row.post_only for row in rows.values())  # GTX at the exchange
    assert all(row.amending is None for row in rows.values())


def answer(line: str) -> str:
    """Return the kind of a `PerpMaker` answer, a refusal with its reason's gist."""
    kind, _, rest = line.partition(" ")
    if kind != "modify-rejected":
        return kind
    reason = rest.partition(" ")[2]
    return f"{kind}: " + ("post-only limit would take" if "would take" in reason else reason)
