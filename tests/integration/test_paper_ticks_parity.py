"""Paper on live trades or quotes (websockets, the local exchange) decides as a backtest.

The local exchange replays a week of BTC/USDT and ETH/USDT hourly bars faster than real
time (an hour each 0.1 s), prints one trade per bar at its open (the only price the replay
knows then) and moves its synthetic book (best ask at that open). The account's config
trades BTC/USDT on bars and ETH/USDT on trades (``kind = "trades"``) or on quotes
(``kind = "quotes"``), so ``kestrel paper`` subscribes to both streams over websockets,
journals the bars and ticks it is given and matches orders on them. A backtest of the same
config, over the same bars and those ticks written as the config's ticks file, must
decide the same orders and reach the same fills and equity.

The journal must hold exactly what was served: every trade in order (the replay's end is
a race by nature: its last trade prints as the data ends, so that one may be missing), and
quotes whose best ask is the open of the bar that opened at their time. A tick stream that
subscribes late (as on a loaded machine) must not lose the first ticks: the replay starts
once the account's streams listen (each test delays its tick subscription by 10 bars).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine import load_config, run_backtest
from engine.adapters.ccxt.watch import TickStreams
from engine.feeds import BarFrame
from engine.runtime.backtest import load_frames
from tests.integration.conftest import REPO, CliRunner

DATA = REPO / "data"

STRATEGY = '''
from engine.strategy import Strategy


class BarsAndTicks(Strategy):
    """SMA cross on BTC/USDT bars; on ETH/USDT ticks, limits near the price and exits."""

    def on_start(self, ctx):
        self.fast = ctx.indicator("sma", "BTC/USDT", timeperiod=5)
        self.slow = ctx.indicator("sma", "BTC/USDT", timeperiod=20)
        self.trades = 0

    def on_bar(self, ctx, bar):
        if len(self.slow) < 21:
            return
        if self.fast[-1] > self.slow[-1] and self.fast[-2] <= self.slow[-2]:
            ctx.order_target_percent("BTC/USDT", 0.3)
        elif self.fast[-1] < self.slow[-1] and self.fast[-2] >= self.slow[-2]:
            ctx.close_position("BTC/USDT")

    def on_trade(self, ctx, tick):
        self._decide(ctx, tick.price)

    def on_quote(self, ctx, quote):
        self._decide(ctx, quote.ask_price)

    def _decide(self, ctx, price):
        self.trades += 1
        if self.trades % 4 == 1:
            ctx.buy("ETH/USDT", 0.5, limit_price=round(price * 0.999, 2))
        elif self.trades % 4 == 3 and ctx.position("ETH/USDT") > 0:
            ctx.close_position("ETH/USDT")
'''

COMMON = """
[account]
initial_cash = 10000.0
currency = "USDT"

[[instruments]]
symbol = "BTC/USDT"
tick_size = 0.01
lot_size = 0.00001

[[instruments]]
symbol = "ETH/USDT"
tick_size = 0.01
lot_size = 0.0001

[execution]
fee_rate = 0.001
"""


def _subscribe_late(monkeypatch: pytest.MonkeyPatch, stream: str) -> None:
    """Delay ``TickStreams.<stream>``'s subscription by 1 s (10 bars at --speed 36000)."""
    original = getattr(TickStreams, stream)

    async def late(self: TickStreams, symbol: str) -> None:
        await asyncio.sleep(1.0)
        await original(self, symbol)

    monkeypatch.setattr(TickStreams, stream, late)


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql).fetchall()]


def _write_trades(path: Path, trades: list[tuple[int, float, float, str]]) -> None:
    lines = ["timestamp,price,amount,side,id"]
    lines += [f"{ts // 1_000_000},{price!r},{size!r},buy,{tid}" for ts, price, size, tid in trades]
    path.write_text("\n".join(lines) + "\n")


def _write_quotes(path: Path, quotes: list[dict[str, Any]]) -> None:
    lines = ["timestamp,bid,ask,bid_size,ask_size"]
    lines += [
        f"{q['ts'] // 1_000_000},{q['bid_price']!r},{q['ask_price']!r},{q['bid_size']!r},"
        f"{q['ask_size']!r}"
        for q in quotes
    ]
    path.write_text("\n".join(lines) + "\n")


