"""Report sections: worst drawdowns (hand-computed), denied orders, fill assumptions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine.config import AccountConfig, ExecutionConfig, dump_config, parse_config
from engine.report.denials import DenialGroup, denial_summary, format_denials
from engine.report.html import render_report
from engine.report.sections import attribute_docs
from engine.report.series import NS_PER_DAY, Drawdown, worst_drawdowns
from engine.runtime import run_backtest
from tests.unit.report.test_html_report import EDGE_CASES, make_frame, scripted_run

DAY = NS_PER_DAY


def test_worst_drawdowns_by_hand() -> None:
    ts = np.arange(9, dtype=np.int64) * DAY
    values = np.array([100.0, 110.0, 99.0, 105.0, 110.0, 120.0, 90.0, 100.0, 96.0])
    found = worst_drawdowns(ts, values)
    assert found == [
        # 120 (day 5) -> 90 (day 6), still under water at the end (day 8): 3 days so far
        Drawdown(5 * DAY, 6 * DAY, None, 90 / 120 - 1, 3 * DAY),
        # 110 (day 1) -> 99 (day 2), back at 110 on day 4: recovered after 3 days
        Drawdown(1 * DAY, 2 * DAY, 4 * DAY, 99 / 110 - 1, 3 * DAY),
    ]
    assert found[0].depth == pytest.approx(-0.25)
    assert found[1].depth == pytest.approx(-0.1)
    assert worst_drawdowns(ts, values, count=1) == found[:1]


def test_worst_drawdowns_from_the_first_value_and_none() -> None:
    ts = np.arange(4, dtype=np.int64) * DAY
    assert worst_drawdowns(ts, np.array([100.0, 80.0, 90.0, 100.0])) == [
        Drawdown(0, DAY, 3 * DAY, 80 / 100 - 1, 3 * DAY)
    ]
    assert worst_drawdowns(ts, np.array([1.0, 2.0, 3.0, 3.0])) == []
    assert worst_drawdowns(ts[:0], np.empty(0)) == []


def test_worst_drawdowns_keep_the_five_deepest_in_depth_order() -> None:
    # eight dips of depth 1%..8% in shuffled order, each recovered the next day
    depths = [3, 8, 1, 6, 2, 7, 5, 4]
    values = [100.0]
    for depth in depths:
        values += [100.0 - depth, 100.0]
    ts = np.arange(len(values), dtype=np.int64) * DAY
    found = worst_drawdowns(ts, np.array(values))
    assert [round(-d.depth * 100) for d in found] == [8, 7, 6, 5, 4]
    assert all(d.length_ns == 2 * DAY for d in found)


def test_report_shows_the_worst_drawdowns_table(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "losing", EDGE_CASES["losing"])
    page = render_report(result, tmp_path / "r.html").read_text()
    table = page.split("<h2>Worst drawdowns</h2>", 1)[1].split("<h2>", 1)[0]
    cells = re.findall(r"<td>([^<]*)</td>", table)
    # a strategy that only loses: one drawdown that never recovers, from the last bar close
    # at the initial 1,000 (before the first fee) down to the curve's lowest point
    curve = result.equity_curve
    first_loss = int(np.flatnonzero(curve.equity < 1_000.0)[0])
    peak = "2021-01-01 00:00" if first_loss == 0 else _minute(int(curve.ts[first_loss - 1]))
    trough = _minute(int(curve.ts[np.argmin(curve.equity)]))
    assert cells[:4] == ["1", peak, trough, "not recovered"]
    depth = curve.equity.min() / 1_000.0 - 1
    assert cells[4] == f"{depth * 100:,.2f}%"
    assert len(re.findall(r"<tr><td>", table)) == 1


def _minute(ts_ns: int) -> str:
    return str(np.datetime64(ts_ns, "ns").astype("datetime64[m]")).replace("T", " ")


def test_denials_are_grouped_by_check_most_first() -> None:
    orders = [
        {"status": "denied", "check": "cash", "reason": "needs 120.00, has 100.00"},
        {"status": "filled", "check": "", "reason": ""},
        {"status": "denied", "check": "max_order_quantity", "reason": "2 > 1"},
        {"status": "denied", "check": "cash", "reason": "needs 130.00, has 100.00"},
    ]
    groups = denial_summary(orders)
    assert groups == [
        DenialGroup("cash", 2, "needs 120.00, has 100.00"),
        DenialGroup("max_order_quantity", 1, "2 > 1"),
    ]
    assert format_denials(groups) == (
        "denied orders: 3 — cash ×2 (e.g. needs 120.00, has 100.00); "
        "max_order_quantity ×1 (e.g. 2 > 1)"
    )
    assert format_denials(groups, top=1).endswith("; 1 more check(s) in orders.csv")
    assert format_denials([]) == "denied orders: 0"


DENYING = """
from engine.strategy import Strategy


class Greedy(Strategy):
    def on_bar(self, ctx, bar):
        ctx.buy(bar.symbol, 1_000.0)  # far beyond the cash: risk denies every one
"""


def test_report_shows_denied_orders_with_count_and_reason(tmp_path: Path) -> None:
    module = tmp_path / "greedy.py"
    module.write_text(DENYING)
    config = parse_config(
        {
            "run": {"name": "greedy"},
            "account": {"initial_cash": 1_000.0},
            "data": [{"path": "<synthetic>", "symbol": "X/USD"}],
            "strategy": {"path": f"{module}:Greedy"},
        }
    )
    result = run_backtest(config, frames=[make_frame(np.full(24, 100.0))])
    page = render_report(result, tmp_path / "r.html").read_text()
    section = page.split("<h2>Denied orders</h2>", 1)[1].split("<h2>", 1)[0]
    assert "24 order(s) denied by risk" in section
    denied = [o for o in result.recorder.orders.values() if o["status"] == "denied"]
    assert len(denied) == 24
    check = denied[0]["check"]
    assert re.search(rf"<td>{re.escape(check)}</td><td>24</td>", section)


def test_no_denials_say_so(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "one", EDGE_CASES["one"])
    page = render_report(result, tmp_path / "r.html").read_text()
    assert "No order was denied by risk." in page


def test_every_fill_assumption_row_has_a_description(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "one", EDGE_CASES["one"])
    page = render_report(result, tmp_path / "r.html").read_text()
    section = page.split("<h2>Fill assumptions</h2>", 1)[1].split("<h2>", 1)[0]
    rows = re.findall(r"<tr><th scope=row>([^<]+)</th><td>.*?</td><td>(.*?)</td></tr>", section)
    config = dump_config(result.config)
    names = {name for name, _ in rows}
    assert set(config["execution"]) <= names
    assert {f"account.{k}" for k in config["account"] if k != "initial_cash"} <= names
    for name, meaning in rows:
        assert len(meaning) > 20, name  # a sentence, not an empty cell
    # values as the config file spells them
    assert "<th scope=row>account.allow_short</th><td><code>true</code></td>" in section
    assert "<th scope=row>market_fill</th><td><code>&quot;next_open&quot;</code></td>" in section


def test_attribute_docs_cover_every_config_field() -> None:
    for cls in (ExecutionConfig, AccountConfig):
        docs = attribute_docs(cls)
        assert set(docs) == set(cls.__dataclass_fields__), cls
    docs = attribute_docs(ExecutionConfig)
    assert docs["fee_rate"] == "Fee per fill as a fraction of notional (0.001 = 0.1%)."
    assert docs["limit_fill"].startswith('"through" (default): a limit fills only if the bar')
