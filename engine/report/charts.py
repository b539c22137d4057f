"""The report's charts as plotly figure dicts (data + layout), thinned for display only.

In: a `ReportData` whose metrics are computed. Out: ``(chart id, title, figure)`` triples
that the page hands to ``Plotly.newPlot``. Times are ms since the epoch on date axes.
Long series are thinned with min/max buckets (`display_indices`: each bucket's first,
last, lowest and highest point: peaks, troughs and drawdowns stay visible). Every metric
is computed from the full series before any of this."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.report.data import ReportData
from engine.report.series import FloatArray, IntArray, benchmark_values, drawdown, period_returns

if TYPE_CHECKING:
    from engine.portfolio.fx import RateSeries

# a multi-currency run's page rendered without the run's fx rates (from its folder)
FX_BENCHMARK_NOTE = (
    "Multi-currency run rendered without its fx rates (a run folder and a live account's "
    "store do not hold them): "
    "the buy-and-hold benchmark is left out (no line, its figures empty) rather than valued "
    "in each symbol's quote currency. metrics.json and the page the backtest wrote have it "
    "in the account currency."
)

__all__ = [
    "DISPLAY_BUCKETS",
    "FX_BENCHMARK_NOTE",
    "MAX_MARKERS",
    "build_charts",
    "buy_and_hold",
    "display_indices",
    "plotly_text",
    "rolling_stats",
    "thinned_caption",
]

DISPLAY_BUCKETS = 1500
MAX_MARKERS = 4000
COLORS = {"strategy": "#1f6feb", "benchmark": "#8b949e", "loss": "#d1242f", "gain": "#1a7f37"}
INDICATOR_COLORS = ["#bf8700", "#8250df", "#0a3069", "#bc4c00", "#1b7c83", "#cf222e"]
MAX_INDICATOR_LINES = 8
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

Figure = dict[str, Any]


def display_indices(values: FloatArray, buckets: int = DISPLAY_BUCKETS) -> IntArray:
    """Return sorted indices that keep each bucket's first, last, min and max point.

    Buckets of ``ceil(n / buckets)`` points, views of ``values`` (not copied: the peak
    memory of issue 13); the short last one apart. The min and max are the first of
    equal ones, NaNs ignored (a bucket of NaNs only keeps its first point twice)."""
    n = values.size
    if n <= 4 * buckets:
        return np.arange(n, dtype=np.int64)
    size = math.ceil(n / buckets)
    whole = n // size
    shaped = values[: whole * size].reshape(whole, size)  # a view
    lowest, highest = _extremes(shaped)
    base = np.arange(whole, dtype=np.int64) * size
    parts = [base, base + size - 1, base + lowest, base + highest]
    if whole * size < n:
        start = whole * size
        low, high = _extremes(values[start:].reshape(1, n - start))
        parts.append(np.array([start, n - 1, start + low[0], start + high[0]]))
    return np.unique(np.concatenate(parts))


def _extremes(shaped: FloatArray) -> tuple[IntArray, IntArray]:
    """Return each row's argmin and argmax, NaNs ignored (a row of NaNs only: 0, 0): only
    rows with a NaN (a warm-up: few) are copied, NaN as ±inf (np.nanargmin raises on NaN
    rows); whole copies cost a 10 M-bar run ~150 MiB of peak memory."""
    lowest, highest = np.argmin(shaped, axis=1), np.argmax(shaped, axis=1)
    holes = np.flatnonzero(np.isnan(shaped).any(axis=1))
    if holes.size:
        rows = shaped[holes]
        missing = np.isnan(rows)
        lowest[holes] = np.argmin(np.where(missing, np.inf, rows), axis=1)
        highest[holes] = np.argmax(np.where(missing, -np.inf, rows), axis=1)
    return lowest, highest


def plotly_text(text: str) -> str:
    """Return user text (a symbol, a benchmark's name) for a plotly title or legend.

    Plotly reads a subset of HTML in those strings (``<b>``, ``<br>``, ``<a href>``) and
    decodes entities; escaping ``&``, ``<`` and ``>`` makes it draw the text as written.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ms(ts: IntArray) -> list[int]:
    result: list[int] = (np.asarray(ts, dtype=np.int64) // 1_000_000).tolist()
    return result


def _values(array: FloatArray, digits: int = 6) -> list[float | None]:
    """Return a JSON-safe list (NaN/inf become null, which plotly draws as a gap)."""
    rounded = np.round(np.asarray(array, dtype=np.float64), digits)
    return [v if math.isfinite(v) else None for v in rounded.tolist()]


def _layout(title_y: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "height": 340,
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.12},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": title_y}, "automargin": True},
    }
    layout.update(extra)
    return layout


def rolling_stats(
    returns: FloatArray, window: int, periods: float
) -> tuple[FloatArray, FloatArray]:
    """Return rolling annualized (Sharpe, volatility) over ``window`` returns (NaN warm-up)."""
    n = returns.size
    sharpe = np.full(n, np.nan)
    volatility = np.full(n, np.nan)
    if n < window or window < 2:
        return sharpe, volatility
    sums = np.cumsum(np.concatenate(([0.0], returns)))
    squares = np.cumsum(np.concatenate(([0.0], returns**2)))
    total = sums[window:] - sums[:-window]
    mean = total / window
    variance = np.maximum(
        (squares[window:] - squares[:-window] - window * mean**2) / (window - 1), 0
    )
    std = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe[window - 1 :] = np.where(std > 1e-12, mean / std * math.sqrt(periods), np.nan)
    volatility[window - 1 :] = std * math.sqrt(periods)
    return sharpe, volatility


def _equity_chart(data: ReportData, bench: FloatArray | None) -> Figure:
    keep = display_indices(data.equity)
    x = _ms(data.ts[keep])
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "strategy",
            "x": x,
            "y": _values(data.equity[keep], 2),
            "line": {"color": COLORS["strategy"], "width": 1.5},
        },
    ]
    if bench is not None:
        # thinned on its own extremes: on the equity's indices its peaks fell between the
        # points kept (drawn max 137,664 of a real 137,760; audit finding 10b)
        own = display_indices(bench[1:])  # a view; × the cash (> 0) after: no 10 M copy
        shown = bench[1:][own] * data.initial_cash
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": plotly_text(data.benchmark_label),
                "x": _ms(data.ts[own]),
                "y": _values(shown, 2),
                "line": {"color": COLORS["benchmark"], "width": 1.2},
            }
        )
    buttons = [
        {"label": "linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
        {"label": "log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
    ]
    menu = {  # centred: at the right it sat under plotly's toolbar
        "type": "buttons",
        "direction": "right",
        "x": 0.5,
        "xanchor": "center",
        "y": 1.2,
        "buttons": buttons,
        "showactive": True,
    }
    return {"data": traces, "layout": _layout("equity", updatemenus=[menu])}


def _drawdown_chart(data: ReportData) -> Figure:
    dd = drawdown(data.equity, before=data.initial_cash)
    dd *= 100  # in place (the same bits as ``dd * 100``): a 10 M-bar curve held once
    keep = display_indices(dd)
    trace = {
        "type": "scatter",
        "mode": "lines",
        "name": "drawdown",
        "x": _ms(data.ts[keep]),
        "y": _values(dd[keep], 3),
        "fill": "tozeroy",
        "line": {"color": COLORS["loss"], "width": 1},
    }
    return {"data": [trace], "layout": _layout("drawdown %", showlegend=False)}


def _solvent_equity(data: ReportData) -> FloatArray:
    """Return the equity curve for the return charts: NaN from the first close at or below 0.

    From there on a change of equity is not a return (a loss from -2,000 to -3,000 reads
    as +50 %), so each period or window that reaches it is left blank, as the metrics are
    (`engine.report.metrics`, "A ruined account"). The curve itself when equity stayed > 0.
    """
    ruined = np.flatnonzero(data.equity <= 0.0)
    if not ruined.size:
        return data.equity
    solvent = data.equity.copy()
    solvent[int(ruined[0]) :] = np.nan
    return solvent


def _monthly_heatmap(data: ReportData) -> Figure:
    labels, returns = period_returns(data.ts, _solvent_equity(data), data.initial_cash, "M")
    years = labels.astype("datetime64[Y]").astype(int) + 1970
    months = labels.astype(int) % 12
    rows = sorted(set(years.tolist()))
    grid: list[list[float | None]] = [[None] * 12 for _ in rows]
    for year, month, value in zip(years.tolist(), months.tolist(), returns.tolist(), strict=True):
        grid[rows.index(year)][month] = round(value * 100, 2) if math.isfinite(value) else None
    text = [["" if v is None else f"{v:.1f}" for v in row] for row in grid]
    limit = max((abs(v) for row in grid for v in row if v is not None), default=1.0) or 1.0
    trace = {
        "type": "heatmap",
        "z": grid,
        "x": MONTHS,
        "y": [str(y) for y in rows],
        "text": text,
        "texttemplate": "%{text}",
        # one convention across the page: losses red, gains green (the yearly bars, the
        # excursions); an explicit scale, since plotly's named scales run either way
        "colorscale": [[0.0, COLORS["loss"]], [0.5, "#f6f8fa"], [1.0, COLORS["gain"]]],
        "zmin": -limit,
        "zmax": limit,
        "hovertemplate": "%{y} %{x}: %{z:.2f}%<extra></extra>",
        "xgap": 1,
        "ygap": 1,
        "colorbar": {"title": {"text": "%"}},
    }
    layout = _layout("year", height=max(220, 60 + 28 * len(rows)), hovermode="closest")
    layout["xaxis"] = {"type": "category"}
    layout["yaxis"] = {"type": "category", "autorange": "reversed"}
    return {"data": [trace], "layout": layout}


def _yearly_bars(data: ReportData) -> Figure:
    labels, returns = period_returns(data.ts, _solvent_equity(data), data.initial_cash, "Y")
    values = _values(returns * 100, 2)
    colors = [COLORS["gain"] if (v or 0) >= 0 else COLORS["loss"] for v in values]
    trace = {
        "type": "bar",
        "x": [str(y) for y in labels.astype(int) + 1970],
        "y": values,
        "marker": {"color": colors},
        "name": "year",
        "hovertemplate": "%{x}: %{y:.2f}%<extra></extra>",
    }
    layout = _layout("return %", showlegend=False, hovermode="closest")
    layout["xaxis"] = {"type": "category"}
    return {"data": [trace], "layout": layout}


def _rolling_chart(data: ReportData) -> Figure:
    labels, daily = period_returns(data.ts, _solvent_equity(data), data.initial_cash, "D")
    years = (data.ts[-1] - data.start_ns) / 86_400e9 / 365.25 if data.ts.size else 0.0
    per_year = daily.size / years if years > 0 else 365.25
    window = min(63, max(2, daily.size // 4))
    sharpe, volatility = rolling_stats(daily, window, per_year)
    x = (labels.astype("datetime64[ms]").astype(np.int64) + 86_400_000).tolist()
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"Sharpe ({window}d)",
            "x": x,
            "y": _values(sharpe, 3),
            "line": {"color": COLORS["strategy"]},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"volatility ({window}d, %)",
            "x": x,
            "y": _values(volatility * 100, 3),
            "yaxis": "y2",
            "line": {"color": COLORS["loss"]},
        },
    ]
    layout = _layout("Sharpe", margin={"l": 60, "r": 60, "t": 30, "b": 40})
    # automargin widens the right margin to the tick labels and title of the second axis,
    # which the default 20 px cut off
    layout["yaxis2"] = {
        "title": {"text": "volatility %"},
        "overlaying": "y",
        "side": "right",
        "automargin": True,
    }
    return {"data": traces, "layout": layout}


def _distribution_chart(data: ReportData) -> Figure:
    _, daily = period_returns(data.ts, _solvent_equity(data), data.initial_cash, "D")
    finite = daily[np.isfinite(daily)] * 100
    counts, edges = (
        np.histogram(finite, bins=min(60, max(5, finite.size // 5)))
        if finite.size
        else (np.zeros(1), np.array([-0.5, 0.5]))
    )
    centers = (edges[:-1] + edges[1:]) / 2
    trace = {
        "type": "bar",
        "x": _values(centers, 4),
        "y": counts.tolist(),
        "name": "days",
        "marker": {"color": COLORS["strategy"]},
        "width": float(edges[1] - edges[0]),
        "hovertemplate": "%{x:.2f}%: %{y} days<extra></extra>",
    }
    layout = _layout("days", showlegend=False, hovermode="closest")
    layout["xaxis"] = {"title": {"text": "daily return %"}}
    return {"data": [trace], "layout": layout}


def _exposure_chart(data: ReportData) -> Figure:
    with np.errstate(divide="ignore", invalid="ignore"):
        exposure = np.divide(data.gross_exposure, data.equity)
    exposure *= 100  # in place, as the divide's: no temporary 10 M-bar arrays
    exposure[~(data.equity > 0)] = np.nan
    gaps = ~np.isfinite(exposure)  # drawn as gaps (`_values`), before they become numbers
    keep = display_indices(np.nan_to_num(exposure, copy=False))  # NaN 0, inf huge: in place
    shown = exposure[keep]
    shown[gaps[keep]] = np.nan
    trace = {
        "type": "scatter",
        "mode": "lines",
        "name": "gross exposure",
        "x": _ms(data.ts[keep]),
        "y": _values(shown, 2),
        "fill": "tozeroy",
        "line": {"color": COLORS["gain"], "width": 1},
    }
    return {"data": [trace], "layout": _layout("gross exposure % of equity", showlegend=False)}


def _thin(count: int, limit: int = MAX_MARKERS) -> IntArray:
    return (
        np.unique(np.linspace(0, count - 1, min(count, limit)).astype(np.int64))
        if count
        else np.empty(0, np.int64)
    )


_FIRST_LINES = "indicator lines (the first declared)"


def thinned_caption(counts: list[tuple[int, int, str, str]]) -> str:
    """Return the caption of a chart that draws some markers only (empty: all drawn).

    ``counts``: ``(drawn, total, what, file listing them)`` per marker kind; a kind no
    file lists (``""``: indicator lines) is said apart, with how it is chosen in ``what``.
    """
    cut = [(drawn, total, what, file) for drawn, total, what, file in counts if drawn < total]
    said = []
    if markers := [entry for entry in cut if entry[3]]:
        drawn_text = ", ".join(
            f"{drawn:,} of {total:,} {what}" for drawn, total, what, _ in markers
        )
        files = list(dict.fromkeys(file for *_, file in markers))
        listed = " and ".join(files) + (" lists" if len(files) == 1 else " list")
        said.append(f"Drawn: {drawn_text} (evenly spaced); a run folder's {listed} every one.")
    said += [
        f"Drawn: {drawn:,} of {total:,} {what}." for drawn, total, what, file in cut if not file
    ]
    return " ".join(said)


def _price_chart(data: ReportData, symbol: str, counts: list[tuple[int, int, str, str]]) -> Figure:
    """Return the price chart of ``symbol``; ``counts`` gets the markers drawn of each kind."""
    frame = next(f for f in data.frames if f.symbol == symbol)
    keep = display_indices(frame.close)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "close",
            "x": _ms(frame.ts_close_ns[keep]),
            "y": _values(frame.close[keep], 8),
            "line": {"color": "#57606a", "width": 1},
        },
    ]
    traces += _indicator_traces(data, symbol, frame.ts_close_ns)
    declared = len(data.indicators.get(symbol, []))
    counts.append((min(declared, MAX_INDICATOR_LINES), declared, _FIRST_LINES, ""))
    traces += _round_trip_traces(data, symbol, counts)
    fills = [f for f in data.fills if f.symbol == symbol]
    for side, symbol_marker, color in (
        ("buy", "triangle-up", COLORS["gain"]),
        ("sell", "triangle-down", COLORS["loss"]),
    ):
        chosen = [f for f in fills if f.side == side]
        shown = [chosen[i] for i in _thin(len(chosen)).tolist()]
        counts.append((len(shown), len(chosen), f"{side} fills", "fills.csv"))
        if shown:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"{side} fills",
                    "x": [f.ts_event // 1_000_000 for f in shown],
                    "y": [f.price for f in shown],
                    "marker": {"symbol": symbol_marker, "size": 8, "color": color},
                }
            )
    # the stops that worked at the venue: a denied order's stop never did (and may be NaN,
    # e.g. from an indicator not ready yet, which no JSON chart can hold)
    stops = [
        o
        for o in data.orders
        if o.get("symbol") == symbol
        and o.get("status") != "denied"
        and o.get("stop_price") not in (None, "")
        and math.isfinite(float(o["stop_price"]))
    ]
    shown_stops = [stops[i] for i in _thin(len(stops)).tolist()]
    counts.append((len(shown_stops), len(stops), "stop orders", "orders.csv"))
    if shown_stops:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "stop orders",
                "x": [_order_ms(o.get("ts_requested")) for o in shown_stops],
                "y": [float(o["stop_price"]) for o in shown_stops],
                "marker": {
                    "symbol": "x-thin-open",
                    "size": 9,
                    "color": "#9a6700",
                    "line": {"width": 2},
                },
            }
        )
    layout = _layout(plotly_text(symbol), hovermode="closest")
    if any(trace.get("yaxis") == "y2" for trace in traces):
        layout["yaxis2"] = {"overlaying": "y", "side": "right", "automargin": True}
        layout["margin"] = {"l": 60, "r": 60, "t": 30, "b": 40}
    return {"data": traces, "layout": layout}