def _paper(
    kestrel: CliRunner, tmp_path: Path, kind: str
) -> tuple[Path, Path, BarFrame, BarFrame, list[dict[str, Any]]]:
    """Run the account trading ETH/USDT on ``kind``; return config, db, frames, journal."""
    btc = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"
    eth = DATA / "binance_ETH_USDT_1h_20201201_20210717.csv"
    replay = tmp_path / "replay.toml"
    replay.write_text(
        f'[run]\nname = "replay"\n[strategy]\npath = "x:Y"\n{COMMON}'
        f'[[data]]\npath = "{btc}"\nsymbol = "BTC/USDT"\nend = "2020-12-08"\n'
        f'[[data]]\npath = "{eth}"\nsymbol = "ETH/USDT"\nend = "2020-12-08"\n'
    )
    (tmp_path / "bars_and_ticks.py").write_text(STRATEGY)
    ticks_file = tmp_path / f"eth_{kind}.csv"
    config_path = tmp_path / "ticks.toml"
    config_path.write_text(
        f'[run]\nname = "ticks"\n[strategy]\npath = "bars_and_ticks.py:BarsAndTicks"\n'
        f'{COMMON}[[data]]\npath = "{btc}"\nsymbol = "BTC/USDT"\nend = "2020-12-08"\n'
        f'[[data]]\npath = "{ticks_file}"\nsymbol = "ETH/USDT"\nkind = "{kind}"\n'
    )
    db = tmp_path / "k.db"
    result = kestrel(
        "paper", str(config_path), "--replay", str(replay), "--speed", "36000",
        "--db", f"sqlite:///{db}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "end of the replay" in result.out
    assert "trades/quotes" in result.out

    btc_frame, eth_frame = load_frames(load_config(replay))
    assert isinstance(btc_frame, BarFrame)
    assert isinstance(eth_frame, BarFrame)
    journal = _rows(db, "SELECT * FROM paper_journal WHERE account = 'ticks' ORDER BY seq")
    bars = [row for row in journal if row["kind"] == "bar"]
    assert [row["symbol"] for row in bars] == ["BTC/USDT"] * len(bars)  # ETH bars hidden
    assert [row["ts_event"] for row in bars] == btc_frame.ts_close_ns.tolist()
    assert {row["kind"] for row in journal} == {"bar", kind[:-1]}
    stamps = [row["ts_event"] for row in journal]
    assert stamps == sorted(stamps)
    return config_path, db, btc_frame, eth_frame, journal


def _assert_same_decisions(db: Path, config_path: Path, btc_frame: BarFrame) -> None:
    """Backtest the config over the same bars and ticks; compare with the account."""
    config = load_config(config_path)
    frames = load_frames(config)
    frames[0] = btc_frame
    backtest = run_backtest(config, frames=frames)
    orders = _rows(db, "SELECT * FROM orders WHERE run_id = 'paper-ticks'")
    expected_orders = list(backtest.recorder.orders.values())
    assert len(expected_orders) >= 20
    assert any(row["symbol"] == "BTC/USDT" for row in expected_orders)
    stored = {r["order_id"]: {k: v for k, v in r.items() if k != "run_id"} for r in orders}
    assert stored == {row["order_id"]: row for row in expected_orders}
    fills = _rows(db, "SELECT * FROM fills WHERE run_id = 'paper-ticks' ORDER BY ts_event")
    assert len(fills) >= 10
    assert [(f["fill_id"], f["quantity"], f["price"], f["fee"]) for f in fills] == [
        (f.fill_id, f.quantity, f.price, f.fee) for f in backtest.recorder.fills
    ]
    run = _rows(db, "SELECT * FROM runs WHERE run_id = 'paper-ticks'")[0]
    assert run["final_equity"] == pytest.approx(backtest.metrics["final_equity"], rel=1e-12)


@pytest.mark.slow
def test_paper_on_live_trades_matches_the_backtest(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe_late(monkeypatch, "trades")
    config_path, db, btc_frame, eth_frame, journal = _paper(kestrel, tmp_path, "trades")
    # served: one trade per bar opening after the start (bar 0 had opened then)
    served = [
        (int(ts), price, size, str(i + 1))
        for i, (ts, price, size) in enumerate(
            zip(eth_frame.ts_open_ns.tolist(), eth_frame.open.tolist(),
                eth_frame.volume.tolist(), strict=True)
        )
    ][1:]  # fmt: skip
    seen = [
        (row["ts_event"], json.loads(row["payload"])["price"],
         json.loads(row["payload"])["size"], json.loads(row["payload"])["trade_id"])
        for row in journal if row["kind"] == "trade"
    ]  # fmt: skip
    assert len(seen) >= len(served) - 1  # the last one races the end of the data
    assert seen == served[: len(seen)]
    _write_trades(tmp_path / "eth_trades.csv", seen)
    _assert_same_decisions(db, config_path, btc_frame)


@pytest.mark.slow
def test_paper_on_live_quotes_matches_the_backtest(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _subscribe_late(monkeypatch, "quotes")
    config_path, db, btc_frame, eth_frame, journal = _paper(kestrel, tmp_path, "quotes")
    opens = dict(zip(eth_frame.ts_open_ns.tolist(), eth_frame.open.tolist(), strict=True))
    # the replay plays its last bar to its close: the book moves there at that bar's close
    opens[int(eth_frame.ts_close_ns[-1])] = float(eth_frame.close[-1])
    quotes = [
        {"ts": row["ts_event"], **json.loads(row["payload"])}
        for row in journal
        if row["kind"] == "quote"
    ]
    # One per bar open after the start, in order. A quote is a state, not an event: ccxt
    # applies every depth diff that came before the watch resumes, so a reader that falls
    # behind (at the start, the diffs before its REST snapshot; under a loaded machine, a
    # pause of one bar's 0.1 s) sees only the newest book. So a few opens may be skipped,
    # never reordered or repeated; the backtest below replays exactly the quotes seen.
    stamps = list(opens)
    seen = [q["ts"] for q in quotes]
    first = stamps.index(seen[0])
    assert seen == sorted(set(seen))  # in order, no duplicate
    assert set(seen) <= set(stamps[first:])
    assert first <= 4
    assert seen[-1] >= stamps[-2]  # to the end (the last open races the end of the data)
    assert len(seen) >= 0.95 * (len(stamps) - first)  # collapses are rare
    for quote in quotes:  # the local exchange's book: best ask at the bar's open
        assert quote["ask_price"] == opens[quote["ts"]]
        assert quote["bid_price"] < quote["ask_price"]
    _write_quotes(tmp_path / "eth_quotes.csv", quotes)
    _assert_same_decisions(db, config_path, btc_frame)
