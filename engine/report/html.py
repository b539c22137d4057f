"""The HTML report of one run (``report.html``).

In: a `BacktestResult` or a run's artifacts folder. Out: one HTML file that opens offline:
plotly.js (from the ``plotly`` package) comes from one copy shared by the runs folder's
pages, or is embedded (``--self-contained``; the rule is in `engine.report.assets`),
charts are JSON islands drawn by a few lines of script, and the trades table sorts in
the browser. The page shows the
metrics table, equity vs benchmark (linear/log), drawdown, monthly heatmap and yearly bars,
rolling Sharpe and volatility, the return distribution, exposure, per-symbol price charts
with the strategy's indicators, fills, stops and entry→exit lines, MAE/MFE, the five worst
drawdowns, the trades table, the orders risk denied (count and reasons by check), the config,
data provenance and the fill assumptions (each setting with its meaning, taken from the
config classes' docstrings). Gains are green and losses red everywhere. Undefined numbers
are shown as "—", never "NaN".
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tomli_w

from engine.feeds import BarFrame
from engine.feeds.timeframe import format_timeframe
from engine.feeds.validate import analyze_spacing
from engine.report.artifacts import iso, iso_many
from engine.report.assets import PlotlyLink, plotly_js, plotly_script
from engine.report.charts import FX_BENCHMARK_NOTE, build_charts, buy_and_hold
from engine.report.csv_text import period_text
from engine.report.data import ReportData, file_sha256
from engine.report.metrics import benchmark_metrics
from engine.report.ownership import check_replaceable, is_kestrel_page
from engine.report.page import SCRIPT, STYLE, TEMPLATE
from engine.report.sections import assumptions_html, denials_html, drawdowns_html
from engine.report.series import (
    FloatArray,
    IntArray,
    bar_benchmark,
    benchmark_values,
    check_benchmark_span,
)
from engine.report.trade_stats import trade_excursions

if TYPE_CHECKING:
    from engine.portfolio.fx import RateSeries
    from engine.report.outputs import RunOutputs as BacktestResult  # see outputs.py

__all__ = [
    "MAX_TABLE_TRADES",
    "METRIC_SECTIONS",
    "format_metric",
    "plotly_js",
    "render_data",
    "render_report",
]

MAX_TABLE_TRADES = 5000

# (key, label, format): pct = fraction shown as %, num = 2 decimals, int, days, money.
METRIC_SECTIONS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        "Returns",
        [
            ("total_return", "Total return", "pct"),
            ("cagr", "CAGR", "pct"),
            ("final_equity", "Final equity", "money"),
            ("initial_cash", "Initial cash", "money"),
            ("best_day", "Best day", "pct"),
            ("worst_day", "Worst day", "pct"),
            ("best_month", "Best month", "pct"),
            ("worst_month", "Worst month", "pct"),
        ],
    ),
    (
        "Risk-adjusted",
        [
            ("volatility", "Volatility (ann.)", "pct"),
            ("sharpe", "Sharpe", "num"),
            ("sortino", "Sortino", "num"),
            ("calmar", "Calmar", "num"),
            ("omega", "Omega", "num"),
            ("probabilistic_sharpe", "Probabilistic Sharpe", "pct"),
            ("deflated_sharpe", "Deflated Sharpe", "pct"),
            ("risk_free_rate", "Risk-free rate", "pct"),
        ],
    ),
    (
        "Drawdown and tails",
        [
            ("max_drawdown", "Max drawdown", "pct"),
            ("max_drawdown_duration_days", "Max drawdown duration", "days"),
            ("longest_drawdown_duration_days", "Longest drawdown", "days"),
            ("ulcer_index", "Ulcer index", "pct"),
            ("var_95", "Daily VaR 95%", "pct"),
            ("cvar_95", "Daily CVaR 95%", "pct"),
            ("skew", "Skew (daily)", "num"),
            ("kurtosis", "Excess kurtosis (daily)", "num"),
            ("tail_ratio", "Tail ratio", "num"),
        ],
    ),
    (
        "Trades",
        [
            ("num_trades", "Trades", "int"),
            ("win_rate", "Win rate", "pct"),
            ("average_win", "Average win", "money"),
            ("average_loss", "Average loss", "money"),
            ("payoff_ratio", "Payoff ratio", "num"),
            ("profit_factor", "Profit factor", "num"),
            ("expectancy", "Expectancy per trade", "money"),
            ("expectancy_pct", "Expectancy %", "pct"),
            ("average_holding_days", "Average holding", "days"),
            ("max_holding_days", "Max holding", "days"),
            ("max_win_streak", "Longest winning streak", "int"),
            ("max_loss_streak", "Longest losing streak", "int"),
            ("average_mae", "Average MAE", "pct"),
            ("average_mfe", "Average MFE", "pct"),
            ("worst_mae", "Worst MAE", "pct"),
            ("best_mfe", "Best MFE", "pct"),
        ],
    ),
    (
        "Activity",
        [
            ("exposure", "Time in market", "pct"),
            ("average_exposure", "Average exposure", "pct"),
            ("turnover", "Turnover (per year)", "num"),
            ("fees_paid", "Fees paid", "money"),
            ("bars", "Bars", "int"),
        ],
    ),
    (
        "Against the benchmark",
        [
            ("benchmark_total_return", "Benchmark return", "pct"),
            ("benchmark_cagr", "Benchmark CAGR", "pct"),
            ("alpha", "Alpha (ann.)", "pct"),
            ("beta", "Beta", "num"),
            ("information_ratio", "Information ratio", "num"),
            ("correlation", "Correlation", "num"),
        ],
    ),
]


def format_metric(value: Any, kind: str) -> str:
    """Return a metric for display; None, NaN and inf become "—"."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "days":
        return f"{value:,.1f} days"
    return f"{value:,.2f}"