def _indicator_traces(data: ReportData, symbol: str, ts: IntArray) -> list[dict[str, Any]]:
    """Return a line per declared indicator output: price-unit ones on the price axis.

    Oscillators (RSI, MACD, ...) go on a second axis at the right. At most
    `MAX_INDICATOR_LINES` lines, in declaration order, so the chart stays readable.
    """
    traces: list[dict[str, Any]] = []
    for number, line in enumerate(data.indicators.get(symbol, [])[:MAX_INDICATOR_LINES]):
        # each line thinned on its own extremes, as the close is (an oscillator's peaks
        # are not the close's: on the close's indices they were lost)
        shown = display_indices(line.values)
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines",
            "name": line.label,
            "x": _ms(ts[shown]),
            "y": _values(line.values[shown], 8),
            "line": {"width": 1, "color": INDICATOR_COLORS[number % len(INDICATOR_COLORS)]},
        }
        if not line.on_price_axis:
            trace["yaxis"] = "y2"
            trace["line"]["dash"] = "dot"
        traces.append(trace)
    return traces


def _round_trip_traces(
    data: ReportData, symbol: str, counts: list[tuple[int, int, str, str]]
) -> list[dict[str, Any]]:
    """Return entry→exit lines of the closed trades: green for a gain, red for a loss.

    One trace per colour with a gap (null) between trades; at most `MAX_MARKERS` trades,
    evenly spaced, are drawn.
    """
    nets = data.net_pnls()
    trades = [i for i, t in enumerate(data.trades) if t.symbol == symbol]
    chosen = [trades[i] for i in _thin(len(trades)).tolist()]
    counts.append((len(chosen), len(trades), "trades (entry → exit)", "trades.csv"))
    traces: list[dict[str, Any]] = []
    for name, color, wanted in (("winning trades", "gain", True), ("losing trades", "loss", False)):
        x: list[int | None] = []
        y: list[float | None] = []
        for number in chosen:
            trade = data.trades[number]
            if (nets[number] > 0) is wanted:
                x += [trade.entry_ts // 1_000_000, trade.exit_ts // 1_000_000, None]
                y += [_price(trade.entry_price), _price(trade.exit_price), None]
        if x:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{name} (entry → exit)",
                    "x": x,
                    "y": y,
                    "line": {"color": COLORS[color], "width": 1.5, "dash": "dash"},
                    "connectgaps": False,
                    "hoverinfo": "skip",
                }
            )
    return traces


