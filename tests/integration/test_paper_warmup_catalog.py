"""Paper warm-up from the config: ``[paper] warmup_bars`` and a ``catalog://`` data path.

The account's config names a catalog file holding the demo bars up to 10 bars before the
account's start (the local exchange, replaying the demo bars, starts 100 bars in). The
warm-up must take the catalog's bars (their volumes are marked +1 to tell them apart) and
fetch only the 10 missing ones over REST; the first live decision (the SMA(10/30) cross on
live bar 9, which cold indicators cannot see) and every later one must equal a backtest's.
The flag overrides the key; a misspelt key is refused with a "did you mean".
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa

from engine import load_config, run_backtest
from engine.feeds import BarFrame
from engine.feeds.catalog import CANDLE_SCHEMA, catalog_path, write_table
from engine.runtime.backtest import load_frames
from engine.strategy import make_strategy
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.test_paper_warmup import SkipWarmup

WARMUP = 100
IN_CATALOG = 90  # the catalog ends 10 bars before the account's start


def _rows(db: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, args).fetchall()]


def _setup(tmp_path: Path, paper_section: str) -> tuple[Path, Path, BarFrame]:
    """Write the replay config, the catalog file and the account's config; return them."""
    text = (REPO / "configs" / "paper_btc.toml").read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    text = text.replace("fast = 5, slow = 20", "fast = 10, slow = 30")
    replay = tmp_path / "replay.toml"
    replay.write_text(text)
    (frame,) = load_frames(load_config(replay))
    assert isinstance(frame, BarFrame)
    head = frame.head(IN_CATALOG)
    table = pa.table(
        {
            "timestamp": (head.ts_open_ns // 1_000_000).astype("int64"),
            "open": head.open,
            "high": head.high,
            "low": head.low,
            "close": head.close,
            "volume": head.volume + 1.0,  # the catalog's own mark
        },
        schema=CANDLE_SCHEMA,
    )
    path = catalog_path(tmp_path / "data" / "catalog", "local", "BTC/USDT", "1h")
    path.parent.mkdir(parents=True)
    write_table(path, table)
    account_text = text.replace(
        f'path = "{REPO}/data/binance_BTC_USDT_1h_20201201_20210717.csv"',
        'path = "catalog://local/BTC/USDT/1h"\ntimeframe = "1h"',
    ).replace('end = "2020-12-15"\n', "")
    account_text += f"\n[paper]\n{paper_section}\n"
    config = tmp_path / "paper.toml"
    config.write_text(account_text)
    return config, replay, frame  # the replay plays its last bar to its close too


def _args(config: Path, replay: Path, db: Path, *more: str) -> list[str]:
    return [
        "paper", str(config), "--replay", str(replay), "--speed", "max", "--poll", "0.05",
        "--db", f"sqlite:///{db}", "--log-dir", str(config.parent / "log"), *more,
    ]  # fmt: skip


def test_the_config_key_warms_from_the_catalog_topped_up_over_rest(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config, replay, frame = _setup(tmp_path, f"warmup_bars = {WARMUP}")
    db = tmp_path / "k.db"
    result = kestrel(*_args(config, replay, db))
    assert result.code == 0, result.err

    journal = _rows(
        db, "SELECT kind, ts_event, payload FROM paper_journal WHERE account = ? ORDER BY seq",
        "paper_btc",
    )  # fmt: skip
    kinds = [row["kind"] for row in journal]
    assert kinds == ["warmup"] * WARMUP + ["bar"] * (len(frame) - WARMUP)
    assert [row["ts_event"] for row in journal] == frame.ts_close_ns.tolist()
    volumes = [json.loads(row["payload"])["volume"] for row in journal[:WARMUP]]
    assert volumes[:IN_CATALOG] == (frame.volume[:IN_CATALOG] + 1.0).tolist()  # catalog
    assert volumes[IN_CATALOG:] == frame.volume[IN_CATALOG:WARMUP].tolist()  # REST top-up

    until = int(frame.ts_close_ns[WARMUP - 1])
    strategy = make_strategy(SkipWarmup, load_config(replay).strategy.params)
    assert isinstance(strategy, SkipWarmup)
    strategy.until = until
    backtest = run_backtest(load_config(replay), frames=[frame], strategy=strategy)
    expected = list(backtest.recorder.orders.values())
    assert expected[0]["ts_requested"] == int(frame.ts_close_ns[WARMUP + 8])  # live bar 9
    orders = _rows(db, "SELECT * FROM orders WHERE run_id = 'paper-paper_btc'")
    stored = {r["order_id"]: {k: v for k, v in r.items() if k != "run_id"} for r in orders}
    assert stored == {row["order_id"]: row for row in expected}
    fills = _rows(db, "SELECT * FROM fills WHERE run_id = 'paper-paper_btc' ORDER BY ts_event")
    assert [(f["fill_id"], f["quantity"], f["price"], f["fee"]) for f in fills] == [
        (f.fill_id, f.quantity, f.price, f.fee) for f in backtest.recorder.fills
    ]


def test_the_flag_overrides_the_config_key(kestrel: CliRunner, tmp_path: Path) -> None:
    config, replay, _frame = _setup(tmp_path, "warmup_bars = 500")
    db = tmp_path / "k.db"
    result = kestrel(*_args(config, replay, db, "--warmup-bars", "0", "--max-bars", "3"))
    assert result.code == 0, result.err
    kinds = _rows(db, "SELECT kind FROM paper_journal WHERE account = 'paper_btc'")
    assert [row["kind"] for row in kinds] == ["bar"] * 3
    # the stored account is titled as one, not as a backtest
    shown = kestrel("runs", "show", "paper-paper_btc", "--db", f"sqlite:///{db}")
    assert "Paper account paper-paper_btc" in shown.out, shown.err


def test_a_misspelt_paper_key_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    config, replay, _ = _setup(tmp_path, "warmup_bar = 5")
    result = kestrel(*_args(config, replay, tmp_path / "k.db"))
    assert_one_line_error(result, "paper.warmup_bar", "did you mean 'warmup_bars'")