#: Where `kestrel report RUN` writes without ``--out``: beside the backtest's report.html
RERENDER_PAGE = "report-rerender.html"

PLOTLY_MISSING = (
    "Charts are not drawn: the 'plotly' package (which ships plotly.js) is not installed; "
    "`pip install plotly`, then `kestrel report RUN` re-renders this page."
)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# Inside <script> the HTML parser looks for "</script" and, after "<!--", for "<script"
# (which would swallow the rest of the page): no markup character is left in an island.
# JSON.parse reads the escapes back as the original characters.
_ISLAND_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))


def _json_island(value: Any) -> str:
    """Return ``value`` as compact JSON safe inside ``<script type="application/json">``."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    for markup, escape in _ISLAND_ESCAPES:  # a pass each (str.translate: 4x slower here)
        text = text.replace(markup, escape)
    return text


def _metrics_html(metrics: dict[str, Any]) -> str:
    parts = []
    for title, rows in METRIC_SECTIONS:
        cells = "".join(
            f'<tr><th scope="row">{_e(label)}</th>'
            f"<td>{_e(format_metric(metrics.get(key), kind))}</td></tr>"
            for key, label, kind in rows
        )
        parts.append(f'<table class="metrics"><caption>{_e(title)}</caption>{cells}</table>')
    return '<div class="metric-grid">' + "".join(parts) + "</div>"


def _trades_table(data: ReportData) -> tuple[dict[str, Any], str]:
    trades = data.trades
    nets = data.net_pnls()
    note = ""
    index = list(range(len(trades)))
    if len(trades) > MAX_TABLE_TRADES:
        index = sorted(sorted(index, key=lambda i: -abs(nets[i]))[:MAX_TABLE_TRADES])
        note = (
            f"Showing the {MAX_TABLE_TRADES:,} trades with the largest absolute PnL of "
            f"{len(trades):,}; every trade is in trades.csv."
        )
    # positions open at the end follow the closed trades, always shown, flagged "open"
    # (marked to the last close; not counted in the trade statistics)
    still_open = data.open_trades
    if still_open:
        unrealized = sum(t.unrealized_pnl for t in still_open)
        note = (
            f"{note} {len(still_open)} position(s) still open at the end, marked to the last "
            f"close (status open; unrealized PnL {unrealized:,.2f}), not in the trade statistics."
        ).strip()
        index += range(len(trades), len(trades) + len(still_open))
        trades = [*trades, *still_open]
        nets = [*nets, *(t.net_pnl for t in still_open)]
    excursions: list[tuple[float, float]] = []
    if data.frames:  # each trade's excursion is its own: the closed ones' are reused
        excursions = data.excursions()
        if still_open:
            excursions = [*excursions, *trade_excursions(still_open, data.frames)]
    columns = [
        "#",
        "symbol",
        "side",
        "status",
        "entry",
        "exit",
        "quantity",
        "entry price",
        "exit price",
        "net PnL",
        "return %",
        "fees",
        "days held",
        "MAE %",
        "MFE %",
    ]
    shown = [trades[i] for i in index]
    entries = _when_many([t.entry_ts for t in shown])
    exits = _when_many([t.exit_ts for t in shown])
    rows = []
    for row, i in enumerate(index):
        t = trades[i]
        net = nets[i]
        mae, mfe = excursions[i] if excursions else (None, None)
        rows.append(
            [
                i + 1,
                t.symbol,
                t.side,
                "open" if t.is_open else "closed",
                entries[row],
                exits[row],
                _round(t.entry_quantity, 8),
                _round(t.entry_price, 8),
                _round(t.exit_price, 8),
                _round(net, 2),
                _round(net / t.entry_value_account * 100 if t.entry_value else None, 3),
                _round(t.fees, 2),
                _round((t.exit_ts - t.entry_ts) / 86_400e9, 3),
                _round(None if mae is None else mae * 100, 3),
                _round(None if mfe is None else mfe * 100, 3),
            ]
        )
    return {"columns": columns, "rows": rows}, note


def _when_many(times: list[int]) -> list[str]:
    """Return each time as ``YYYY-MM-DD HH:MM:SS`` (`iso` cut to the second; 0 is empty)."""
    return [text[:19].replace("T", " ") for text in iso_many(times)]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def _provenance_html(data: ReportData) -> str:
    by_symbol = {frame.symbol: frame for frame in data.frames}
    info_by_symbol = {item.get("symbol"): item for item in data.run_info.get("data", [])}
    news_by_path = {item.get("path"): item for item in data.run_info.get("news", [])}
    rows = []
    for source in data.config.get("data", []):
        if source.get("kind") == "news":  # a headline file: no bars, its hash and path
            entry = news_by_path.get(source.get("path"), {})
            read = str(entry.get("source") or source.get("path", ""))
            digest = file_sha256(Path(read)) if Path(read).is_file() else "—"
            rows.append(
                f"<tr><td>news</td><td><code>{_e(str(source.get('path', '')))}</code></td>"
                "<td>—</td><td>headlines</td><td>—</td><td>—</td>"
                f"<td><code class=hash>{_e(digest)}</code></td><td>—</td></tr>"
            )
            continue
        symbol = source.get("symbol", "")
        frame = by_symbol.get(symbol)
        info = info_by_symbol.get(symbol, {})
        # Shown: the path as the config writes it, the same from every working directory
        # (the report is byte-identical wherever the run was started). Hashed: the file
        # actually read, whose sha256 identifies the data wherever it lives.
        # the file re-read (a folder's report looks further than run.json's words) or else
        # the one run.json names
        recorded = [str(frame.source) if frame else "", str(info.get("source") or "")]
        read = next((n for n in recorded if n), str(source.get("path", "")))
        path_text = str(source.get("path") or read)
        path = next((Path(n) for n in recorded if n and Path(n).is_file()), Path(read))
        digest = file_sha256(path) if path.is_file() else "—"
        if frame is not None and len(frame):
            span = f"{iso(int(frame.ts_open_ns[0]))} → {iso(int(frame.ts_close_ns[-1]))}"
            # gaps and the bars missing in them, as the warning beside them counts them:
            # `BarFrame.gaps` alone is the missing bars (104 under "25 gaps (104 missing
            # bars)"; audit finding 5)
            runs = frame.gap_runs  # the loader's count; else counted here
            if runs is None:
                runs = analyze_spacing(frame.ts_open_ns, frame.timeframe_ns, frame.calendar).gaps
            bars, timeframe, gaps = (
                f"{len(frame):,}",
                format_timeframe(frame.timeframe_ns),
                f"{runs:,} ({frame.gaps:,})",
            )
        else:
            counted = info.get("bars")
            bars = f"{counted:,}" if isinstance(counted, int) else "—"
            span, timeframe, gaps = "—", "—", "—"
        warnings = list(info.get("warnings", [])) or (list(frame.warnings) if frame else [])
        for name in sorted({n for n in recorded if n}, key=len, reverse=True):  # as shown
            warnings = [text.replace(name, path_text) for text in warnings]
        rows.append(
            f"<tr><td>{_e(symbol)}</td><td><code>{_e(path_text)}</code></td><td>{_e(bars)}</td>"
            f"<td>{_e(timeframe)}</td><td>{_e(span)}</td><td>{_e(gaps)}</td>"
            f"<td><code class=hash>{_e(digest)}</code></td>"
            f"<td>{_e('; '.join(warnings) or '—')}</td></tr>"
        )
    names = (
        "symbol", "file", "bars", "timeframe", "range (UTC)", "gaps (missing bars)", "sha256",
        "warnings",
    )  # fmt: skip
    head = "<tr>" + "".join(f"<th>{name}</th>" for name in names) + "</tr>"
    inputs = data.run_info.get("inputs_sha256")
    extra = f"<p>Inputs hash (config + every bar): <code>{_e(inputs)}</code></p>" if inputs else ""
    return f'<table class="wide">{head}{"".join(rows)}</table>{extra}'


MAX_EVENT_ROWS = 500


def _events_html(data: ReportData) -> str:
    """Return the table of borrow fees, funding, margin calls and trading-state changes."""
    if not data.events:
        return '<p class="sub">No account or risk events (fees, funding, margin, guards).</p>'
    shown = data.events[:MAX_EVENT_ROWS]
    more = len(data.events) - len(shown)
    head = "".join(f"<th>{name}</th>" for name in ("time", "kind", "symbol", "amount", "detail"))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_e(row.get(key, ''))}</td>"
            for key in ("ts_event", "kind", "symbol", "amount", "detail")
        )
        + "</tr>"
        for row in shown
    )
    note = f'<p class="sub">{more:,} more in events.csv.</p>' if more > 0 else ""
    left = data.metrics.get("guard_exposure_left_open")
    if left:  # a halt held a position to the end: say how much (issue 10)
        state = _e(data.metrics.get("guard_final_state", ""))
        note += f'<p class="sub">A guard ({state}) left {left:,.2f} of gross exposure open.</p>'
    return f'<div class="tablewrap"><table class="wide"><tr>{head}</tr>{body}</table></div>{note}'


def _resolve_benchmark(
    benchmark: BarFrame | tuple[IntArray, FloatArray] | None,
) -> tuple[IntArray, FloatArray] | None:
    return bar_benchmark(benchmark) if isinstance(benchmark, BarFrame) else benchmark


def render_report(
    result_or_dir: BacktestResult | Path | str,
    path: Path | str | None = None,
    *,
    benchmark: BarFrame | tuple[IntArray, FloatArray] | None = None,
    benchmark_label: str | None = None,
    risk_free_rate: float = 0.0,
    trials: int = 1,
    plotly: PlotlyLink | None = None,
    orders: list[dict[str, Any]] | None = None,
    run_info: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Write the run's HTML report and return its path.

    Args:
        result_or_dir: A `BacktestResult`, or a run's artifacts folder.
        path: Output file. Default: ``<folder>/report-rerender.html`` for a folder (the
            backtest's own report.html is never replaced unasked),
            ``backtests/<run name>-report.html`` for a result.
        benchmark: Bars (their closes are used) or ``(ts_ns, values)`` to compare with;
            default buy-and-hold of the traded symbols.
        benchmark_label: Legend name of the benchmark.
        risk_free_rate: Annual risk-free rate as a fraction, for Sharpe, Sortino, alpha.
        trials: Strategy variants tried, for the deflated Sharpe ratio.
        plotly: Where the page gets plotly.js: `engine.report.assets.INLINE` embeds it.
            Default: the runs folder's shared copy for a page inside the run folder it
            renders (``PlotlyLink.for_run``), else ``_assets/`` beside the page.
        orders: A result's order rows (``recorder.orders``' values), when the caller has
            built them already (`engine.runtime.runs.finish_run`: once for every output).
        run_info: A result's ``run.json`` facts (run id, creation time, inputs hash), when
            the caller has them: `finish_run` writes the page while ``run.json`` is being
            written; else they are read from ``run.json`` beside the page, if any.
        notes: Gets the notes about ``benchmark`` (it covers part of the run only), for a
            command to print as warnings (the page has them too).

    Raises:
        DataError: The benchmark has fewer than two values during the run (no overlap).
        KestrelError: Not a run folder. (Without the ``plotly`` package the page is
            written without charts and says why.)
    """
    rates = None  # a run folder holds no fx rates (see `render_data`)
    if isinstance(result_or_dir, str | Path):
        folder = Path(result_or_dir)
        data = ReportData.from_dir(folder)
        # never the backtest's own page (it has the indicator lines a folder cannot give)
        target = Path(path) if path is not None else folder / RERENDER_PAGE
        check_replaceable(target, "report", is_kestrel_page)
        inside = target.absolute().parent == folder.absolute()
        default = PlotlyLink.for_run(folder) if inside else PlotlyLink.beside(target)
        link = plotly if plotly is not None else default
    else:
        target = (
            Path(path)
            if path is not None
            else Path("backtests") / f"{result_or_dir.config.run.name}-report.html"
        )
        check_replaceable(target, "report", is_kestrel_page)
        data = ReportData.from_result(result_or_dir, target.parent, orders, run_info)
        link = plotly if plotly is not None else PlotlyLink.beside(target)
        rates = result_or_dir.fx.series
    known = len(data.notes)  # the folder's own notes (how the page was rendered)
    written = render_data(
        data, target, link, benchmark=_resolve_benchmark(benchmark),
        benchmark_label=benchmark_label, risk_free_rate=risk_free_rate, trials=trials,
        rates=rates,
    )  # fmt: skip
    if notes is not None:
        notes.extend(data.notes[known:])
    return written


