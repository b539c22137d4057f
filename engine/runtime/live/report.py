"""A live account's performance report from the store, across its restarts (issue 15).

In: the account's config (``[account] initial_cash``, symbols, instruments, strategy: the
config it runs with) and its `LiveLedger`. Out, in a folder (``kestrel live-report``: by
default ``live/<account>/report/``): ``equity.csv`` and ``trades.csv`` (the backtest's
columns, `engine.report.artifacts`), ``metrics.json`` (`engine.report.metrics.compute_metrics`,
the backtest's code) and ``report.html`` (the backtest's page, `engine.report.html.render_data`).
The same rows give the same bytes.

What they are built from:

- **The curve**: every row of ``live_equity``, one per bar the node handled, every
  session's (the node writes them: `engine.runtime.live.checkpoint`). Bars that closed
  while the node was down have no row: the curve steps over the gap. The account's value
  before its first bar is ``[account] initial_cash`` at the account's creation (its
  baseline time), since a restarted node's portfolio is that cash plus its fills.
- **Fills**: the node's own (``live_fills`` of orders whose origin is ``node``: every
  strategy's and the kill switch's; never external orders' nor those already in the
  baseline wallet), each as the node's kernel booked it (`kernel_fill`: a fee in the base
  asset lowers the quantity and is valued at the fill price; a fee in a third asset counts
  0), oldest first — the fills `engine.runtime.live.restore` replays into the portfolio.
  They give fees, turnover and the fill markers of the price chart.
- **Round trips**: those fills folded by `engine.report.round_trips.RoundTrips`, the code
  that builds a backtest's trades (its recorder's), so a live account and a backtest with
  the same fills have the same trades, trade statistics and trades.csv, whatever sessions
  the fills fell in. A position still open at the end is marked as a backtest marks one:
  at its symbol's last stored bar's close, at that bar's close time (the price the node's
  last equity row valued it at: the bar and the row are written in one transaction), its
  unrealized PnL the portfolio's (`engine.portfolio.Position`, the same fills applied); it
  counts in ``open_positions`` / ``unrealized_pnl``, not in the closed-trade statistics.
- **Bars**: ``live_bars``, the closed bars the node handled (version 11), as one frame per
  symbol: the price charts (with the fills), MAE/MFE, and the buy-and-hold benchmark
  (bought at the first stored bar's open), as a backtest's frames give them. A ``benchmark``
  series given instead replaces buy-and-hold. An account whose bars predate version 11 has
  none: no price chart, no benchmark, and an open position is left unmarked (a note says
  so).

Not shown: orders (the page's orders table is empty; ``live_orders`` holds them), and
account events (a live account records none). One currency: an instrument quoted in
another currency than the account's is valued at rate 1 (live accounts trade spot pairs
quoted in the account currency).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.config import RunConfig, dump_config
from engine.errors import ConfigError, RunLookupError
from engine.feeds import BarFrame
from engine.portfolio import Position
from engine.report.artifacts import write_equity, write_metrics, write_trades
from engine.report.assets import PlotlyLink
from engine.report.data import FillRow, ReportData
from engine.report.html import render_data
from engine.report.outputs import EquityCurve
from engine.report.round_trips import Mark, RoundTrips, TradeRecord
from engine.report.series import FloatArray, IntArray
from engine.runtime.inputs import make_instruments
from engine.runtime.live.ledger import LiveLedger
from engine.runtime.live.restore import changed_live_parts
from engine.runtime.live.venue import kernel_fill
from engine.runtime.paper.session import warmup_frames

__all__ = [
    "LIVE_REPORT_FILES",
    "check_account_config",
    "live_report_data",
    "live_trades",
    "node_fills",
    "stored_frames",
    "write_live_report",
]

LIVE_REPORT_FILES = ("equity.csv", "trades.csv", "metrics.json", "report.html")
_NS_PER_MS = 1_000_000


def node_fills(config: RunConfig, ledger: LiveLedger) -> list[FillRow]:
    """Return the account's fills of the node's own orders as its kernel booked them.

    Oldest first (the ledger's order: exchange time, then trade id), times in ns; symbols
    the config does not trade are left out (their instruments are unknown).
    """
    instruments = make_instruments(config)
    mine = {o.client_id: o for o in ledger.orders(origin="node")}
    fills = []
    for fill in ledger.fills():
        order = mine.get(fill.client_id)
        if order is None or fill.symbol not in instruments:
            continue
        quantity, fee, _ = kernel_fill(fill, instruments[fill.symbol])
        ts_ns = fill.ts_event * _NS_PER_MS
        row = (fill.trade_id, order.order_id, fill.symbol, fill.side, quantity, fill.price, fee)
        fills.append(FillRow(*row, ts_ns))
    return fills


def stored_frames(ledger: LiveLedger) -> list[BarFrame]:
    """Return the account's stored bars as one frame per symbol, by symbol."""
    frames = warmup_frames(ledger.bars(), source="live_bars")
    return [frames[symbol] for symbol in sorted(frames)]


def live_trades(
    fills: Sequence[FillRow], frames: Sequence[BarFrame]
) -> tuple[list[TradeRecord], list[TradeRecord], list[str]]:
    """Return the closed round trips, the open ones marked, and the symbols left unmarked.

    See the module docstring: the backtest's trade builder over ``fills``; an open trade is
    marked at its symbol's last close in ``frames`` (unmarked without one).
    """
    trips = RoundTrips()
    positions: dict[str, Position] = {}
    for fill in fills:
        buy = fill.side == "buy"
        trips.add(fill.symbol, buy, fill.quantity, fill.price, fill.fee, fill.fill_id,
                  fill.ts_event)  # fmt: skip
        position = positions.setdefault(fill.symbol, Position(fill.symbol))
        position.apply(fill.quantity if buy else -fill.quantity, fill.price)
    last = {f.symbol: (int(f.ts_close_ns[-1]), float(f.close[-1])) for f in frames if len(f)}
    marks = {}
    for symbol in trips.open:
        if symbol in last:
            ts_ns, price = last[symbol]
            marks[symbol] = Mark(ts_ns, price, 1.0, positions[symbol].unrealized_pnl(price))
    unmarked = sorted(set(trips.open) - set(marks))
    return list(trips.closed), trips.marked(marks), unmarked


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
    fills = node_fills(config, ledger)
    frames = stored_frames(ledger)
    closed, still_open, unmarked = live_trades(fills, frames)
    notes = [
        f"live account {account}: {len(rows)} bars from the store (live_equity) over "
        f"{len(sessions)} session(s) of the node; bars that closed while it was down have "
        "no row",
        f"round trips rebuilt from the node's {len(fills)} stored fills (live_fills) with the "
        "backtest's trade builder; prices are the bars the node handled (live_bars)",
    ]
    if sessions[0] > 1:
        notes.append(f"the curve starts at session {sessions[0]}: earlier sessions kept none")
    if not frames:
        notes.append(
            "no bars are stored for this account (a node before schema version 11): no price "
            "chart and no buy & hold benchmark (--benchmark FILE gives one)"
        )
    if unmarked:
        notes.append(
            f"open position in {', '.join(unmarked)} left out of open_positions: no stored "
            "bar to mark it at"
        )
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
            "data": [{"symbol": f.symbol, "source": "live_bars"} for f in frames],
        },
        initial_cash=config.account.initial_cash,
        start_ns=min(baseline.at_ms * _NS_PER_MS, int(ts[0])),
        ts=ts,
        cash=curve["cash"],
        equity=curve["equity"],
        gross_exposure=curve["gross_exposure"],
        trades=closed,
        open_trades=still_open,
        fills=fills,
        orders=[],
        frames=frames,
        notes=notes,
    )


def check_account_config(config: RunConfig, ledger: LiveLedger) -> None:
    """Refuse ``config`` unless it is the config ``ledger``'s account runs with.

    The report's starting cash, instruments and the page's config come from ``config``; a
    different one gave another account's figures without a word (10,000 of cash read as
    20,000: -49.76 % for +0.47 %). Compared: the parts a live account keeps for life
    (`engine.runtime.live.restore.LIVE_PARTS`: strategy, instruments, ``[account]``) with
    the config its latest session stored, as ``kestrel live`` compares them on a restart;
    parameters, risk and execution may change between sessions and do not change the
    recorded figures. An account no session stored a config for (before schema 11) is
    not checked.

    Raises:
        ConfigError: A part differs (named in the message).
    """
    changed = changed_live_parts(config, ledger.config_toml(), ledger.account)
    if changed:
        raise ConfigError(
            f"live account {ledger.account!r} runs with another config ({', '.join(changed)} "
            "differ): pass the config its node runs with, or --account for another account"
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
    write_trades(folder / "trades.csv", data.trades, data.open_trades)
    return page
