"""``kestrel live`` from the command line: the two locks, keys from the environment or the OS
keyring and never written anywhere, a practice run on the in-process local exchange, the kill
switch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.cli_live import KILL_FILE
from tests.conftest import MemoryKeyring
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

CONFIG = REPO / "configs" / "paper_btc.toml"
KEY, SECRET = "key-5c1f9e", "secret-8d2a7b"
LIVE = '[live]\nmode = "live"\n\n[run]'


def _config(tmp_path: Path, live: bool = True) -> Path:
    text = CONFIG.read_text().replace('path = "data/', f'path = "{REPO}/data/')
    # Half the equity: an all-in market buy sized at the decision's close is refused for
    # funds when the next open is higher (the exchange needs price x quantity + fee).
    text = text.replace("slow = 20 }", "slow = 20, target_percent = 0.5 }")
    if live:
        text = text.replace("[run]", LIVE, 1)
    path = tmp_path / "live.toml"
    path.write_text(text)
    return path


def _args(config: Path, tmp_path: Path, *more: str) -> list[str]:
    return [
        "live", str(config), "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir",
        str(tmp_path / "log"), "--replay", str(config), "--speed", "max", *more,
    ]  # fmt: skip


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)


@pytest.fixture(params=["environment", "keyring"])
def keys_anywhere(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    """The keys in the environment, or only in the OS keyring under the config's exchange."""
    if request.param == "environment":
        request.getfixturevalue("keys")
        return
    monkeypatch.delenv("KESTREL_API_KEY", raising=False)
    monkeypatch.delenv("KESTREL_API_SECRET", raising=False)
    memory_keyring.entries[("kestrel", "binance:api_key")] = KEY  # [live] exchange's default
    memory_keyring.entries[("kestrel", "binance:secret")] = SECRET


def test_without_the_flag_it_refuses(kestrel: CliRunner, tmp_path: Path, keys: None) -> None:
    result = kestrel(*[a for a in _args(_config(tmp_path), tmp_path) if a != "--live"])
    assert_one_line_error(result, "missing: the --live flag")


def test_without_live_mode_in_the_config_it_refuses(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    result = kestrel(*_args(_config(tmp_path, live=False), tmp_path, "--live"))
    assert_one_line_error(result, 'missing: [live] mode = "live" in the config')


@pytest.mark.parametrize(
    ("keyring", "fragment"),
    [
        ("memory_keyring", "or store them in the OS keyring with `kestrel keys set binance`"),
        ("no_keyring", "no OS keyring is available on this machine"),
    ],
)
def test_without_keys_it_refuses(
    kestrel: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    keyring: str,
    fragment: str,
) -> None:
    request.getfixturevalue(keyring)  # an empty keyring, or none at all
    monkeypatch.delenv("KESTREL_API_KEY", raising=False)
    monkeypatch.delenv("KESTREL_API_SECRET", raising=False)
    result = kestrel(*_args(_config(tmp_path), tmp_path, "--live"))
    assert_one_line_error(result, "set KESTREL_API_KEY and KESTREL_API_SECRET", fragment)


def test_a_practice_run_trades_and_never_writes_the_keys(
    kestrel: CliRunner, tmp_path: Path, keys_anywhere: None
) -> None:
    result = kestrel(*_args(_config(tmp_path), tmp_path, "--live", "--max-bars", "150"))
    assert result.code == 0, result.err
    assert "stopped (--max-bars 150): 150 bars" in result.out
    db = sqlite3.connect(tmp_path / "k.db")
    rows = db.execute(
        "SELECT status, filled_quantity, quantity FROM live_orders WHERE account = 'paper_btc'"
    ).fetchall()
    fills = db.execute("SELECT sum(quantity) FROM live_fills WHERE client_id != 'baseline'")
    filled = fills.fetchone()[0]
    db.close()
    assert rows, "the SMA crossover trades in 150 hourly bars"
    assert {status for status, _, _ in rows} == {"filled"}
    assert filled == pytest.approx(sum(f for _, f, _ in rows))
    log = (tmp_path / "log" / "events.jsonl").read_text()
    assert '"kind": "start"' in log
    for path in [tmp_path / "log" / "events.jsonl", *tmp_path.glob("k.db*")]:
        raw = path.read_bytes()
        assert KEY.encode() not in raw, path
        assert SECRET.encode() not in raw, path
    assert KEY not in result.out + result.err
    assert SECRET not in result.out + result.err


def test_a_kill_request_flattens_and_halts(kestrel: CliRunner, tmp_path: Path, keys: None) -> None:
    config = _config(tmp_path)
    missing = kestrel("live-kill", "paper_btc", "--log-dir", str(tmp_path / "log"))
    assert_one_line_error(missing, "no live account 'paper_btc'")
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "events.jsonl").write_text("")
    asked = kestrel("live-kill", "paper_btc", "--log-dir", str(tmp_path / "log"))
    assert asked.code == 0
    assert (tmp_path / "log" / KILL_FILE).exists()
    result = kestrel(*_args(config, tmp_path, "--live", "--max-bars", "5"))
    assert result.code == 0, result.err
    assert "killed: orders canceled, positions sold, halted" in result.out
    assert not (tmp_path / "log" / KILL_FILE).exists()


