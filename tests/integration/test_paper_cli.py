"""``kestrel paper`` from the command line: bad input, graceful stops, resuming.

Bad input is one line and exit 2 (config, account, symbol), an unreachable exchange exit 4
after its retries, with nothing stored. Ctrl-C and SIGTERM finish the bar in hand, keep or
cancel the open orders per flag, release the account and exit 130 / 0.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from tests.contract.conftest import BTC, BTC_CSV
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

CONFIG = REPO / "configs" / "paper_btc.toml"
FAR_LIMIT = """
from engine.strategy import Strategy


class FarLimit(Strategy):
    def on_start(self, ctx):
        self.placed = False

    def on_bar(self, ctx, bar):
        if not self.placed:
            ctx.buy(bar.symbol, 0.01, limit_price=round(bar.close * 0.5, 2))
            self.placed = True
"""


def _config(tmp_path: Path, name: str = "paper.toml", **replace: str) -> Path:
    text = CONFIG.read_text().replace('path = "data/', f'path = "{REPO}/data/')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def _args(config: Path, tmp_path: Path, *more: str) -> list[str]:
    return [
        "paper", str(config), "--db", f"sqlite:///{tmp_path / 'k.db'}",
        "--log-dir", str(tmp_path / "log"), "--poll", "0.05", *more,
    ]  # fmt: skip


def test_an_unknown_config_key_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path, **{'name = "paper_btc"': 'name = "paper_btc"\nspeeed = 2'})
    result = kestrel(*_args(config, tmp_path, "--replay", str(config)))
    assert_one_line_error(result, "speeed")


def test_a_data_source_is_required(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel(*_args(_config(tmp_path), tmp_path))
    assert_one_line_error(result, "give one market data source")


def test_resume_of_a_missing_account_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path)
    args = _args(config, tmp_path, "--replay", str(config), "--speed", "max")
    assert kestrel(*args, "--max-bars", "3").code == 0
    result = kestrel(*args, "--account", "paper_btx", "--resume")
    assert_one_line_error(result, "no paper account 'paper_btx'", "did you mean 'paper_btc'")


def test_a_changed_config_refuses_to_resume(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert (
        kestrel(
            *_args(config, tmp_path, "--replay", str(config), "--speed", "max", "--max-bars", "3")
        ).code
        == 0
    )
    changed = _config(tmp_path, "changed.toml", **{"fast = 5": "fast = 6"})
    result = kestrel(*_args(changed, tmp_path, "--replay", str(changed), "--speed", "max"))
    assert_one_line_error(result, "'paper_btc' was started with a different config", "params")


def test_an_unreachable_exchange_is_exit_4_and_stores_nothing(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = _config(
        tmp_path, **{'symbol = "BTC/USDT"\nend': 'symbol = "BTC/USDT"\ntimeframe = "1h"\nend'}
    )
    args = _args(config, tmp_path, "--exchange-url", "http://127.0.0.1:9", "--retries", "2")
    result = kestrel(*args, "--retry-backoff", "0")
    assert_one_line_error(result, "gave up after 2 attempts", code=4)
    assert not (tmp_path / "k.db").exists()


def test_a_symbol_the_exchange_lacks_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    frame = load_bars(BTC_CSV, symbol="BTC/USDT", end="2020-12-03")
    with LocalExchange([frame], {"BTC/USDT": BTC}, paused=True, history=10) as exchange:
        config = _config(
            tmp_path,
            **{
                'symbol = "BTC/USDT"\nend': 'symbol = "BTC/USDC"\nend',
                'symbol = "BTC/USDT"\ntick': 'symbol = "BTC/USDC"\ntick',
            },
        )
        result = kestrel(*_args(config, tmp_path, "--exchange-url", exchange.urls["http"]))
    assert_one_line_error(result, "has no symbol 'BTC/USDC'")


def _start(config: Path, tmp_path: Path, *more: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "engine.cli", *_args(config, tmp_path, *more)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "paper account" in first, first + proc.communicate()[1]
    time.sleep(1.0)  # a few bars at --speed 7200 (two hourly bars a second)
    return proc


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_stops_gracefully(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    config = _config(tmp_path)
    proc = _start(config, tmp_path, "--replay", str(config), "--speed", "7200")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    reason = "SIGTERM" if sig == signal.SIGTERM else "Ctrl-C"
    assert f"stopped ({reason})" in out
    db = tmp_path / "k.db"
    assert _query(db, "SELECT writer FROM paper_accounts") == [(None,)]  # released
    bars = int(out.split(f"stopped ({reason}): ")[1].split(" new bars")[0])
    assert 0 < bars < 300
    assert _query(db, "SELECT count(*) FROM paper_journal") == [(bars,)]
    assert _query(db, "SELECT count(*) FROM equity") == [(bars,)]  # the last bar's too
    log = (tmp_path / "log" / "events.jsonl").read_text().splitlines()
    assert '"kind": "start"' in log[0]
    assert '"kind": "stop"' in log[-1]


@pytest.mark.parametrize("flag", ["--cancel-on-stop", "--keep-orders-on-stop"])
def test_open_orders_are_canceled_or_kept_at_a_stop(tmp_path: Path, flag: str) -> None:
    (tmp_path / "far_limit.py").write_text(FAR_LIMIT)
    config = _config(
        tmp_path,
        **{'"strategies.sma_cross:SmaCross"': '"far_limit.py:FarLimit"', "params = {": "# {"},
    )
    proc = _start(config, tmp_path, "--replay", str(config), "--speed", "7200", flag)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    db = tmp_path / "k.db"
    status = _query(db, "SELECT status FROM orders")
    kinds = [row[0] for row in _query(db, "SELECT kind FROM paper_journal ORDER BY seq")]
    if flag == "--cancel-on-stop":
        assert status == [("canceled",)]
        assert kinds[-1] == "cancel_open"
        assert "0 open orders" in out
    else:
        assert status == [("accepted",)]
        assert set(kinds) == {"bar"}
        assert "1 open orders" in out


BOOM = """
from engine.strategy import Strategy