def render_data(
    data: ReportData,
    target: Path,
    link: PlotlyLink,
    *,
    benchmark: tuple[IntArray, FloatArray] | None = None,
    benchmark_label: str | None = None,
    risk_free_rate: float = 0.0,
    trials: int = 1,
    rates: Mapping[str, RateSeries] | None = None,
) -> Path:
    """Compute ``data``'s metrics and write its page to ``target`` (see `render_report`).

    ``rates``: the run's fx rates, which value the buy-and-hold benchmark in the account
    currency; a multi-currency run without them has no benchmark (`FX_BENCHMARK_NOTE`).

    For a report whose data is gathered elsewhere (a live account's, from the store:
    `engine.runtime.live.report`); ``data.metrics`` holds the metrics afterwards.

    Raises:
        DataError: The benchmark has fewer than two values during the run (no overlap).
    """
    series = benchmark
    if benchmark_label or series is not None:
        data.benchmark_label = benchmark_label or "benchmark"
    if series is not None:  # refuse one that cannot move during the run (it reads 0.00 %)
        times = np.concatenate(([data.start_ns], data.ts))
        note = check_benchmark_span(times, np.asarray(series[0]), data.benchmark_label)
        data.notes.extend([note] if note else [])
    data.compute(series, risk_free_rate, trials)
    if series is not None:
        bench = benchmark_values(np.concatenate(([data.start_ns], data.ts)), data.frames, series)
    else:
        bench = buy_and_hold(data, rates)
        if data.config.get("fx"):  # `compute` values buy-and-hold in quote currencies
            data.notes.extend([] if bench is not None else [FX_BENCHMARK_NOTE])
            relative = benchmark_metrics(
                initial_cash=data.initial_cash, start_ns=data.start_ns, ts=data.ts,
                equity=data.equity, benchmark=bench, risk_free_rate=risk_free_rate,
            )  # fmt: skip
            data.metrics.update(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_page(data, bench, link), encoding="utf-8")
    return target


