"""``kestrel live --replay ... --speed lockstep``: a practice run through the real command that
makes the backtest's fills and equity (README "Live trading", `engine.runtime.live.lockstep`).

In lockstep the in-process local exchange stays paused and the node moves it: to the next
bar close only once it has handled every bar closed so far (its ``on_bar`` ran, the orders
it placed were sent and answered, the bar's checkpoint committed). So a market order
decided on a bar fills at the next bar's open, the backtest's ``next_open`` rule, however
slow the machine — no test hand on the exchange, as fast as the node goes.

* Spot: ``configs/live_btc.toml`` (the SMA crossover, all in, on BTC/USDT hours to
  2020-12-15) with ``slippage_bps = 0`` (the local exchange fills at the open, without
  slippage). The node warms up on the first N bars (N: the strategy's need, in the ``start``
  record); the reference is the backtest over the same bars whose strategy decides nothing
  on the warm-up bars. Stored fills (side, quantity, price, fee) and the last equity row
  (cash, equity) are the backtest's; the exchange's USDT is the backtest's cash.
* Perpetual: `LongShort` on BTC/USDT hours as a USDⓈ-M perpetual at leverage 3 with
  8-hourly funding (the config of ``test_live_perpetual_cli``, replayed by ``--replay``):
  the backtest's fills, cash, equity and funding.
* Bad input: ``--speed lockstep`` without ``--replay`` (there is no exchange of ours to
  wait), and ``--speed lockstep`` for ``kestrel paper`` / ``exchange serve``: one line, exit 2.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine import load_config, run_backtest
from engine.feeds import BarFrame
from engine.model import OrderFilled, OrderSide
from engine.runtime.backtest import load_frames
from engine.strategy import make_strategy
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.test_live_perpetual_cli import ACCOUNT as PERP_ACCOUNT
from tests.integration.test_live_perpetual_cli import node_fills, write_config
from tests.integration.test_live_perpetual_parity import funding_file
from tests.integration.test_paper_warmup import SkipWarmup

KEY, SECRET = "lockstep-key-71c2", "lockstep-secret-9e04"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)


def spot_config(tmp_path: Path) -> Path:
    """Write configs/live_btc.toml with its data path absolute and no slippage."""
    text = (REPO / "configs" / "live_btc.toml").read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    assert "slippage_bps = 1.0" in text
    text = text.replace("slippage_bps = 1.0", "slippage_bps = 0.0")
    path = tmp_path / "live_btc.toml"
    path.write_text(text)
    return path


def lockstep(config: Path, tmp_path: Path, *more: str) -> list[str]:
    return [
        "live", str(config), "--live", "--replay", str(config), "--speed", "lockstep",
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"), *more,
    ]  # fmt: skip


def records(tmp_path: Path, kind: str) -> list[dict[str, object]]:
    lines = (tmp_path / "log" / "events.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def last_equity(db: Path, account: str) -> tuple[float, float, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT cash, equity, ts_ns FROM live_equity WHERE account = ? "
            "ORDER BY ts_ns DESC LIMIT 1",
            (account,),
        ).fetchone()
    return float(row[0]), float(row[1]), int(row[2])


def assert_fills(
    stored: list[tuple[str, float, float, float]], expected: Sequence[OrderFilled]
) -> None:
    assert [(side, quantity) for side, quantity, _, _ in stored] == [
        (f.side.value, f.quantity) for f in expected
    ]
    for (_, _, price, fee), want in zip(stored, expected, strict=True):
        assert price == pytest.approx(want.price, abs=1e-9)
        assert fee == pytest.approx(want.fee, abs=1e-8)


@pytest.mark.parametrize(
    "exits",
    [
        "",
        # the engine's exits: on spot one order list locking the coins; the strategy's own
        # market sell cancels them first (`Wallet.locking_exits`), as the backtest sells and
        # then cancels them (before, the sell was refused and a stop filled bars later)
        "\n[risk.exits]\nstop_loss_pct = 1.5\ntake_profit_pct = 2.5\n",
    ],
    ids=["plain", "risk-exits"],
)
def test_a_lockstep_practice_run_of_live_btc_makes_the_backtests_fills(
    kestrel: CliRunner, tmp_path: Path, keys: None, exits: str
) -> None:
    path = spot_config(tmp_path)
    path.write_text(path.read_text() + exits)
    result = kestrel(*lockstep(path, tmp_path))
    assert result.code == 0, result.err
    assert "stopped (end of the data)" in result.out
    (start,) = records(tmp_path, "start")
    warmup = start["warmup_bars"]["BTC/USDT"]  # type: ignore[index]
    assert warmup == 20  # the slow SMA's period

    config = load_config(path)
    (frame,) = load_frames(config)
    assert isinstance(frame, BarFrame)
    # every bar of the data, the last one too (the replay plays it to its close, as paper's)
    (stop,) = records(tmp_path, "stop")
    assert stop["bars"] == len(frame) - warmup  # every bar after the warm-up, once
    strategy = make_strategy(SkipWarmup, config.strategy.params)
    assert isinstance(strategy, SkipWarmup)
    strategy.until = int(frame.ts_close_ns[warmup - 1])
    backtest = run_backtest(config, frames=[frame], strategy=strategy)
    expected = backtest.recorder.fills
    assert len(expected) >= 6
    assert {f.side for f in expected} == {OrderSide.BUY, OrderSide.SELL}

    db = tmp_path / "k.db"
    assert_fills(node_fills(db, "live_btc"), expected)
    cash, equity, ts_ns = last_equity(db, "live_btc")
    assert ts_ns == int(frame.ts_close_ns[-1])
    assert cash == pytest.approx(backtest.portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(backtest.portfolio.equity, abs=1e-6)


def test_a_lockstep_practice_run_of_a_perpetual_makes_the_backtests_fills(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    from engine.feeds import load_bars
    from tests.contract.conftest import BTC_CSV
    from tests.integration.test_live_perpetual_cli import END, SYMBOL

    frame = load_bars(BTC_CSV, symbol=SYMBOL, end=END)
    path = write_config(tmp_path, funding_file(tmp_path), frame)
    result = kestrel(*lockstep(path, tmp_path))
    assert result.code == 0, result.err
    (start,) = records(tmp_path, "start")
    assert (start["perpetuals"], start["leverage"]) == ([SYMBOL], 3)
    assert start["warmup_bars"] == {}  # LongShort has no indicators

    backtest = run_backtest(load_config(path))  # flat from the second-to-last bar on
    expected = backtest.recorder.fills
    assert len(expected) >= 40
    assert backtest.portfolio.cash_flows != 0.0  # funding was paid and received
    db = tmp_path / "k.db"
    assert_fills(node_fills(db, PERP_ACCOUNT), expected)
    cash, equity, _ = last_equity(db, PERP_ACCOUNT)
    assert cash == pytest.approx(backtest.portfolio.cash, abs=1e-6)
    assert equity == pytest.approx(backtest.portfolio.equity, abs=1e-6)
    (stop,) = records(tmp_path, "stop")
    assert stop["funding_booked"] == pytest.approx(backtest.portfolio.cash_flows, abs=1e-9)


def test_lockstep_without_replay_is_one_line(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    path = spot_config(tmp_path)
    args = lockstep(path, tmp_path)
    at = args.index("--replay")
    del args[at : at + 2]
    result = kestrel(*args)
    assert_one_line_error(result, "--speed lockstep needs --replay")


@pytest.mark.parametrize("command", ["paper", "exchange"])
def test_lockstep_is_refused_where_no_node_sends_orders_to_the_exchange(
    kestrel: CliRunner, tmp_path: Path, command: str
) -> None:
    path = spot_config(tmp_path)
    if command == "paper":
        db = f"sqlite:///{tmp_path / 'k.db'}"
        args = ["paper", str(path), "--replay", str(path), "--speed", "lockstep", "--db", db,
                "--log-dir", str(tmp_path / "log")]  # fmt: skip
    else:
        args = ["exchange", "serve", str(path), "--speed", "lockstep"]
    result = kestrel(*args)
    assert_one_line_error(result, "--speed lockstep is for kestrel live --replay")
