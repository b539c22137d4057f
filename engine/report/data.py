"""What a report needs, gathered from a finished `BacktestResult` or from a run's folder.

In: a result (in memory, right after the run) or an artifacts folder written by
`engine.report.artifacts.write_artifacts` (``config.toml``, ``run.json``, ``equity.csv``,
``trades.csv``, ``fills.csv``, ``orders.csv``). Out: a `ReportData` with the full equity
curve, trades, fills, orders, the bars (re-read from the data files named in the run's
config when rendering from a folder; price charts and MAE/MFE are left out, with a note,
when those files are gone: `engine.report.reload`) and the metrics computed from all of it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from engine.config import dump_config
from engine.errors import RunLookupError
from engine.feeds import BarFrame
from engine.report.metrics import compute_metrics
from engine.report.recorder import TradeRecord
from engine.report.reload import reload_frames
from engine.report.run_cells import damaged, number_column, numbers, require_cells, times
from engine.report.run_notes import event_cells, read_events
from engine.report.series import FloatArray, IntArray
from engine.report.trade_stats import trade_excursions

if TYPE_CHECKING:
    from engine.report.outputs import RunOutputs as BacktestResult  # see outputs.py

__all__ = [
    "FillRow",
    "IndicatorLine",
    "ReportData",
    "file_sha256",
    "iso_to_ns",
    "load_equity",
    "read_json",
    "reading",
]

# TA-Lib groups whose values are prices: drawn on the price axis (others on a second axis)
PRICE_GROUPS = frozenset({"Overlap Studies", "Price Transform"})


class FillRow(NamedTuple):
    """One fill as the report uses it (times in ns UTC)."""

    fill_id: str
    order_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    ts_event: int


class IndicatorLine(NamedTuple):
    """One output of a declared indicator, aligned with its symbol's bars from the first."""

    label: str  # e.g. "sma(timeperiod=10)" or "bbands(...).upperband"
    on_price_axis: bool  # True for overlap studies (moving averages, bands): price units
    values: FloatArray  # one value per bar revealed, NaN in the warm-up