def _price(value: float) -> float | None:
    return round(value, 8) if math.isfinite(value) else None


def _order_ms(value: Any) -> int:
    return int(value or 0) // 1_000_000


def _excursion_chart(data: ReportData, counts: list[tuple[int, int, str, str]]) -> Figure:
    excursions = data.excursions()
    index = _thin(len(excursions)).tolist()
    counts.append((len(index), len(excursions), "trades", "trades.csv"))
    maes = [round(excursions[i][0] * 100, 3) for i in index]
    mfes = [round(excursions[i][1] * 100, 3) for i in index]
    nets = data.net_pnls()
    colors = [COLORS["gain"] if nets[i] > 0 else COLORS["loss"] for i in index]
    trace = {
        "type": "scatter",
        "mode": "markers",
        "name": "trades",
        "x": maes,
        "y": mfes,
        "text": [f"trade {i + 1}" for i in index],
        "marker": {"color": colors, "size": 6, "opacity": 0.7},
        "hovertemplate": "%{text}: MAE %{x:.2f}%, MFE %{y:.2f}%<extra></extra>",
    }
    layout = _layout("MFE % (best excursion)", showlegend=False, hovermode="closest")
    layout["xaxis"] = {"title": {"text": "MAE % (worst excursion)"}}
    return {"data": [trace], "layout": layout}