class Boom(Strategy):
    def on_start(self, ctx):
        self.seen = 0

    def on_bar(self, ctx, bar):
        self.seen += 1
        if self.seen == 5:
            raise RuntimeError("boom at bar 5")
"""


def test_a_strategy_error_is_exit_3_and_again_on_resume(kestrel: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(BOOM)
    config = _config(
        tmp_path, **{'"strategies.sma_cross:SmaCross"': '"boom.py:Boom"', "params = {": "# {"}
    )
    args = _args(config, tmp_path, "--replay", str(config), "--speed", "max")
    assert_one_line_error(kestrel(*args), "boom at bar 5", code=3)
    db = tmp_path / "k.db"
    assert _query(db, "SELECT count(*) FROM paper_journal") == [(5,)]  # the fatal bar too
    assert_one_line_error(kestrel(*args, "--resume"), "boom at bar 5", code=3)
    assert _query(db, "SELECT count(*) FROM paper_journal") == [(5,)]


def test_a_replayed_data_file_is_the_configs_one_symbol(kestrel: CliRunner, tmp_path: Path) -> None:
    # its name says no symbol: it was "cannot tell the symbol …; pass --symbol BASE/QUOTE",
    # an option paper does not have; the config trades one symbol, so the bars are its
    bars = tmp_path / "hourly.csv"
    bars.write_bytes(BTC_CSV.read_bytes())
    config = _config(tmp_path)
    result = kestrel(
        *_args(config, tmp_path, "--replay", str(bars), "--speed", "max", "--max-bars", "3")
    )
    assert result.code == 0, result.err
    assert "--symbol" not in result.err


def test_a_replayed_data_file_for_several_symbols_names_them_not_an_option() -> None:
    from engine.cli_exchange import replay_source
    from engine.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        replay_source(str(REPO / "data" / "GOOG.csv"), None, "USDT", ["BTC/USDT", "ETH/USDT"])
    message = str(info.value)
    assert "BTC/USDT, ETH/USDT" in message
    assert "--replay" in message
    assert "--symbol" not in message