@dataclass
class ReportData:
    """Everything one run's report shows. Arrays are full length, never downsampled."""

    run_id: str
    config: dict[str, Any]
    run_info: dict[str, Any]
    initial_cash: float
    start_ns: int
    ts: IntArray
    cash: FloatArray
    equity: FloatArray
    gross_exposure: FloatArray
    trades: list[TradeRecord]
    fills: list[FillRow]
    orders: list[dict[str, Any]]
    frames: list[BarFrame]
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    benchmark_label: str = "buy & hold"
    # account and risk events as text cells: time, kind, symbol, amount, detail
    events: list[dict[str, str]] = field(default_factory=list)
    # multi-currency runs: the fills with price and fee in the account currency (for fees
    # and turnover; ``fills`` keep quote prices for the charts), and stored metrics that
    # cannot be recomputed from the artifacts alone
    account_fills: list[FillRow] | None = None
    metric_overrides: dict[str, Any] = field(default_factory=dict)
    # a run kept from a sweep: its deflated Sharpe ratio as the sweep's guard computed it
    # (`engine.optimize.search.selection_metrics`), shown unless the page is given --trials
    selection: dict[str, Any] = field(default_factory=dict)
    # the strategy's declared indicators per symbol: only known from an in-memory result
    # (a run folder does not store them), so a re-rendered report draws prices without them
    indicators: dict[str, list[IndicatorLine]] = field(default_factory=dict)
    # positions still open at the end, marked to their last close (trades.csv status=open)
    open_trades: list[TradeRecord] = field(default_factory=list)
    # the result's own metrics, computed by the run from these same inputs with the
    # defaults (no benchmark, risk-free rate 0, one trial): `compute` reuses them then
    run_metrics: dict[str, Any] | None = None
    _excursions: list[tuple[float, float]] | None = field(default=None, repr=False)
    _net_pnls: list[float] | None = field(default=None, repr=False)

    def excursions(self) -> list[tuple[float, float]]:
        """Return ``(mae, mfe)`` of each closed trade (`trade_excursions`), computed once."""
        if self._excursions is None:
            self._excursions = trade_excursions(self.trades, self.frames)
        return self._excursions

    def net_pnls(self) -> list[float]:
        """Return each closed trade's `TradeRecord.net_pnl`, computed once."""
        if self._net_pnls is None:
            self._net_pnls = [trade.net_pnl for trade in self.trades]
        return self._net_pnls

    def compute(
        self,
        benchmark: tuple[IntArray, FloatArray] | None = None,
        risk_free_rate: float = 0.0,
        trials: int = 1,
    ) -> None:
        """Compute `metrics` from the full series (benchmark: ``(ts_ns, values)``)."""
        fills = self.fills if self.account_fills is None else self.account_fills
        reuse = self.run_metrics
        if reuse is not None and benchmark is None and not risk_free_rate and trials == 1:
            # the same function on the same curve, trades, frames and fills: every value
            # is the run's but one. The run's fees are the account's running total; the
            # page has always shown the sum of the fills' fees, kept here (they agree, but
            # the sum is cheap and leaves no rounding question).
            self.metrics = dict(reuse)
            self.metrics["fees_paid"] = sum(fill.fee for fill in fills)
            self.metrics.update(self.metric_overrides)
            self.metrics.update(self.selection if trials == 1 else {})
            return
        self.metrics = compute_metrics(
            initial_cash=self.initial_cash,
            start_ns=self.start_ns,
            ts=self.ts,
            equity=self.equity,
            gross_exposure=self.gross_exposure,
            trades=self.trades,
            fees_paid=sum(fill.fee for fill in fills),
            frames=self.frames or None,
            fills=fills,
            benchmark=benchmark,
            risk_free_rate=risk_free_rate,
            trials=trials,
            open_trades=self.open_trades,
        )
        self.metrics.update(self.metric_overrides)
        self.metrics.update(self.selection if trials == 1 else {})

    @classmethod
    def from_result(
        cls,
        result: BacktestResult,
        folder: Path | None = None,
        orders: list[dict[str, Any]] | None = None,
        run_info: dict[str, Any] | None = None,
    ) -> ReportData:
        """Gather a report from an in-memory result (``folder``: where run.json may be).

        ``orders``: the result's order rows when the caller has them (`render_report`);
        ``run_info``: run.json's facts, given instead of read from ``folder``.
        """
        if run_info is not None:
            info = run_info
        else:
            info = read_json(folder / "run.json") if folder is not None else {}
        curve = result.equity_curve
        fills = [
            FillRow(
                f.fill_id, f.order_id, f.symbol, str(f.side), f.quantity, f.price, f.fee, f.ts_event
            )
            for f in result.recorder.fills
        ]
        # the run's first open, ticks included (what metrics.json and a re-render start
        # from); the first bar's open when the metrics lack it. A tick-only run has no bar
        # frame: its page started at 0, an empty date in the header (audit finding 3)
        starts = [int(frame.ts_open_ns[0]) for frame in result.frames if len(frame)]
        first = result.metrics.get("start")
        start_ns = first if isinstance(first, int) and first else min(starts, default=0)
        account_fills = None
        if result.fx:
            rate = result.fx.rate
            account_fills = [
                row._replace(
                    price=row.price * rate(row.symbol, row.ts_event),
                    fee=row.fee * rate(row.symbol, row.ts_event),
                )
                for row in fills
            ]
        return cls(
            account_fills=account_fills,
            run_id=str(info.get("run_id", result.config.run.name)),
            config=dump_config(result.config),
            run_info=info,
            initial_cash=result.config.account.initial_cash,
            start_ns=start_ns,
            ts=curve.ts,
            cash=curve.cash,
            equity=curve.equity,
            gross_exposure=curve.gross_exposure,
            trades=list(result.recorder.trades),
            open_trades=list(result.open_trades),
            fills=fills,
            orders=list(result.recorder.orders.values()) if orders is None else orders,
            frames=list(result.frames),
            events=[event_cells(row) for row in result.recorder.event_rows()],
            indicators=_indicator_lines(result),
            metric_overrides=_guard_metrics(result.metrics),
            selection=_selection(result.metrics),
            run_metrics=_reusable(result, start_ns),
        )

    @classmethod
    def from_dir(cls, folder: Path) -> ReportData:
        """Gather a report from a run's artifacts folder.

        Raises:
            RunLookupError: The folder is not a run's artifacts folder.
        """
        if not (folder / "config.toml").is_file() or not (folder / "equity.csv").is_file():
            raise RunLookupError(
                f"{folder} is not a run folder (no config.toml/equity.csv); pass the folder "
                "a backtest wrote or a run id from `kestrel runs list`"
            )
        with reading(folder / "config.toml"), (folder / "config.toml").open("rb") as handle:
            config = tomllib.load(handle)
        info = read_json(folder / "run.json")
        stored = read_json(folder / "metrics.json")
        ts, cash, equity, gross = load_equity(folder / "equity.csv", stored)
        with reading(folder / "trades.csv"):
            all_trades = _read_trades(folder / "trades.csv")
        with reading(folder / "fills.csv"):
            fills = _read_fills(folder / "fills.csv")
        with reading(folder / "orders.csv"):
            orders = _read_orders(folder / "orders.csv")
        with reading(folder / "events.csv"):
            events = read_events(folder / "events.csv")
        _check_against_metrics(folder, stored, all_trades, fills, config)
        notes: list[str] = []
        frames = reload_frames(config, info, folder, notes)
        if frames:  # the page a backtest writes draws them from the run in memory
            notes.append(
                "rendered from the run folder: indicator lines are not stored with a run, "
                "so the price chart shows none; the page the backtest wrote has them"
            )
        starts = [int(frame.ts_open_ns[0]) for frame in frames if len(frame)]
        start = int(stored.get("start") or (min(starts) if starts else (ts[0] if ts.size else 0)))
        return cls(
            run_id=str(info.get("run_id", folder.name)),
            config=config,
            run_info=info,
            initial_cash=float(config.get("account", {}).get("initial_cash", 10_000.0)),
            start_ns=start,
            ts=ts,
            cash=cash,
            equity=equity,
            gross_exposure=gross,
            trades=[t for t in all_trades if not t.is_open],
            open_trades=[t for t in all_trades if t.is_open],
            fills=fills,
            orders=orders,
            frames=frames,
            notes=notes,
            events=events,
            # fills.csv is in quote currencies: a multi-currency run keeps its stored figures
            selection=_selection(stored),
            metric_overrides=_guard_metrics(stored)
            | (
                {k: stored[k] for k in ("fees_paid", "turnover") if k in stored}
                if config.get("fx")
                else {}
            ),
        )


