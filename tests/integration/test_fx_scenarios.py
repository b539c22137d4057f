"""Hand-computed multi-currency scenarios through the whole kernel (`engine.portfolio.fx`).

Account in USD; instrument X is quoted in EUR, Y in USD. Daily bars: bar k of X opens at
``T0 + k days`` and closes a day later. The EUR rate file holds daily bars that close at
``T0 + j days`` with close ``R[j]`` (USD per EUR), so ``R[j]`` is the rate known from
``T0 + j days`` on: a fill at the open of bar k converts at ``R[k]``, the mark at the close
of bar k at ``R[k + 1]``. Defaults: lot 1, tick 0.01, no fee, no slippage, cash 10,000.

Hand arithmetic of the long round trip (fee 0.1%): buy 10 at o1 = 100 (rate 1.2): cash
-= (1,000 + 1) × 1.2 = 1,201.2 → 8,798.8. Sell 10 at o3 = 110 (rate 1.3): cash +=
(1,100 − 1.1) × 1.3 = 1,428.57 → 10,227.37. Realized = 10 × (110 × 1.3 − 100 × 1.2) = 230
(price PnL at the exit rate 10 × 10 × 1.3 = 130 plus the FX effect on the cost
10 × 100 × (1.3 − 1.2) = 100); fees 1.2 + 1.43 = 2.63; 230 − 2.63 = 227.37 = equity change.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Context, Strategy, load_config, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar
from engine.portfolio.fx import load_rate_series
from engine.report.assets import INLINE
from engine.report.data import ReportData
from engine.report.html import render_data, render_report
from engine.report.series import benchmark_values
from tests.integration.conftest import CliRunner, assert_one_line_error

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY
REPO = Path(__file__).resolve().parents[2]
Action = Callable[[Context], object]
RATES = [1.10, 1.20, 1.25, 1.30, 1.40, 1.50]
BARS = [
    (100.0, 101.0, 99.0, 100.0),
    (100.0, 106.0, 99.0, 105.0),
    (105.0, 111.0, 104.0, 110.0),
    (110.0, 111.0, 109.0, 110.0),
    (110.0, 111.0, 109.0, 110.0),
]


class Scripted(Strategy):
    def __init__(self, actions: dict[int, list[Action]]) -> None:
        super().__init__()
        self.actions = actions
        self.bar_index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if bar.symbol != "X":
            return
        self.bar_index += 1
        for action in self.actions.get(self.bar_index, ()):
            action(ctx)


def frame(symbol: str, bars: list[tuple[float, float, float, float]]) -> BarFrame:
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*bars, strict=True))
    ts = T0 + np.arange(len(bars)) * DAY
    return BarFrame(symbol, DAY, ts, o, h, low, c, np.full(len(bars), 1e6))


def write_rates(path: Path, rates: list[float], first_close: int = T0) -> Path:
    """Daily rate bars whose j-th closes at ``first_close + j days`` with close rates[j]."""
    lines = ["timestamp,open,high,low,close"]
    for j, rate in enumerate(rates):
        opened = (first_close - DAY + j * DAY) // 10**6
        lines.append(f"{opened},{rate},{rate},{rate},{rate}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(
    tmp_path: Path,
    actions: dict[int, list[Action]],
    *,
    account: dict[str, Any] | None = None,
    execution: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    with_y: bool = False,
    rates: list[float] = RATES,
    bars: list[tuple[float, float, float, float]] = BARS,
) -> Any:
    frames = [frame("X", bars)]
    data = [{"path": "<memory>", "symbol": "X"}]
    instruments: list[dict[str, Any]] = [{"symbol": "X", "lot_size": 1.0, "quote_currency": "EUR"}]
    if with_y:
        frames.append(frame("Y", [(200.0, 201.0, 199.0, 200.0)] * len(BARS)))
        data.append({"path": "<memory>", "symbol": "Y"})
        instruments.append({"symbol": "Y", "lot_size": 1.0})
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, "currency": "USD", **(account or {})},
            "data": data,
            "instruments": instruments,
            "fx": [{"currency": "EUR", "path": str(write_rates(tmp_path / "eur.csv", rates))}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **(execution or {})},
            "risk": risk or {},
        }
    )
    return run_backtest(config, frames=frames, strategy=Scripted(actions))


def fills(result: Any) -> list[tuple[str, float, float, float]]:
    return [(f.symbol, f.price, f.quantity, f.fee) for f in result.recorder.fills]


def test_long_round_trip_converts_cash_fees_marks_and_realized_pnl(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {0: [lambda c: c.buy("X", 10)], 2: [lambda c: c.sell("X", 10)]},
        execution={"fee_rate": 0.001},
    )
    assert fills(result) == [("X", 100.0, 10, pytest.approx(1.0)), ("X", 110.0, 10, 1.1)]
    curve = result.equity_curve
    # c0: flat; c1: 8,798.8 + 10 × 105 × 1.25; c2: + 10 × 110 × 1.3; c3, c4: flat
    assert curve.cash.tolist() == pytest.approx([10_000, 8_798.8, 8_798.8, 10_227.37, 10_227.37])
    assert curve.equity.tolist() == pytest.approx(
        [10_000, 10_111.3, 10_228.8, 10_227.37, 10_227.37]
    )
    assert curve.gross_exposure.tolist() == pytest.approx([0, 1_312.5, 1_430, 0, 0])
    portfolio = result.portfolio
    assert result.fx  # a multi-currency run: the account converts every amount
    assert portfolio.cash == pytest.approx(10_227.37)
    assert portfolio.fees_paid == pytest.approx(2.63)
    assert portfolio.positions["X"].realized_pnl == pytest.approx(230.0)
    (trade,) = result.recorder.trades
    assert (trade.entry_price, trade.exit_price) == (100.0, 110.0)  # quote currency (EUR)
    assert trade.gross_pnl == pytest.approx(230.0)  # account currency, FX effect included
    assert trade.fees == pytest.approx(2.63)
    assert trade.net_pnl == pytest.approx(227.37)
    assert trade.entry_value_account == pytest.approx(1_200.0)
    assert result.metrics["total_return"] == pytest.approx(0.022737)


def test_mark_uses_the_rate_as_of_now_and_the_position_keeps_its_cost(tmp_path: Path) -> None:
    result = run(tmp_path, {0: [lambda c: c.buy("X", 10)]})
    portfolio = result.portfolio
    position = portfolio.positions["X"]
    assert position.average_price == 100.0  # EUR
    assert position.average_cost == pytest.approx(120.0)  # USD per unit, at the entry rate
    # end of the run: c4 = 110 at R[5] = 1.5 → value 1,650; unrealized 1,650 − 1,200 = 450
    assert portfolio.equity == pytest.approx(8_800 + 1_650)
    assert position.unrealized_pnl(110.0, 1.5) == pytest.approx(450.0)
    assert result.equity_curve.equity[-1] == pytest.approx(portfolio.equity)


def test_short_in_a_foreign_currency(tmp_path: Path) -> None:
    result = run(tmp_path, {0: [lambda c: c.sell("X", 10)], 2: [lambda c: c.buy("X", 10)]})
    curve = result.equity_curve
    # sell 10 at 100 × 1.2: cash 11,200; c1: −10 × 105 × 1.25 = −1,312.5; c2: −1,430;
    # buy back 10 at 110 × 1.3 = 1,430: cash 9,770; realized 10 × (120 − 143) = −230
    assert curve.cash.tolist() == pytest.approx([10_000, 11_200, 11_200, 9_770, 9_770])
    assert curve.equity.tolist() == pytest.approx([10_000, 9_887.5, 9_770, 9_770, 9_770])
    assert result.portfolio.positions["X"].realized_pnl == pytest.approx(-230.0)
    (trade,) = result.recorder.trades
    assert trade.side == "short"
    assert trade.gross_pnl == pytest.approx(-230.0)


def test_mixed_account_values_each_instrument_in_the_account_currency(tmp_path: Path) -> None:
    # Y's first bar closes after X's (merge order), so Y is bought on the next bar
    result = run(
        tmp_path, {0: [lambda c: c.buy("X", 10)], 1: [lambda c: c.buy("Y", 5)]}, with_y=True
    )
    curve = result.equity_curve
    # X at o1: 10 × 100 × 1.2 = 1,200 → cash 8,800; Y (USD) at o2: 5 × 200 → cash 7,800
    # c2: 7,800 + 10 × 110 × 1.3 + 5 × 200 = 10,230; gross 1,430 + 1,000
    assert curve.cash.tolist() == pytest.approx([10_000, 8_800, 7_800, 7_800, 7_800])
    assert curve.equity[1] == pytest.approx(8_800 + 1_312.5)
    assert curve.equity[2] == pytest.approx(10_230.0)
    assert curve.gross_exposure[2] == pytest.approx(2_430.0)
    # c4: 7,800 + 10 × 110 × 1.5 + 5 × 200
    assert curve.equity[-1] == pytest.approx(10_450.0)
    assert result.portfolio.equity == pytest.approx(10_450.0)


def test_risk_denies_a_buy_the_cash_cannot_pay_at_the_current_rate(tmp_path: Path) -> None:
    # at c0 the rate is R[1] = 1.2: 9 × 100 × 1.2 = 1,080 > 1,000 cash (900 in EUR would pass)
    result = run(tmp_path, {0: [lambda c: c.buy("X", 9)]}, account={"initial_cash": 1_000.0})
    (row,) = result.recorder.orders.values()
    assert row["status"] == "denied"
    assert row["check"] == "cash"
    assert "at ~100 costs 1080.00" in row["reason"]  # quote price, account-currency cost
    assert result.recorder.fills == []


def test_broker_caps_a_buy_at_the_fill_time_rate(tmp_path: Path) -> None:
    # 8 × 100 × 1.2 = 960 passes risk at c0; bar 1 then opens dearer, at 110
    bars = [BARS[0], (110.0, 111.0, 109.0, 110.0), *BARS[2:]]
    result = run(
        tmp_path, {0: [lambda c: c.buy("X", 8)]}, account={"initial_cash": 1_000.0}, bars=bars
    )
    # at o1: 8 × 110 × 1.2 = 1,056 > 1,000 → reduced to floor(1,000 / 132) = 7
    assert fills(result) == [("X", 110.0, 7, 0.0)]
    assert result.portfolio.cash == pytest.approx(1_000 - 7 * 110 * 1.2)


def test_order_target_percent_sizes_with_the_rate(tmp_path: Path) -> None:
    result = run(tmp_path, {0: [lambda c: c.order_target_percent("X", 0.5)]})
    # 10,000 × 0.5 / (100 × 1.2) = 41.67 → 41 lots
    assert fills(result) == [("X", 100.0, 41, 0.0)]


def test_order_target_value_and_fx_rate_on_the_context(tmp_path: Path) -> None:
    seen: list[float] = []
    result = run(
        tmp_path,
        {
            0: [
                lambda c: seen.append(c.fx_rate("X")),
                lambda c: c.order_target_value("X", 3_000.0),
            ]
        },
    )
    assert seen[0] == pytest.approx(1.2)  # at c0 (T0 + 1 day) the last rate is R[1]
    assert fills(result) == [("X", 100.0, 25, 0.0)]  # 3,000 / 120


def test_sizer_values_in_the_account_currency(tmp_path: Path) -> None:
    # fixed notional 1,800 USD at c0: 1,800 / (100 EUR × 1.2) = 15
    result = run(
        tmp_path,
        {0: [lambda c: c.order_target_signal("X", 1.0)]},
        risk={"sizer": {"kind": "fixed_notional", "notional": 1_800.0}},
    )
    assert fills(result) == [("X", 100.0, 15, 0.0)]


def test_borrow_fee_of_a_foreign_short_is_converted_at_the_bar_close(tmp_path: Path) -> None:
    # short 10 at o1; borrow 0.0365 a year = 0.01% a day of |q| × close × rate at the close:
    # c1 (rate R[2] = 1.25): 10 × 105 × 1.25 × 0.0001; c2 (R[3] = 1.3): 10 × 110 × 1.3 × …
    result = run(
        tmp_path,
        {0: [lambda c: c.sell("X", 10)], 2: [lambda c: c.buy("X", 10)]},
        account={"borrow_rate": 0.0365},
    )
    flows = [(a.reason, a.amount) for a in result.recorder.cash_adjustments]
    assert flows == [
        ("borrow_fee", pytest.approx(-0.13125)),
        ("borrow_fee", pytest.approx(-0.143)),
    ]
    assert result.portfolio.cash == pytest.approx(9_770 - 0.13125 - 0.143)
    assert result.equity_curve.cash[-1] == pytest.approx(result.portfolio.cash)


def test_rate_series_starting_after_the_first_bar_is_refused(tmp_path: Path) -> None:
    from engine.errors import ConfigError

    config = parse_config(
        {
            "account": {"currency": "USD"},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "quote_currency": "EUR"}],
            "fx": [
                {
                    "currency": "EUR",
                    "path": str(write_rates(tmp_path / "late.csv", RATES, T0 + 2 * DAY)),
                }
            ],
            "strategy": {"path": "scripted"},
        }
    )
    with pytest.raises(ConfigError, match="first known at"):
        run_backtest(config, frames=[frame("X", BARS)], strategy=Scripted({}))


def _fx_config(rates: Path) -> Any:
    return parse_config(
        {
            "account": {"currency": "USD"},
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "quote_currency": "EUR"}],
            "fx": [{"currency": "EUR", "path": str(rates)}],
            "strategy": {"path": "scripted"},
        }
    )


def test_rate_series_ending_before_the_data_is_refused(tmp_path: Path) -> None:
    """Found by an audit: a rate file ending in May 2017 for a run to February 2018 was
    accepted, its last rate used for every later mark and fill (8.7 % off, exit 0)."""
    from engine.errors import ConfigError

    short = _fx_config(write_rates(tmp_path / "short.csv", RATES[:2]))  # known to T0 + 1 day
    with pytest.raises(ConfigError) as caught:
        run_backtest(short, frames=[frame("X", BARS)], strategy=Scripted({}))
    assert str(caught.value) == (
        f"fx: the EUR rate series {tmp_path / 'short.csv'} ends at 2020-09-14T00:00:00Z "
        "(its last bar's close), 4d before X's last bar closes at 2020-09-18T00:00:00Z, "
        "longer than any gap inside it (1d): every later mark and fill would use its last "
        "rate; give rates that cover the run, or an earlier [[data]] end"
    )
    # one rate short of the last close: within the series' own spacing (a market closed
    # for the night or the weekend is normal), so the run goes on
    covered = _fx_config(write_rates(tmp_path / "covered.csv", RATES[:5]))
    run_backtest(covered, frames=[frame("X", BARS)], strategy=Scripted({}))


def test_rate_as_of_never_looks_ahead(tmp_path: Path) -> None:
    series = load_rate_series(write_rates(tmp_path / "r.csv", RATES), "EUR")
    assert np.isnan(series.at(T0 - 1))
    assert series.at(T0) == 1.10
    assert series.at(T0 + DAY - 1) == 1.10
    assert series.at(T0 + DAY) == 1.20
    inverted = load_rate_series(tmp_path / "r.csv", "EUR", invert=True)
    assert inverted.at(T0 + DAY) == pytest.approx(1 / 1.2)


# --- the CLI: the sample config and bad [[fx]] configs --------------------------------


def test_sample_eur_account_config_runs(kestrel: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = kestrel(
        "backtest", "configs/sma_cross_eurusd_eur_account.toml", "--out", str(out), "--no-db"
    )
    assert result.code == 0, result.err
    assert "fx" in (out / "config.toml").read_text()
    with (out / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 10
    stored = json.loads((out / "metrics.json").read_text())
    # the re-rendered report keeps account-currency PnL and fees (fills.csv is in USD)
    data = ReportData.from_dir(out)
    data.compute()
    assert data.metrics["fees_paid"] == stored["fees_paid"]
    assert data.metrics["total_return"] == pytest.approx(stored["total_return"])
    # trades.csv: the closed trades, then the position open at the end (status "open")
    assert [t.gross_pnl for t in data.trades + data.open_trades] == pytest.approx(
        [float(row["gross_pnl"]) for row in rows]
    )
    assert [t.is_open for t in data.open_trades] == [row["status"] == "open" for row in rows][
        len(data.trades) :
    ]
    assert (out / "report.html").read_text().count("fx.USD") == 1


def test_report_metrics_of_a_multi_currency_run_are_in_the_account_currency(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        {0: [lambda c: c.buy("X", 10)], 2: [lambda c: c.sell("X", 10)]},
        execution={"fee_rate": 0.001},
    )
    assert result.metrics["fees_paid"] == pytest.approx(2.63)
    data = ReportData.from_result(result)
    data.compute()
    assert data.metrics["fees_paid"] == pytest.approx(2.63)
    assert data.metrics["turnover"] == pytest.approx(result.metrics["turnover"])


def fx_config(tmp_path: Path, fx_table: str, quote: str = "EUR") -> Path:
    bars = tmp_path / "x.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{(T0 + k * DAY) // 10**6},100,101,99,100,1000" for k in range(5)]
    bars.write_text("\n".join(lines) + "\n")
    write_rates(tmp_path / "eur.csv", RATES)
    path = tmp_path / "run.toml"
    path.write_text(
        f"""
