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


def _assert_stops(server: subprocess.Popen[str]) -> str:
    """Assert ``server`` exits 0 within 30 s of its Ctrl-C (else abort it and show its
    threads); return the rest of its output.

    (It once outlived the 30 s: the suite ran as a background job, so the server inherited
    SIGINT ignored; `tests/conftest.py` now restores it. The stacks say where it waits.)
    """
    try:
        out, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGABRT)
        _, err = server.communicate(timeout=30)
        pytest.fail(f"exchange serve still ran 30 s after Ctrl-C; its threads:\n{err}")
    assert server.returncode == 0, err
    return out + err  # what it printed after its "stop with Ctrl-C" line


SECRET = "s3cr3t-of-the-test"  # must never be printed


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "engine.cli", "exchange", "serve"]
    command += ["configs/sma_cross_btc.toml", "--speed", "max", "--port", "0", *args]
    # faulthandler: if Ctrl-C does not stop it, SIGABRT prints where each thread is stuck
    environment = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1"}
    environment.pop("KESTREL_API_SECRET", None)
    return subprocess.Popen(
        command, cwd=REPO, env={**environment, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _until_ready(server: subprocess.Popen[str]) -> str:
    """Return what ``server`` prints up to its "stop with Ctrl-C" line."""
    assert server.stdout is not None
    lines: list[str] = []
    while not lines or lines[-1].strip() != "stop with Ctrl-C":
        lines.append(server.stdout.readline())
        assert lines[-1], "".join(lines)  # not ended before it was ready
    return "".join(lines)


def _client(base: str, secret: str) -> ccxt.binance:
    client = ccxt.binance({"apiKey": "k", "secret": secret})
    client.options.update(
        {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
    )
    client.urls["api"] = {"public": f"{base}/api/v3", "private": f"{base}/api/v3"}
    return client


def test_serve_a_config_then_stop_with_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _serve("--secret", SECRET)
    try:
        text = _until_ready(server)
        match = re.search(r"REST (http://127\.0\.0\.1:\d+)/api/v3", text.splitlines()[0])
        assert match, text
        base = match.group(1)
        assert SECRET not in text  # audit F9: the snippet printed it
        assert "KESTREL_API_SECRET=<the --secret you gave>" in text
        after = text.split("connect with ccxt (", 1)[1].split("\n", 1)[1]
        snippet = after.rsplit("stop with Ctrl-C", 1)[0]
        printed = io.StringIO()
        monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
        with contextlib.redirect_stdout(printed):
            exec(snippet, {})  # the snippet works as printed, the secret in the variable
        candles = ast.literal_eval(printed.getvalue())
        assert len(candles) == 3
        assert candles[-1][1:5] == [candles[-1][1]] * 4  # the last one is in progress
        client = _client(base, SECRET)
        client.load_markets()
        assert client.fetch_balance()["USDT"]["free"] == 10000.0  # [account] of the config
        min_cost = client.market("BTC/USDT")["limits"]["cost"]["min"]
        assert min_cost == 10.0  # [[instruments]] min_notional of the config
    finally:
        server.send_signal(signal.SIGINT)
        assert SECRET not in _assert_stops(server)


def test_serve_takes_its_secret_from_the_variable_the_node_reads() -> None:
    # so it need not be on the command line (where ps shows it) and a node started with
    # the same KESTREL_API_SECRET signs with it
    server = _serve(env={"KESTREL_API_SECRET": SECRET})
    try:
        text = _until_ready(server)
        assert SECRET not in text
        assert "KESTREL_API_SECRET (the one this server was started with)" in text
        base = re.findall(r"REST (http://127\.0\.0\.1:\d+)/api/v3", text)[0]
        assert _client(base, SECRET).fetch_balance()["USDT"]["free"] == 10000.0
        with pytest.raises(ccxt.AuthenticationError):
            _client(base, "local-secret").fetch_balance()
    finally:
        server.send_signal(signal.SIGINT)
        _assert_stops(server)


def test_without_a_secret_the_snippet_names_the_default_and_fees_in_the_asset_received() -> None:
    server = _serve("--fee-asset", "received")
    try:
        text = _until_ready(server)
        assert "KESTREL_API_SECRET=local-secret (the default --secret)" in text
        base = re.findall(r"REST (http://127\.0\.0\.1:\d+)/api/v3", text)[0]
        client = _client(base, "local-secret")
        client.load_markets()
        bought = client.create_order("BTC/USDT", "market", "buy", 0.01)
        assert bought["fee"]["currency"] == "BTC"  # Binance's rule, not the quote asset
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
        (
            ["configs/sma_cross_btc.toml", "--fee-asset", "bnb"],
            "--fee-asset must be quote or received, got 'bnb'",
        ),
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