def buy_and_hold(data: ReportData, rates: Mapping[str, RateSeries] | None) -> FloatArray | None:
    """Return the buy-and-hold benchmark of ``data``'s bars in the account currency.

    ``rates``: the run's fx rates (`engine.portfolio.fx.FxRates.series`). A multi-currency
    run (``[[fx]]`` in its config) without them gets None, never a benchmark valued in
    quote currencies: a run folder holds no rates (`FX_BENCHMARK_NOTE`).
    """
    if not data.frames or (data.config.get("fx") and rates is None):
        return None
    return benchmark_values(np.concatenate(([data.start_ns], data.ts)), data.frames, rates=rates)


def build_charts(
    data: ReportData,
    bench: FloatArray | None = None,
    rates: Mapping[str, RateSeries] | None = None,
    captions: dict[str, str] | None = None,
) -> list[tuple[str, str, Figure]]:
    """Return ``(id, title, figure)`` for every chart of the report, in page order.

    ``bench``: the benchmark's values (start first); default `buy_and_hold` at ``rates``.
    ``captions`` gets, per chart id, what a chart leaves out: the price and excursion
    charts draw at most `MAX_MARKERS` markers of a kind (`thinned_caption`), and the page
    said nothing of it (4,000 of 19,586 fills drawn; audit finding 10a).
    """
    said = captions if captions is not None else {}
    if bench is None:
        bench = buy_and_hold(data, rates)
    charts = [
        ("equity", "Equity vs benchmark", _equity_chart(data, bench)),
        ("drawdown", "Drawdown (underwater)", _drawdown_chart(data)),
        ("monthly", "Monthly returns %", _monthly_heatmap(data)),
        ("yearly", "Yearly returns", _yearly_bars(data)),
        ("rolling", "Rolling Sharpe and volatility (daily returns)", _rolling_chart(data)),
        ("distribution", "Distribution of daily returns", _distribution_chart(data)),
        ("exposure", "Exposure over time", _exposure_chart(data)),
    ]
    for number, frame in enumerate(data.frames):
        counts: list[tuple[int, int, str, str]] = []
        title = f"{frame.symbol}: price, indicators, fills, stops and trades"
        charts.append((f"price{number}", title, _price_chart(data, frame.symbol, counts)))
        said[f"price{number}"] = thinned_caption(counts)
    if data.trades and data.frames:
        counts = []
        figure = _excursion_chart(data, counts)
        charts.append(("excursions", "Trade excursions (MAE vs MFE)", figure))
        said["excursions"] = thinned_caption(counts)
    for chart_id in [key for key, text in said.items() if not text]:
        del said[chart_id]
    return charts