[account]
currency = "USD"

[[data]]
path = "{bars}"
symbol = "X"

[[instruments]]
symbol = "X"
quote_currency = "{quote}"

{fx_table}

[strategy]
path = "strategies.sma_cross:SmaCross"
params = {{ fast = 2, slow = 3 }}
"""
    )
    return path


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ('[[fx]]\ncurrency = "EUR"\npaht = "eur.csv"', ("paht", "did you mean", "path")),
        ('[[fx]]\ncurrency = "EUR"\npath = "/nonexistent/eur.csv"', ("fx EUR", "no such file")),
        ("", ("quoted in EUR", "[[fx]]")),
        ('[[fx]]\ncurrency = "GBP"\npath = "x.csv"', ("GBP",)),
    ],
    ids=["unknown_key", "missing_file", "missing_currency", "unused_currency"],
)
def test_bad_fx_config_is_one_line_exit_2(
    kestrel: CliRunner, tmp_path: Path, table: str, fragments: tuple[str, ...]
) -> None:
    config = fx_config(tmp_path, table)
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "out"))
    assert_one_line_error(result, *fragments)


@pytest.mark.parametrize("bad", ["0", "-1.1", "nan"])
def test_bad_rate_value_is_one_line_exit_2(kestrel: CliRunner, tmp_path: Path, bad: str) -> None:
    rates = tmp_path / "bad.csv"
    rows = ["timestamp,open,high,low,close"]
    for j in range(6):
        value = bad if j == 3 else "1.2"
        rows.append(f"{(T0 - DAY + j * DAY) // 10**6},1.2,1.2,1.2,{value}")
    rates.write_text("\n".join(rows) + "\n")
    config = fx_config(tmp_path, f'[[fx]]\ncurrency = "EUR"\npath = "{rates}"')
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "fx EUR")


def test_the_node_converts_fx_and_takes_rates_as_they_arrive(tmp_path: Path) -> None:
    """Paper/live load [[fx]] like the backtest; a live source appends later rates.

    Rates known: 1.10 from T0, 1.20 from T0 + 1d (file); 1.50 from T0 + 2d (appended).
    Buy 10 decided at bar 0's close fills at bar 1's open (T0 + 1d, 100 EUR at 1.20):
    cash 10,000 − 1,200 = 8,800. Bar 1 closes at T0 + 2d at 105: marked at the appended
    1.50, equity = 8,800 + 10 × 105 × 1.50 = 10,375 (10,060 without the new rate).
    """
    from engine.clock import SimClock
    from engine.errors import DataError
    from engine.runtime.backtest import iter_bars
    from engine.runtime.node import TradingNode

    config = parse_config(
        {
            "data": [{"path": "<memory>", "symbol": "X"}],
            "instruments": [{"symbol": "X", "quote_currency": "EUR", "lot_size": 1.0}],
            "fx": [{"currency": "EUR", "path": str(write_rates(tmp_path / "r.csv", RATES[:2]))}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0},
        }
    )
    buy: Action = lambda ctx: ctx.buy("X", 10)  # noqa: E731
    node = TradingNode(config, clock=SimClock(T0), strategy=Scripted({0: [buy]}))
    bar0, bar1 = list(iter_bars([frame("X", BARS[:2])]))
    node.on_bar(bar0)
    node.add_fx_rate("EUR", T0 + 2 * DAY, 1.5)
    node.on_bar(bar1)
    node.stop()
    (fill,) = node.kernel.recorder.fills
    assert (fill.ts_event, fill.price, fill.quantity) == (T0 + DAY, 100.0, 10.0)
    assert node.kernel.portfolio.cash == pytest.approx(8_800.0, abs=1e-9)
    curve = [(s.ts_event, s.cash, s.equity) for s in node.equity_curve]
    assert curve == [
        (T0 + DAY, 10_000.0, 10_000.0),
        (T0 + 2 * DAY, pytest.approx(8_800.0), pytest.approx(10_375.0)),
    ]
    with pytest.raises(DataError, match="not after the last one"):
        node.add_fx_rate("EUR", T0 + 2 * DAY, 1.6)
    with pytest.raises(DataError, match="must be > 0"):
        node.add_fx_rate("EUR", T0 + 3 * DAY, 0.0)
    with pytest.raises(DataError, match="no symbol of the run is quoted in it"):
        node.add_fx_rate("GBP", T0 + 3 * DAY, 1.3)


def test_sample_config_is_deterministic(kestrel: CliRunner, tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = ("backtest", "configs/sma_cross_eurusd_eur_account.toml", "--no-db")
        assert kestrel(*args, "--out", str(tmp_path / name)).code == 0
    for name in ("equity.csv", "fills.csv", "trades.csv", "metrics.json", "orders.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_buy_and_hold_benchmark_is_in_the_account_currency(tmp_path: Path) -> None:
    # X opens at 100 (the EUR rate 1.10 known from T0) and its last bar closes at 110 when
    # the rate is 1.50: buy-and-hold is worth 110 × 1.50 / (100 × 1.10) − 1 = +50 % in USD
    # (+10 % in EUR, the old answer). Bar 0 closes at 100 at the rate 1.20: 1.2 / 1.1.
    result = run(tmp_path, {})
    assert result.metrics["benchmark_total_return"] == pytest.approx(0.5)
    data = ReportData.from_result(result)
    bench = benchmark_values(
        np.concatenate(([data.start_ns], data.ts)), data.frames, rates=result.fx.series
    )
    assert bench is not None
    assert bench[:2].tolist() == pytest.approx([1.0, 1.2 / 1.1])


def test_eur_account_benchmark_of_the_sample_config() -> None:
    # The audit's figures: a EUR account holding EUR/USD bought at the first open is
    # worth close₀ / open₀ in EUR at the end: +0.06 %, CAGR 0.07 %, IR −8.25 (it read
    # +14.69 %, 18.55 %, −2.74 valued in USD)
    result = run_backtest(load_config(REPO / "configs/sma_cross_eurusd_eur_account.toml"))
    metrics = result.metrics
    assert metrics["benchmark_total_return"] == pytest.approx(0.0005505785740946845, rel=1e-9)
    assert metrics["benchmark_cagr"] == pytest.approx(0.0006833770485448198, rel=1e-9)
    assert metrics["information_ratio"] == pytest.approx(-8.252554543404452, rel=1e-9)


def equity_traces(page: Path) -> dict[str, list[float]]:
    text = page.read_text()
    start = text.index('data-chart="chart-equity">') + len('data-chart="chart-equity">')
    figure = json.loads(text[start : text.index("</script>", start)])
    return {trace["name"]: trace["y"] for trace in figure["data"]}


def test_report_page_draws_the_benchmark_in_the_account_currency(tmp_path: Path) -> None:
    result = run(tmp_path, {})
    traces = equity_traces(result.report(tmp_path / "page.html"))
    assert list(traces) == ["strategy", "buy &amp; hold"]
    assert traces["buy &amp; hold"][-1] == pytest.approx(15_000.0)  # +50 %, not +10 %
    # options that recompute the metrics (a risk-free rate) keep the account currency
    data = ReportData.from_result(result)
    render_data(data, tmp_path / "rf.html", INLINE, risk_free_rate=0.02, rates=result.fx.series)
    assert data.metrics["benchmark_total_return"] == pytest.approx(0.5)


def test_folder_report_of_a_multi_currency_run_omits_the_benchmark(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    # the folder holds no fx rates: no buy-and-hold line or figures rather than wrong ones
    out = tmp_path / "run"
    config = fx_config(tmp_path, f'[[fx]]\ncurrency = "EUR"\npath = "{tmp_path / "eur.csv"}"')
    assert kestrel("backtest", str(config), "--out", str(out), "--no-db").code == 0
    assert json.loads((out / "metrics.json").read_text())["benchmark_total_return"] == (
        pytest.approx(100 * 1.50 / (100 * 1.10) - 1)
    )
    notes: list[str] = []
    page = render_report(out, tmp_path / "again.html", notes=notes)
    assert list(equity_traces(page)) == ["strategy"]
    assert any("fx rates" in note for note in notes)
    data = ReportData.from_dir(out)
    render_data(data, tmp_path / "again2.html", INLINE)
    assert data.metrics["benchmark_total_return"] is None
    assert data.metrics["beta"] is None
