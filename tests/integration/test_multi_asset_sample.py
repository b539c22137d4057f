"""The multi-asset sample: FX and crypto, two calendars, two currencies, one EUR account.

`configs/portfolio_crypto_fx.toml` holds USD/EUR (FX: no bars at weekends, quoted in the
account's EUR) and BTC/USD (crypto: every hour, quoted in USD, converted at the USD/EUR rate)
in a risk-parity portfolio. The run's cash and final equity are rebuilt here from
``fills.csv`` and the data files alone, with the rate rule the README states (the close of
the last rate bar closed at or before the fill), and FX is never traded while its market is
closed. The derived USD/EUR file is re-derived from EURUSD.csv, so its provenance note
cannot drift from the data.
"""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import load_config, run_backtest
from engine.feeds import BarFrame, load_bars
from tests.integration.conftest import REPO, CliRunner

CONFIG = "configs/portfolio_crypto_fx.toml"
HOUR_NS = 3_600 * 10**9


def test_usdeur_file_is_eurusd_inverted_and_rounded_to_5_decimals() -> None:
    source = pd.read_csv(REPO / "data" / "EURUSD.csv", dtype=str)
    derived = pd.read_csv(REPO / "data" / "USDEUR_derived_from_EURUSD.csv", dtype=str)
    step = Decimal("0.00001")

    def inverse(column: str) -> list[str]:
        return [str((1 / Decimal(v)).quantize(step, ROUND_HALF_EVEN)) for v in source[column]]

    assert derived["datetime"].tolist() == source.iloc[:, 0].tolist()
    assert derived["open"].tolist() == inverse("Open")
    assert derived["close"].tolist() == inverse("Close")
    assert derived["high"].tolist() == inverse("Low")  # 1/x turns the low into the high
    assert derived["low"].tolist() == inverse("High")
    assert derived["volume"].tolist() == source["Volume"].tolist()


def test_btc_sample_matches_its_provenance_hash() -> None:
    data = (REPO / "data" / "binance_BTC_USDT_1h_20170817_20180207.csv").read_bytes()
    note = (REPO / "data" / "PROVENANCE.md").read_text()
    assert hashlib.sha256(data).hexdigest() in note


def test_crypto_fx_portfolio_rebuilds_from_fills_and_respects_the_fx_calendar(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = kestrel("backtest", CONFIG, "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    metrics = json.loads((out / "metrics.json").read_text())
    fills = pd.read_csv(out / "fills.csv")
    usdeur = load_bars(REPO / "data" / "USDEUR_derived_from_EURUSD.csv", symbol="USD/EUR")
    btc = load_bars(REPO / "data" / "binance_BTC_USDT_1h_20170817_20180207.csv", symbol="BTC/USD")

    fill_ns = pd.DatetimeIndex(pd.to_datetime(fills["ts_event"])).as_unit("ns").asi8
    fx_closes = np.asarray(usdeur.ts_close_ns)
    fx_rates = np.asarray(usdeur.close)

    def rate_at(ts_ns: int) -> float:
        index = int(np.searchsorted(fx_closes, ts_ns, side="right")) - 1
        assert index >= 0
        return float(fx_rates[index])

    both = set(fills["symbol"])
    assert both == {"USD/EUR", "BTC/USD"}
    # FX trades only at the open of one of its own bars: never at a weekend
    fx_fill_ns = fill_ns[(fills["symbol"] == "USD/EUR").to_numpy()]
    assert set(fx_fill_ns.tolist()) <= set(np.asarray(usdeur.ts_open_ns).tolist())
    assert not any(pd.Timestamp(ts).day_of_week == 5 for ts in fx_fill_ns)

    cash, fees, held = 10_000.0, 0.0, {"USD/EUR": 0.0, "BTC/USD": 0.0}
    for row, ts in zip(fills.itertuples(), fill_ns, strict=True):
        rate = 1.0 if row.symbol == "USD/EUR" else rate_at(int(ts))
        signed = row.quantity if row.side == "buy" else -row.quantity
        cash -= (signed * row.price + row.fee) * rate
        fees += row.fee * rate
        held[row.symbol] += signed
    end_ns = int(metrics["end"])
    last_fx = float(usdeur.close[int(np.searchsorted(usdeur.ts_close_ns, end_ns, "right")) - 1])
    last_btc = float(btc.close[int(np.searchsorted(btc.ts_close_ns, end_ns, "right")) - 1])
    equity = cash + held["USD/EUR"] * last_fx + held["BTC/USD"] * last_btc * rate_at(end_ns)
    # equal to a hundredth of a cent: these sums add in another order than the engine's
    assert equity == pytest.approx(metrics["final_equity"], abs=1e-4)
    assert fees == pytest.approx(metrics["fees_paid"], abs=1e-4)
    assert metrics["open_positions"] == 2


def _frames_until(frames: list[BarFrame], until_ns: int) -> list[BarFrame]:
    return [f.head(int(np.searchsorted(f.ts_close_ns, until_ns, "right"))) for f in frames]


def test_cutting_the_data_changes_no_earlier_decision() -> None:
    loaded = load_config(REPO / CONFIG)
    full = run_backtest(loaded)
    # the config's data, as the config selects it
    frames = [
        load_bars(d.path, symbol=d.symbol, start=d.start, end=d.end, calendar=d.calendar)
        for d in loaded.data
    ]
    assert [len(f) for f in frames] == [2941, 4180]
    strip = {"status", "filled_quantity", "average_fill_price", "fees", "ts_last", "reason"}
    orders = list(full.recorder.orders.values())
    assert len(orders) == 20
    for cut in ("2017-11-01", "2018-01-10"):
        until_ns = int(pd.Timestamp(cut, tz="UTC").value)
        part = run_backtest(loaded, frames=_frames_until(frames, until_ns))
        decided = [o for o in part.recorder.orders.values() if int(o["ts_requested"]) <= until_ns]
        expected = [o for o in orders if int(o["ts_requested"]) <= until_ns]
        assert decided
        assert [{k: v for k, v in o.items() if k not in strip} for o in decided] == [
            {k: v for k, v in o.items() if k not in strip} for o in expected
        ]
