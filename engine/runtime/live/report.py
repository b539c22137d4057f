"""A live account's performance report from the store, across its restarts (issue 15).

In: the account's config (``[account] initial_cash``, symbols, strategy: the config it
runs with) and its `LiveLedger`. Out, in a folder (``kestrel live-report``: by default
``live/<account>/report/``): ``equity.csv`` (the backtest's columns), ``metrics.json``
(`engine.report.metrics.compute_metrics`, the backtest's code) and ``report.html`` (the
backtest's page, `engine.report.html.render_data`).

What they are built from:

- **The curve**: every row of ``live_equity``, one per bar the node handled, every
  session's (the node writes them: `engine.runtime.live.checkpoint`). Bars that closed
  while the node was down have no row: the curve steps over the gap. The account's value
  before its first bar is ``[account] initial_cash`` at the account's creation (its
  baseline time), since a restarted node's portfolio is that cash plus its fills.
- **Fees and turnover**: the node's own fills (``live_fills``), fees valued in the account
  currency as the node books them (`kernel_fill`; a fee in a third asset counts 0).
- **Not shown**: round trips and their statistics (a live account stores fills, not
  trades: those metrics read "—"), price charts and the buy-and-hold benchmark (no bars
  are stored; a ``benchmark`` series can be given instead).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.config import RunConfig, dump_config
from engine.errors import RunLookupError
from engine.report.artifacts import write_equity, write_metrics
from engine.report.assets import PlotlyLink
from engine.report.data import FillRow, ReportData
from engine.report.html import render_data
from engine.report.outputs import EquityCurve
from engine.report.series import FloatArray, IntArray
from engine.report.trade_stats import trade_statistics
from engine.runtime.inputs import make_instruments
from engine.runtime.live.ledger import LiveLedger
from engine.runtime.live.venue import kernel_fill

__all__ = ["LIVE_REPORT_FILES", "live_report_data", "write_live_report"]

LIVE_REPORT_FILES = ("equity.csv", "metrics.json", "report.html")
_NS_PER_MS = 1_000_000
# a live account keeps no round trips: these metrics are undefined, not zero
_NO_TRADES = dict.fromkeys([*trade_statistics([], None), "open_positions", "unrealized_pnl"])


def live_report_data(config: RunConfig, ledger: LiveLedger) -> ReportData:
    """Gather the report of ``ledger``'s account (see the module docstring).

    Raises:
        RunLookupError: No such account in the store, or it has no equity row yet.
    """
    account = ledger.account
    baseline = ledger.baseline()
    if baseline is None:
        raise RunLookupError(
            f"no live account {account!r} in the store (it is created by `kestrel live`; "
            "check --account and --db)"
        )
    rows = ledger.equity_rows()
    if not rows:
        raise RunLookupError(
            f"live account {account!r} has no equity rows yet: a node writes one per bar "
            "(since schema version 9)"
        )
    ts = np.array([r.ts_ns for r in rows], dtype=np.int64)
    sessions = sorted({r.session for r in rows})
    instruments = make_instruments(config)
    mine = {o.client_id: o for o in ledger.orders(origin="node")}
    fills = []
    for fill in ledger.fills():
        if fill.client_id in mine and fill.symbol in instruments:
            quantity, fee, _ = kernel_fill(fill, instruments[fill.symbol])
            order_id = mine[fill.client_id].order_id
            ts_ns = fill.ts_event * _NS_PER_MS
            row = (fill.trade_id, order_id, fill.symbol, fill.side, quantity, fill.price, fee)
            fills.append(FillRow(*row, ts_ns))
    notes = [
        f"live account {account}: {len(rows)} bars from the store (live_equity) over "
        f"{len(sessions)} session(s) of the node; bars that closed while it was down have "
        "no row",
        "a live account stores fills, not round trips: trade statistics are left out (—); "
        "fees and turnover are its own fills'; no bars are stored, so no price chart and "
        "no buy & hold benchmark (--benchmark FILE gives one)",
    ]
    if sessions[0] > 1:
        notes.append(f"the curve starts at session {sessions[0]}: earlier sessions kept none")
    curve = {
        name: np.array([getattr(r, name) for r in rows], dtype=np.float64)
        for name in ("cash", "equity", "gross_exposure")
    }
    return ReportData(
        run_id=f"live-{account}",
        config=dump_config(config),
        run_info={
            "account": account,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sessions": sessions,
        },
        initial_cash=config.account.initial_cash,
        start_ns=min(baseline.at_ms * _NS_PER_MS, int(ts[0])),
        ts=ts,
        cash=curve["cash"],
        equity=curve["equity"],
        gross_exposure=curve["gross_exposure"],
        trades=[],
        fills=fills,
        orders=[],
        frames=[],
        notes=notes,
        metric_overrides=dict(_NO_TRADES),
    )


def write_live_report(
    config: RunConfig,
    ledger: LiveLedger,
    folder: Path,
    *,
    benchmark: tuple[IntArray, FloatArray] | None = None,
    benchmark_label: str | None = None,
    risk_free_rate: float = 0.0,
    plotly: PlotlyLink | None = None,
) -> Path:
    """Write ``LIVE_REPORT_FILES`` of ``ledger``'s account into ``folder``; return the page.

    Raises:
        RunLookupError: As for `live_report_data`.
        DataError: The benchmark has fewer than two values during the curve.
    """
    data = live_report_data(config, ledger)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "report.html"
    link = plotly if plotly is not None else PlotlyLink.beside(page)
    render_data(data, page, link, benchmark=benchmark, benchmark_label=benchmark_label,
                risk_free_rate=risk_free_rate)  # fmt: skip
    write_metrics(folder / "metrics.json", data.metrics)
    write_equity(
        folder / "equity.csv", EquityCurve(data.ts, data.cash, data.equity, data.gross_exposure)
    )
    return page
