"""``kestrel data download`` against the local exchange: catalog, resume, gaps, bad input.

The exchange replays the first rows of the BTC/USDT 1h sample and sits at its last bar,
which is in progress: every earlier bar is closed, the last one must never be stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from engine.adapters.local import LocalExchange
from engine.report.artifacts import ARTIFACT_FILES
from tests.contract.conftest import BTC_CSV, REPO, btc_rows, exchange_makers
from tests.integration.conftest import CliRunner


@pytest.fixture
def exchange_factory() -> Iterator[Callable[..., LocalExchange]]:
    yield from exchange_makers()


@pytest.fixture
def served(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=10**6)


def download(kestrel: CliRunner, exchange: Any, catalog: Path, *extra: str) -> Any:
    return kestrel(
        "data", "download", "--exchange", "binance", "--symbols", "BTC/USDT",
        "--timeframe", "1h", "--since", "2020-12-01", "--catalog", str(catalog),
        "--local-url", exchange.urls["http"], "--page-limit", "50",
        "--retries", "2", "--retry-backoff", "0", *extra,
    )  # fmt: skip


def test_download_stores_every_closed_candle_and_not_the_open_one(
    kestrel: CliRunner, served: Any, tmp_path: Path
) -> None:
    result = download(kestrel, served, tmp_path)
    assert result.code == 0, result.err
    path = tmp_path / "binance" / "BTC_USDT" / "1h.parquet"
    assert f"BTC/USDT: 299 new, 299 stored in {path}" in result.out
    stored = pq.read_table(path).to_pandas()
    expected = pd.read_csv(BTC_CSV).iloc[:299]  # row 299 is in progress on the exchange
    assert list(stored.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert stored["timestamp"].tolist() == expected["timestamp"].tolist()
    for column in ("open", "high", "low", "close", "volume"):
        assert stored[column].tolist() == expected[column].tolist(), column

    again = download(kestrel, served, tmp_path)  # nothing new: resume finds nothing to add
    assert again.code == 0, again.err
    assert "BTC/USDT: 0 new, 299 stored" in again.out
    assert "resuming after the last stored candle 2020-12-13T10:00:00Z" in again.err


def test_interrupted_then_resumed_equals_uninterrupted_byte_for_byte(
    kestrel: CliRunner, served: Any, tmp_path: Path
) -> None:
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert download(kestrel, served, whole).code == 0
    # Pages 1 and 2 come through, then the exchange fails for longer than the retries last.
    served.inject("server_error", count=100, path="/api/v3/klines", after=2)
    result = download(kestrel, served, broken)
    assert result.code == 4  # the exchange stayed unavailable: try again later
    line = result.err.strip()
    assert "\n" not in line
    assert "ExchangeNotAvailable" in line
    assert "gave up after 2 attempts" in line
    assert "100 BTC/USDT row(s) are safely stored" in line
    assert "run the same command again to resume" in line
    partial = pq.read_table(broken / "binance" / "BTC_USDT" / "1h.parquet")
    assert partial.num_rows == 100  # the two pages fetched before the failure are kept
    served.faults.clear()
    resumed = download(kestrel, served, broken)
    assert resumed.code == 0, resumed.err
    assert "BTC/USDT: 199 new, 299 stored" in resumed.out
    name = Path("binance") / "BTC_USDT" / "1h.parquet"
    assert (broken / name).read_bytes() == (whole / name).read_bytes()


def test_transient_errors_are_retried_and_the_download_completes(
    kestrel: CliRunner, served: Any, tmp_path: Path
) -> None:
    served.inject("rate_limit", count=1, path="/api/v3/klines", after=1)
    result = download(kestrel, served, tmp_path)  # 2 attempts: the retry succeeds
    assert result.code == 0, result.err
    assert "BTC/USDT: 299 new" in result.out


def test_gaps_in_served_data_are_reported(
    kestrel: CliRunner, exchange_factory: Any, tmp_path: Path
) -> None:
    holes = exchange_factory(btc_rows(300, drop=(10, 11, 12, 60)), paused=True, history=10**6)
    result = download(kestrel, holes, tmp_path)
    assert result.code == 0, result.err
    assert "BTC/USDT: 295 new, 295 stored" in result.out
    assert "2 gap(s)" in result.out
    gaps = [line for line in result.err.splitlines() if line.startswith("gap:")]
    assert gaps == [
        "gap: BTC/USDT: 3 missing candle(s) between 2020-12-01T09:00:00Z and 2020-12-01T13:00:00Z",
        "gap: BTC/USDT: 1 missing candle(s) between 2020-12-03T11:00:00Z and 2020-12-03T13:00:00Z",
    ]


def test_until_is_exclusive_and_trades_are_stored(
    kestrel: CliRunner, exchange_factory: Any, tmp_path: Path
) -> None:
    small = exchange_factory(btc_rows(30), paused=True, history=10**6)
    result = download(kestrel, small, tmp_path, "--until", "2020-12-01T10:00:00", "--trades")
    assert result.code == 0, result.err
    candles = pq.read_table(tmp_path / "binance" / "BTC_USDT" / "1h.parquet").to_pandas()
    assert len(candles) == 10  # 00:00 .. 09:00 open; the 10:00 candle starts at --until
    trades = pq.read_table(tmp_path / "binance" / "BTC_USDT" / "trades.parquet").to_pandas()
    # One synthetic trade per bar open before --until, at the bar's open price.
    assert trades["timestamp"].tolist() == candles["timestamp"].tolist()
    assert trades["price"].tolist() == candles["open"].tolist()
    listing = kestrel("data", "list", "--catalog", str(tmp_path))
    assert listing.code == 0, listing.err
    assert "BTC/USDT" in listing.out
    assert "2020-12-01T00:00:00Z" in listing.out


def test_two_symbols_in_one_download(
    kestrel: CliRunner, exchange_factory: Any, tmp_path: Path
) -> None:
    eth = pd.read_csv(REPO / "data" / "binance_ETH_USDT_1h_20201201_20210717.csv").iloc[:40]
    both = exchange_factory(btc_rows(40), paused=True, history=10**6, extra={"ETH/USDT": eth})
    result = kestrel(
        "data", "download", "--exchange", "binance", "--symbols", "BTC/USDT,ETH/USDT",
        "--timeframe", "1h", "--since", "2020-12-01", "--catalog", str(tmp_path),
        "--local-url", both.urls["http"],
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "BTC/USDT: 39 new" in result.out
    assert "ETH/USDT: 39 new" in result.out
    stored = pq.read_table(tmp_path / "binance" / "ETH_USDT" / "1h.parquet").to_pandas()
    assert stored["close"].tolist() == eth["close"].iloc[:39].tolist()


def test_trades_resume_without_duplicates(
    kestrel: CliRunner, exchange_factory: Any, tmp_path: Path
) -> None:
    small = exchange_factory(btc_rows(30), paused=True, history=10**6)
    first = download(kestrel, small, tmp_path, "--until", "2020-12-01T05:00:00", "--trades")
    assert first.code == 0, first.err
    assert "BTC/USDT trades: 5 new, 5 stored" in first.out
    second = download(kestrel, small, tmp_path, "--until", "2020-12-01T10:00:00", "--trades")
    assert second.code == 0, second.err
    assert "BTC/USDT trades: 5 new, 10 stored" in second.out
    trades = pq.read_table(tmp_path / "binance" / "BTC_USDT" / "trades.parquet").to_pandas()
    assert trades["id"].tolist() == [str(i) for i in range(1, 11)]  # bar i's trade has id i+1


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--exchange", "binanse", "unknown exchange 'binanse' (did you mean 'binance'?)"),
        ("--timeframe", "1hr", "binance has no timeframe '1hr' (did you mean '1h'?)"),
        ("--symbols", "BTC/USDX", "binance has no symbol 'BTC/USDX' (did you mean 'BTC/USDT'?)"),
        ("--since", "yesterday", "--since"),
        ("--timeframe", "4h", 'refused: BadRequest: binance {"code":-1120'),  # not served
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    kestrel: CliRunner, served: Any, tmp_path: Path, option: str, value: str, expected: str
) -> None:
    args = {
        "--exchange": "binance",
        "--symbols": "BTC/USDT",
        "--timeframe": "1h",
        "--since": "2020-12-01",
    }
    args[option] = value
    flat = [item for pair in args.items() for item in pair]
    result = kestrel(
        "data", "download", *flat, "--catalog", str(tmp_path), "--local-url", served.urls["http"]
    )
    if option == "--timeframe" and value == "4h":  # the exchange, not ccxt, refuses it
        assert result.err.endswith('"msg":"Invalid interval."}\n')  # no "resume" advice
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert expected in result.err
    assert "Traceback" not in result.err
    assert not list(tmp_path.rglob("*.parquet"))


def test_the_catalog_backtests_like_the_same_bars_as_csv(
    kestrel: CliRunner, served: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = tmp_path / "data" / "catalog"
    assert download(kestrel, served, catalog).code == 0
    btc_rows(299).to_csv(tmp_path / "btc.csv", index=False)
    template = (Path(__file__).parents[2] / "configs" / "sma_cross_btc.toml").read_text()
    original = 'path = "data/binance_BTC_USDT_1h_20201201_20210717.csv"'
    assert original in template
    for name, path in (("csv", "btc.csv"), ("catalog", "catalog://binance/BTC/USDT/1h")):
        config = tmp_path / f"{name}.toml"
        config.write_text(template.replace(original, f'path = "{path}"'))
        result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / name))
        assert result.code == 0, result.err
    compared = [name for name in ARTIFACT_FILES if name != "config.toml"]  # it names the path
    for name in compared:
        csv_bytes = (tmp_path / "csv" / name).read_bytes()
        assert csv_bytes == (tmp_path / "catalog" / name).read_bytes(), name
    assert json.loads((tmp_path / "csv" / "metrics.json").read_text())["num_trades"] > 0


def test_until_before_since_is_refused(kestrel: CliRunner, served: Any, tmp_path: Path) -> None:
    result = download(kestrel, served, tmp_path, "--until", "2020-11-01")
    assert result.code == 2
    assert result.err == (
        "error: --until 2020-11-01 is not after --since 2020-12-01; nothing to download\n"
    )


def test_ctrl_c_is_one_line_saying_how_to_resume(
    kestrel: CliRunner, served: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.adapters.ccxt as adapter

    def interrupted(request: Any, progress: Any = None) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(adapter, "download", interrupted)
    result = download(kestrel, served, tmp_path)
    assert result.code == 130  # Ctrl-C is not an input to fix (engine.errors.Interrupted)
    assert result.err == (
        f"interrupted: download stopped; every page fetched so far is stored in {tmp_path}: "
        "run the same command again to resume\n"
    )


def test_trades_are_all_stored_when_an_hour_holds_more_than_a_page(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """5-minute bars serve 12 trades an hour; pages of 5 are full. After a full page the next
    one began with the page's last trade again, which, dropped as a duplicate, made that page
    look short: the download jumped to the next hour and lost the rest of this one, for good
    (a rerun resumes after the last stored trade). An audit: 1,422 of 2,521 trades stored."""
    from engine.adapters.local import LocalExchange
    from engine.feeds import load_bars
    from tests.contract.conftest import BTC, SECRET

    rows = pd.read_csv(REPO / "data" / "binance_BTC_USDT_5m_202105.csv").iloc[:80]
    frame = load_bars(rows, symbol="BTC/USDT", timeframe="5m")
    exchange = LocalExchange([frame], {"BTC/USDT": BTC}, secret=SECRET, paused=True, history=10**6)
    exchange.start()
    try:
        result = kestrel(
            "data", "download", "--exchange", "binance", "--symbols", "BTC/USDT",
            "--timeframe", "5m", "--since", "2021-05-01", "--until", "2021-05-01T06:00:00",
            "--catalog", str(tmp_path), "--local-url", exchange.urls["http"],
            "--page-limit", "5", "--trades", "--retries", "2", "--retry-backoff", "0",
        )  # fmt: skip
    finally:
        exchange.stop()
    assert result.code == 0, result.err
    candles = pq.read_table(tmp_path / "binance" / "BTC_USDT" / "5m.parquet").to_pandas()
    trades = pq.read_table(tmp_path / "binance" / "BTC_USDT" / "trades.parquet").to_pandas()
    assert len(candles) == 72  # 00:00 .. 05:55 open: six hours of twelve
    # one trade per bar opened before --until, at its open price: every one, once
    assert trades["timestamp"].tolist() == candles["timestamp"].tolist()
    assert trades["price"].tolist() == candles["open"].tolist()


def test_a_catalog_path_gives_its_timeframe(kestrel: CliRunner, tmp_path: Path) -> None:
    """A sparse 1h catalog file (most candles two hours apart: hours without trades are not
    served) was read as 2h bars: each bar became visible an hour late and its 18 missing
    hours were 0 gaps (an audit). The path's timeframe is the file's."""
    import pyarrow as pa

    rows = btc_rows(60)
    sparse = rows[(rows.index % 2 == 0) | (rows.index < 6)].reset_index(drop=True)
    folder = tmp_path / "data" / "catalog" / "binance" / "BTC_USDT"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(sparse, preserve_index=False), folder / "1h.parquet")
    template = (REPO / "configs" / "sma_cross_btc.toml").read_text()
    original = 'path = "data/binance_BTC_USDT_1h_20201201_20210717.csv"'
    config = tmp_path / "sparse.toml"
    config.write_text(template.replace(original, 'path = "catalog://binance/BTC/USDT/1h"'))
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert "missing 1h bars" in result.err  # the hours without a candle are gaps of a 1h file
    refused = kestrel(
        "backtest", str(config), "--no-db", "--out", str(tmp_path / "o2"),
        "--set", 'data.0.timeframe="4h"',
    )  # fmt: skip
    assert refused.code == 2
    assert "catalog file's timeframe is '1h'" in refused.err


def test_the_readmes_local_url_option_is_in_the_help(kestrel: CliRunner) -> None:
    # README documents `kestrel data download --local-url URL`; --help did not list it
    result = kestrel("data", "download", "--help")
    assert result.code == 0, result.err
    assert "--local-url" in result.out