def test_live_kill_given_a_config_says_it_wants_the_account(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    result = kestrel("live-kill", "configs/live_btc.toml")
    assert_one_line_error(
        result,
        "account name 'configs/live_btc.toml' from live-kill's ACCOUNT argument",
        "that is a config file: give the account's name",
        "e.g. 'live_btc', and the config with --config",
    )


@pytest.mark.parametrize("command", ["live", "paper"])
@pytest.mark.parametrize(("speed", "fragment"), [
    ("fast", "--speed must be a number or max, got 'fast'"),
    ("-5", "speed must be > 0 or max"),
    ("nan", "speed must be > 0 or max"),
    # 0 meant max and 0.0 was refused; inf and 1e400 (inf) were taken (streaming audit F9)
    ("0", "--speed must be a positive number of replay seconds per second or max, got '0'"),
    ("0.0", "--speed must be a positive number of replay seconds per second or max, got '0.0'"),
    ("inf", "--speed must be a positive number of replay seconds per second or max, got 'inf'"),
    ("1e400", "--speed must be a positive number of replay seconds per second or max"),
])  # fmt: skip
def test_a_bad_replay_speed_is_one_line(
    kestrel: CliRunner, tmp_path: Path, keys: None, command: str, speed: str, fragment: str
) -> None:
    args = _args(_config(tmp_path), tmp_path, "--live")
    args[args.index("--speed") + 1] = speed
    if command == "paper":  # the same option, parsed by the same code
        args = ["paper", *args[1:-1]]
    else:  # live also takes lockstep (tests/integration/test_live_lockstep_cli.py)
        fragment = fragment.replace("a number or max", "a number, max or lockstep")
    result = kestrel(*args)
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize("account", ["../outside", "a/b", ".hidden", ""])
@pytest.mark.parametrize("command", ["live", "paper", "live-report"])
def test_an_account_name_that_is_not_one_folder_is_refused(
    kestrel: CliRunner, tmp_path: Path, keys: None, command: str, account: str
) -> None:
    """An account names a folder under live/ or paper/: it may not climb out of it."""
    config = _config(tmp_path)
    if command == "live-report":
        args = ["live-report", str(config), "--account", account]
    else:
        args = [*_args(config, tmp_path, "--live", "--account", account)]
        if command == "paper":
            args = ["paper", *[a for a in args[1:] if a != "--live"]]
    result = kestrel(*args)
    assert_one_line_error(result, "account name")
    assert not (tmp_path / "outside").exists()
    assert not (REPO / "outside").exists()


def test_a_config_run_name_that_climbs_out_is_refused_as_an_account(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    config = _config(tmp_path)
    config.write_text(config.read_text().replace('name = "paper_btc"', 'name = "../up"'))
    result = kestrel(*_args(config, tmp_path, "--live"))
    assert_one_line_error(result, "account name", "--account")


def test_spot_symbols_and_perpetuals_in_one_config_are_refused(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    # A funding series makes BTC/USDT a perpetual (kestrel live trades it:
    # tests/integration/test_live_perpetual_cli.py); ETH/USDT without one stays spot, and
    # Binance keeps the two wallets apart: one node per wallet.
    rates = tmp_path / "funding.csv"
    rates.write_text("timestamp,rate\n2020-12-01T08:00:00Z,0.0001\n")
    config = _config(tmp_path)
    eth = f"{REPO}/data/binance_ETH_USDT_1h_20201201_20210717.csv"
    text = config.read_text().replace(
        'end = "2020-12-15"',
        f'end = "2020-12-15"\nfunding = "{rates}"\n\n[[data]]\npath = "{eth}"\n'
        'symbol = "ETH/USDT"\nend = "2020-12-15"',
    )
    config.write_text(text)
    result = kestrel(*_args(config, tmp_path, "--live"))
    assert_one_line_error(
        result, "spot symbols or perpetuals, not both", "['BTC/USDT']", "['ETH/USDT']",
        "one node per wallet",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("KESTREL_API_KEY", "key-5c1f9e\n", "contains a line break"),
        ("KESTREL_API_KEY", "   ", "holds only spaces"),
        ("KESTREL_API_SECRET", "secrét", "contains a non-ASCII character"),
    ],
)
def test_a_malformed_key_is_one_line_naming_it(
    kestrel: CliRunner,
    tmp_path: Path,
    keys: None,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    problem: str,
) -> None:
    # audit F7: exit 5 "any other ccxt error … GET …/account", or 70 UnicodeEncodeError
    monkeypatch.setenv(name, value)
    result = kestrel(*_args(_config(tmp_path), tmp_path, "--live"))
    assert_one_line_error(result, f"{name} is malformed: it {problem}")
    assert not (tmp_path / "k.db").exists()  # refused before anything connects
