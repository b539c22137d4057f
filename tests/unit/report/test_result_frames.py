"""`BacktestResult` as DataFrames, and runs from DataFrames without a ``[[data]]`` path."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import parse_config
from engine.errors import ConfigError, DataError
from engine.report.artifacts import FILL_COLUMNS, ORDER_COLUMNS, TRADE_COLUMNS
from engine.runtime import finish_run, run_backtest
from tests.unit.report.test_html_report import EDGE_CASES, HOUR, T0, make_frame, scripted_run


def test_dataframes_match_the_csv_artifacts(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "losing", EDGE_CASES["losing"])
    _, folder = finish_run(result, out_dir=tmp_path / "run", store=None)

    trades = result.trades
    assert list(trades.columns) == list(TRADE_COLUMNS)
    with (folder / "trades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(trades) == len(rows) == len(result.recorder.trades) >= 5
    first = result.recorder.trades[0]
    assert trades["entry_time"].iloc[0] == pd.Timestamp(first.entry_ts, unit="ns", tz="UTC")
    assert trades["entry_time"].iloc[0].isoformat().replace("+00:00", "Z") == rows[0]["entry_time"]
    assert trades["net_pnl"].tolist() == [float(r["net_pnl"]) for r in rows]
    assert str(trades["exit_time"].dtype) == "datetime64[ns, UTC]"

    orders = result.orders
    assert list(orders.columns) == list(ORDER_COLUMNS)
    assert len(orders) == len(result.recorder.orders)
    assert set(orders["status"]) == {"filled"}
    assert orders["limit_price"].isna().all()  # market orders: no limit (empty in the CSV)

    fills = result.fills
    assert list(fills.columns) == list(FILL_COLUMNS)
    assert fills["price"].tolist() == [f.price for f in result.recorder.fills]
    assert fills["ts_event"].iloc[0] == pd.Timestamp(
        result.recorder.fills[0].ts_event, unit="ns", tz="UTC"
    )

    equity = result.equity
    assert isinstance(equity.index, pd.DatetimeIndex)
    assert str(equity.index.tz) == "UTC"
    assert equity.index.name == "ts_event"
    assert list(equity.columns) == ["cash", "equity", "gross_exposure"]
    # one row per bar close: the first closes an hour after the first bar opens
    assert equity.index[0] == pd.Timestamp(T0 + HOUR, unit="ns", tz="UTC")
    assert equity["equity"].to_numpy().tolist() == result.equity_curve.equity.tolist()
    assert result.equity is equity  # built once, on first access


def test_dataframes_of_a_run_without_trades_are_empty_but_typed(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "none", EDGE_CASES["none"])
    assert result.trades.empty
    assert list(result.trades.columns) == list(TRADE_COLUMNS)
    assert str(result.trades["entry_time"].dtype) == "datetime64[ns, UTC]"
    assert result.fills.empty
    assert str(result.fills["ts_event"].dtype) == "datetime64[ns, UTC]"
    assert len(result.equity) == 48


def test_the_backtest_does_not_build_the_dataframes(tmp_path: Path) -> None:
    result = scripted_run(tmp_path, "one", EDGE_CASES["one"])
    assert not {"trades", "orders", "fills", "equity"} & set(vars(result))


def ohlcv(prices: np.ndarray) -> pd.DataFrame:
    """Return hourly bars as a user would hold them: a UTC DatetimeIndex of open times."""
    frame = make_frame(prices)
    return pd.DataFrame(
        {
            "open": frame.open,
            "high": frame.high,
            "low": frame.low,
            "close": frame.close,
            "volume": frame.volume,
        },
        index=pd.to_datetime(frame.ts_open_ns, unit="ns", utc=True),
    )


def sma_config(data: list[dict[str, str]], target: float = 1.0) -> dict[str, object]:
    return {
        "run": {"name": "from-dataframes"},
        "data": data,
        "strategy": {
            "path": "strategies.sma_cross:SmaCross",
            "params": {"fast": 2, "slow": 5, "target_percent": target},
        },
    }


def test_a_run_from_dataframes_needs_no_data_path(tmp_path: Path) -> None:
    prices = 100 + 10 * np.sin(np.arange(200) / 8.0)
    bars = ohlcv(prices)
    with_path = tmp_path / "bars.csv"
    bars.rename_axis("timestamp").to_csv(with_path)

    from_frame = run_backtest(parse_config(sma_config([{"symbol": "X/USD"}])), data={"X/USD": bars})
    from_file = run_backtest(
        parse_config(sma_config([{"symbol": "X/USD", "path": str(with_path)}]))
    )
    assert from_frame.config.data[0].path == "<DataFrame>"
    assert from_frame.metrics["num_trades"] == from_file.metrics["num_trades"] > 0
    assert from_frame.equity["equity"].tolist() == pytest.approx(
        from_file.equity["equity"].tolist(), rel=1e-12
    )
    # the [[data]] table may be left out altogether: the DataFrame's symbol is added
    # (40% of equity per symbol, so that both can be held at once)
    config = parse_config(sma_config([{"symbol": "Y/USD", "path": str(with_path)}], 0.4))
    both = run_backtest(config, data={"X/USD": bars})
    assert both.config.symbols == ["Y/USD", "X/USD"]
    assert sorted(both.trades["symbol"].unique()) == ["X/USD", "Y/USD"]
    # and the report renders (its provenance names the DataFrame)
    _, folder = finish_run(from_frame, out_dir=tmp_path / "run", store=None)
    assert "&lt;DataFrame&gt;" in (folder / "report.html").read_text()


def test_a_source_without_path_or_dataframe_is_one_clear_error(tmp_path: Path) -> None:
    config = parse_config(sma_config([{"symbol": "X/USD"}]))
    with pytest.raises(ConfigError, match=r"X/USD has no path; give \[\[data\]\] path = FILE"):
        run_backtest(config)
    other = parse_config(sma_config([{"symbol": "X/USD"}, {"symbol": "Z/USD"}]))
    with pytest.raises(ConfigError, match="Z/USD has no path and no DataFrame was passed"):
        run_backtest(other, data={"X/USD": ohlcv(np.full(20, 100.0))})
    with pytest.raises(ConfigError, match="needs a symbol"):
        parse_config(sma_config([{"path": "x.csv"}]))


def test_a_bad_dataframe_is_a_data_error(tmp_path: Path) -> None:
    bars = ohlcv(np.full(20, 100.0)).drop(columns="close")
    with pytest.raises(DataError, match="close"):
        run_backtest(parse_config(sma_config([{"symbol": "X/USD"}])), data={"X/USD": bars})