def _page(data: ReportData, bench: FloatArray | None, link: PlotlyLink) -> str:
    captions: dict[str, str] = {}
    charts = build_charts(data, bench, captions=captions)
    table, table_note = _trades_table(data)
    metrics = data.metrics
    chart_html = "".join(
        f'<section class="chart{" half" if chart_id in HALF else ""}"><h3>{_e(title)}</h3>'
        + (f'<p class="sub">{_e(captions[chart_id])}</p>' if chart_id in captions else "")
        + f'<div id="chart-{chart_id}" class="plot"></div>'
        f'<script type="application/json" data-chart="chart-{chart_id}">'
        f"{_json_island(figure)}</script></section>"
        for chart_id, title, figure in charts
    )
    period = period_text(metrics["start"], metrics["end"])
    strategy = data.config.get("strategy", {})
    plotly = plotly_js()
    # A missing plotly must not fail the run that writes this page: say so on the page.
    notes = [*data.notes, *([] if plotly else [PLOTLY_MISSING]), *_ruin_note(metrics)]
    notes_html = "".join(f'<p class="note">{_e(note)}</p>' for note in notes)
    headline = " · ".join(
        f"{label} <b>{_e(format_metric(metrics.get(key), kind))}</b>"
        for key, label, kind in (
            ("total_return", "return", "pct"),
            ("cagr", "CAGR", "pct"),
            ("sharpe", "Sharpe", "num"),
            ("max_drawdown", "max DD", "pct"),
            ("num_trades", "trades", "int"),
        )
    )
    created = data.run_info.get("created_at", "")
    return TEMPLATE.format(
        title=_e(f"Kestrel report {data.run_id}"),
        run_id=_e(data.run_id),
        strategy=_e(strategy.get("path", "")),
        params=_e(json.dumps(strategy.get("params", {}), sort_keys=True)),
        symbols=_e(
            ", ".join(
                s.get("symbol", "")
                for s in data.config.get("data", [])
                if s.get("kind") != "news"  # a headline file names no symbol
            )
        ),
        period=_e(period),
        created=_e(created or "—"),
        headline=headline,
        notes=notes_html,
        metrics=_metrics_html(metrics),
        charts=chart_html,
        trades_json=_json_island(table),
        trades_note=_e(table_note),
        config=_e(tomli_w.dumps(data.config)),
        provenance=_provenance_html(data),
        assumptions=assumptions_html(data),
        drawdowns=drawdowns_html(data),
        denials=denials_html(data),
        events=_events_html(data),
        plotly=plotly_script(plotly, link),
        script=SCRIPT,
        style=STYLE,
    )


HALF = {"yearly", "distribution", "rolling", "exposure"}


def _ruin_note(metrics: dict[str, Any]) -> list[str]:
    """Return the note of an account whose equity reached ≤ 0 (none otherwise)."""
    ruined = metrics.get("equity_went_non_positive_at")
    if ruined is None:
        return []
    return [
        f"Equity reached zero or below at {iso(ruined)}: returns from there on are not "
        "returns (a loss on negative equity reads as a gain), so Sharpe, Sortino, Omega, "
        "volatility, VaR, the daily and monthly figures, average exposure, turnover and "
        "the benchmark ratios are left empty (time in market is still shown), and the "
        "monthly, yearly, rolling and daily-return charts are blank from the period that "
        "reaches it on. A max drawdown below −100 % is a loss larger than the peak."
    ]
