"""``kestrel exchange serve``: prints its URLs and a ccxt snippet, serves, stops on Ctrl-C."""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import ccxt
import pytest

from tests.integration.conftest import CliRunner

REPO = Path(__file__).resolve().parents[2]


def _assert_stops(server: subprocess.Popen[str]) -> None:
    """Assert ``server`` exits 0 within 30 s of its Ctrl-C; else abort it and show its threads.

    (It once outlived the 30 s: the suite ran as a background job, so the server inherited
    SIGINT ignored; `tests/conftest.py` now restores it. The stacks say where it waits.)
    """
    try:
        _, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGABRT)
        _, err = server.communicate(timeout=30)
        pytest.fail(f"exchange serve still ran 30 s after Ctrl-C; its threads:\n{err}")
    assert server.returncode == 0, err


def test_serve_a_config_then_stop_with_ctrl_c() -> None:
    command = [sys.executable, "-m", "engine.cli", "exchange", "serve"]
    command += ["configs/sma_cross_btc.toml", "--speed", "max", "--port", "0", "--secret", "s"]
    # faulthandler: if Ctrl-C does not stop it, SIGABRT prints where each thread is stuck
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"}
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"REST (http://127\.0\.0\.1:\d+)/api/v3", first)
        assert match, first
        base = match.group(1)
        lines: list[str] = []
        while not lines or lines[-1].strip() != "stop with Ctrl-C":
            lines.append(server.stdout.readline())
        text = "".join(lines)
        snippet = text.split("connect with ccxt:\n", 1)[1].rsplit("stop with Ctrl-C", 1)[0]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(snippet, {})  # the snippet works as printed
        candles = ast.literal_eval(printed.getvalue())
        assert len(candles) == 3
        assert candles[-1][1:5] == [candles[-1][1]] * 4  # the last one is in progress
        client = ccxt.binance({"apiKey": "k", "secret": "s"})
        client.options.update(
            {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
        )
        client.urls["api"] = {"public": f"{base}/api/v3", "private": f"{base}/api/v3"}
        client.load_markets()
        assert client.fetch_balance()["USDT"]["free"] == 10000.0  # [account] of the config
        min_cost = client.market("BTC/USDT")["limits"]["cost"]["min"]
        assert min_cost == 10.0  # [[instruments]] min_notional of the config
    finally:
        server.send_signal(signal.SIGINT)
        _assert_stops(server)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope.csv"], "replay source 'nope.csv' does not exist"),
        (["data/GOOG.csv"], "cannot tell the symbol of 'data/GOOG.csv'; pass --symbol"),
        (["configs/sma_cross_btc.toml", "--speed", "fast"], "--speed must be a number or max"),
        (["configs/sma_cross_btc.toml", "--speed", "-1"], "speed must be > 0 or max"),
        # live_btc's data is 336 hours: the default --history 500 left a replay with no bar
        # to close, and the server waited silently for ever
        (
            ["configs/live_btc.toml"],
            "--history 500 leaves nothing to replay: BTC/USDT has 336 bars",
        ),
        (["configs/live_btc.toml", "--history", "-1"], "--history must be >= 0"),
    ],
)
def test_bad_serve_input_is_one_line_and_exit_2(
    kestrel: CliRunner, args: list[str], expected: str
) -> None:
    result = kestrel("exchange", "serve", *args, "--port", "0")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert expected in result.err


def test_the_cli_does_not_import_ccxt_or_aiohttp_until_a_command_needs_them() -> None:
    probe = "import sys, engine.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    probe += "('ccxt', 'aiohttp') or m == 'pyarrow.parquet'))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
