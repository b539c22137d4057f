"""The CLI's report-facing lines: denied orders in the summary; `report --open`, no browser."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error


def test_summary_counts_denied_orders_with_top_reasons(kestrel: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "deny.toml"
    config.write_text(
        '[run]\nname = "deny"\n[[data]]\n'
        f'path = "{REPO / "data/binance_BTC_USDT_1h_20201201_20210717.csv"}"\n'
        'symbol = "BTC/USDT"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
        "[risk]\nmax_order_quantity = 0.001\n"  # every SMA entry is larger: all denied
    )
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "run"))
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith("denied orders:"))
    orders = (tmp_path / "run" / "orders.csv").read_text().splitlines()
    denied = [row for row in orders if ",denied," in row]
    assert denied  # every entry is denied: the strategy never holds a position
    assert line.startswith(f"denied orders: {len(denied):,} — max_order_quantity ×{len(denied):,}")
    page = (tmp_path / "run" / "report.html").read_text()
    assert f"{len(denied):,} order(s) denied by risk" in page
    # re-rendered from the folder (orders.csv), the page says the same
    again = kestrel("report", str(tmp_path / "run"), "--out", str(tmp_path / "again.html"))
    assert again.code == 0, again.err
    assert f"{len(denied):,} order(s) denied by risk" in (tmp_path / "again.html").read_text()
    # indicator values are not among the artifacts: the re-rendered page says why its price
    # chart has no SMA lines, where the run's own page draws them
    note = "indicator lines are not stored with a run"
    assert '"name":"sma(timeperiod=10)"' in page.replace(" ", "")
    assert note not in page
    redrawn = (tmp_path / "again.html").read_text()
    assert '"name":"sma(timeperiod=10)"' not in redrawn.replace(" ", "")
    assert note in redrawn


def test_summary_says_no_order_was_denied(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel("backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(tmp_path))
    assert result.code == 0, result.err
    assert "denied orders: 0" in result.out.splitlines()


def test_report_open_without_a_browser_says_so(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    assert kestrel("backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(run)).code == 0
    opened: list[str] = []

    def no_browser(url: str) -> bool:  # what webbrowser.open answers on a headless server
        opened.append(url)
        return False

    monkeypatch.setattr(webbrowser, "open", no_browser)
    result = kestrel("report", str(run), "--open")
    assert result.code == 0, result.err
    page = (run / "report-rerender.html").resolve()
    assert opened == [page.as_uri()]
    assert result.err.strip() == (
        f"warning: no web browser could be opened here; open {page} yourself"
    )


def test_a_data_table_without_path_is_one_line_from_the_cli(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = tmp_path / "nopath.toml"
    config.write_text(
        '[run]\nname = "nopath"\n[[data]]\nsymbol = "BTC/USDT"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
    )
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "run"))
    assert_one_line_error(result, "BTC/USDT has no path", "run_backtest(config, data=")


def test_an_indicator_that_never_had_a_value_is_named_in_a_warning(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """Found by an audit: slow = 100000 on 5,482 bars ran with 0 trades, exit 0, no word."""
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(tmp_path / "run"),
        "--set", "strategy.params.slow=100000",
    )  # fmt: skip
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "never had a value" in line]
    assert warnings == [
        "warning: BTC/USDT: sma(timeperiod=100000) never had a value in 5,482 bars (its "
        "warm-up is longer than the data): the strategy's rules that read it never ran"
    ]
    ordinary = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(tmp_path / "ok")
    )
    assert "never had a value" not in ordinary.err


def test_positions_opened_before_the_exit_atr_had_a_value_are_named_in_a_warning(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """Found by an audit: [risk.exits] trailing_atr_multiple with atr_period = 100000 ran
    with no trailing stop at all (115 trades, 13,342.94: the run without exits), exit 0."""
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(tmp_path / "run"),
        "--set", "risk.exits={trailing_atr_multiple=2,atr_period=100000}",
    )  # fmt: skip
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "trailing" in line]
    assert len(warnings) == 1, result.err
    assert warnings[0].startswith(
        "warning: BTC/USDT: [risk.exits] trailing_atr_multiple: ATR(100000) had no value when "
        "115 positions opened (the first at 2020-12-"
    )
    assert warnings[0].endswith("): they got no trailing stop")