def _reusable(result: BacktestResult, start_ns: int) -> dict[str, Any] | None:
    """Return the result's metrics when the report would compute the very same ones.

    The run computes them from all its bar frames and its first open (ticks included);
    the report from its bar frames (none: no MAE/MFE) and the first bar's open. They
    agree when there are bars and the first open is a bar's.
    """
    metrics = dict(result.metrics)
    if not result.frames or metrics.get("start") != start_ns:
        return None
    return metrics


def _selection(metrics: dict[str, Any]) -> dict[str, Any]:
    """Return a sweep's deflation figures of a run kept from it (none for a plain run)."""
    keys = ("deflated_sharpe", "trials", "trials_sharpe_variance")
    kept = isinstance(metrics.get("trials"), int) and metrics["trials"] > 1
    return {key: metrics.get(key) for key in keys} if kept else {}


def _guard_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the guard figures (`engine.risk.guards.guard_metrics`): not in the artifacts."""
    return {key: value for key, value in metrics.items() if key.startswith("guard_")}


def iso_to_ns(values: list[str] | pd.Series) -> IntArray:
    """Return ISO-8601 UTC texts (``…Z``) as int64 ns since the epoch (empty text: 0)."""
    series = pd.Series(values, dtype=object).replace("", None)
    parsed = pd.to_datetime(series, utc=True, format="ISO8601").dt.as_unit("ns")
    result: IntArray = np.array(parsed.astype("int64").to_numpy(), dtype=np.int64)
    result[parsed.isna().to_numpy()] = 0
    return result


def load_equity(
    path: Path, stored: dict[str, Any] | None = None
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Return ``(ts_ns, cash, equity, gross_exposure)`` from an ``equity.csv``.

    ``stored``: the run's metrics.json, whose ``bars`` (rows written) and ``end`` (the last
    row's time) must match the file: a curve cut short is refused, not reported.

    Raises:
        DataError: The file is damaged: unreadable, a column missing, a cell empty or not a
            time or a number (named by row and column), fewer rows than the run wrote or
            another last equity than metrics.json's ``final_equity`` (`reading`).
    """
    with reading(path):
        frame = pd.read_csv(path, dtype={"ts_event": str})
        if frame.empty:
            empty = np.empty(0)
            curve = np.empty(0, dtype=np.int64), empty, empty, empty
        else:
            curve = (
                times(path, "ts_event", frame["ts_event"]),
                number_column(path, frame, "cash"),
                number_column(path, frame, "equity"),
                number_column(path, frame, "gross_exposure"),
            )
    stored = stored or {}
    rows, end, final = stored.get("bars"), stored.get("end"), stored.get("final_equity")
    if isinstance(rows, int) and rows != curve[0].size:
        raise _damaged(
            path, f"{curve[0].size:,} rows, where metrics.json says the run wrote {rows:,}"
        )
    if isinstance(end, int) and curve[0].size and end != int(curve[0][-1]):
        raise _damaged(path, "its last row is not the run's end in metrics.json")
    if (
        isinstance(final, float)
        and curve[0].size
        and not math.isclose(final, float(curve[2][-1]), rel_tol=1e-9, abs_tol=1e-9)
    ):
        raise _damaged(
            path,
            f"its last equity is {float(curve[2][-1]):,.2f}, where metrics.json says the run "
            f"ended with {final:,.2f}",
        )
    return curve


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn a parse failure of a run folder's file into one `DataError` naming the file.

    A file a run wrote that no longer reads (edited, cut short, overwritten) is an input to
    fix, not a bug of Kestrel's: one line, exit 2 (`engine.errors`).
    """
    try:
        yield
    except KeyError as exc:
        raise _damaged(path, f"no {exc.args[0]!r} column") from None
    except (ValueError, TypeError, IndexError) as exc:  # JSON, TOML, CSV and number errors
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _damaged(path, first.split(". You might")[0]) from None  # pandas' advice cut


_damaged = damaged


def read_json(path: Path) -> dict[str, Any]:
    """Return a run folder's JSON object file (a missing file: empty).

    Raises:
        DataError: The file is not JSON, or not one object (`reading`).
    """
    if not path.is_file():
        return {}
    with reading(path):
        loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict):
        raise _damaged(path, f"a JSON {type(loaded).__name__}, not an object")
    return loaded


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Return a CSV's rows as text; a row with more or fewer cells than the header is refused."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows: list[dict[str, Any]] = list(reader)
        require_cells(path, rows, len(reader.fieldnames or ()))
    return rows


def _column(path: Path, rows: list[dict[str, Any]], name: str) -> list[Any]:
    if rows and name not in rows[0]:
        raise _damaged(path, f"no {name!r} column")
    return [row[name] for row in rows]


def _read_orders(path: Path) -> list[dict[str, Any]]:
    rows = _read_rows(path)
    for column in ("ts_requested", "ts_last"):
        stamps = times(path, column, _column(path, rows, column)).tolist()
        for row, ts in zip(rows, stamps, strict=True):
            row[column] = ts
    return rows


def _read_trades(path: Path) -> list[TradeRecord]:
    rows = _read_rows(path)
    entries = times(path, "entry_time", _column(path, rows, "entry_time")).tolist()
    exits = times(path, "exit_time", _column(path, rows, "exit_time")).tolist()
    cells = {
        name: numbers(path, name, _column(path, rows, name))
        for name in (
            "quantity", "entry_price", "exit_price", "gross_pnl", "fees", "net_pnl", "return_pct"
        )
    }  # fmt: skip
    # older run folders have no status or unrealized_pnl column, and a closed trade's
    # unrealized PnL may be empty: 0
    unrealized = numbers(path, "unrealized_pnl", [row.get("unrealized_pnl") for row in rows], 0.0)
    trades = []
    for index, row in enumerate(rows):
        quantity = cells["quantity"][index]
        trade = TradeRecord(
            symbol=row["symbol"],
            side=row["side"],
            entry_ts=entries[index],
            entry_quantity=quantity,
            entry_value=quantity * cells["entry_price"][index],
            exit_quantity=quantity,
            exit_value=quantity * cells["exit_price"][index],
            fees=cells["fees"][index],
            exit_ts=exits[index],
            is_open=row.get("status") == "open",
            unrealized_pnl=unrealized[index],
        )
        gross = cells["gross_pnl"][index]
        if math.isfinite(gross) and not math.isclose(
            gross, trade.gross_pnl, rel_tol=1e-9, abs_tol=1e-9
        ):
            # a foreign-quoted trade: its PnL (account currency) is not the price difference
            # (quote currency); keep the recorded PnL and the entry value behind return_pct
            direction = 1.0 if trade.side == "long" else -1.0
            net, percent = cells["net_pnl"][index], cells["return_pct"][index]
            cost = net / percent * 100 if percent and math.isfinite(percent) else trade.entry_value
            trade.entry_cost = cost
            trade.exit_proceeds = cost + direction * gross
        trades.append(trade)
    return trades


def _read_fills(path: Path) -> list[FillRow]:
    rows = _read_rows(path)
    stamps = times(path, "ts_event", _column(path, rows, "ts_event")).tolist()
    quantity, price, fee = (
        numbers(path, name, _column(path, rows, name)) for name in ("quantity", "price", "fee")
    )
    return [
        FillRow(
            row["fill_id"],
            row["order_id"],
            row["symbol"],
            row["side"],
            quantity[index],
            price[index],
            fee[index],
            stamps[index],
        )
        for index, row in enumerate(rows)
    ]


def _check_against_metrics(
    folder: Path,
    stored: dict[str, Any],
    trades: list[TradeRecord],
    fills: list[FillRow],
    config: dict[str, Any],
) -> None:
    """Refuse trades.csv or fills.csv when they disagree with metrics.json's counts.

    A file cut after whole rows reads cleanly: the run's own count of closed trades and
    its fees (account currency: only a single-currency run's fills add up to them) catch it.
    """
    count = stored.get("num_trades")
    closed = sum(1 for trade in trades if not trade.is_open)
    if isinstance(count, int) and count != closed:
        raise _damaged(
            folder / "trades.csv",
            f"{closed:,} closed trades, where metrics.json's num_trades says {count:,}",
        )
    fees = stored.get("fees_paid")
    if config.get("fx") or not isinstance(fees, int | float):
        return
    total = sum(fill.fee for fill in fills)
    if not math.isclose(total, fees, rel_tol=1e-9, abs_tol=1e-6):
        raise _damaged(
            folder / "fills.csv",
            f"its fees add up to {total:,.2f}, where metrics.json's fees_paid says {fees:,.2f}",
        )


def _indicator_lines(result: BacktestResult) -> dict[str, list[IndicatorLine]]:
    """Return every output of the indicators the strategy declared, per symbol."""
    # here, not at the top: a report rendered from a folder draws no indicator, and the
    # registry only names groups (no kernel is loaded), but the module need not load it
    from engine.indicators import registry

    found: dict[str, list[IndicatorLine]] = {}
    for frame in result.frames:
        lines = []
        for name, indicator in result.indicators.get(frame.symbol, []):
            on_price = registry.get(name).group in PRICE_GROUPS
            for series in indicator.outputs.values():
                # a view, not a copy (16 MB per output and million bars): the run is over,
                # so nothing appends to the series any more (an array that lends its buffer
                # refuses to grow)
                values = np.frombuffer(series, dtype=np.float64)
                lines.append(IndicatorLine(series.name, on_price, values))
        if lines:
            found[frame.symbol] = lines
    return found
