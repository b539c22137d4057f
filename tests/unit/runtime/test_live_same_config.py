"""Which config changes a live account refuses on resume (`restore.check_same_config`, audit F1).

Refused (one `ConfigError` line naming the part): ``[account]`` (initial cash, currency,
leverage), the instruments (symbols, their rules), the strategy's path or id; a stored
config that cannot be read. Taken: parameters, ``[risk]``, ``[execution]``, ``[run]``,
``[live]``; a store, an account or a stored config that does not exist; and a table a later
release no longer reads outside those parts. Nothing is written by the check.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from engine.config import RunConfig, parse_config
from engine.errors import ConfigError
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger
from engine.runtime.live.ledger import Baseline
from engine.runtime.live.restore import check_same_config

ACCOUNT = "live_btc"
REPO = Path(__file__).resolve().parents[3]
TEXT = (
    (REPO / "configs" / "live_btc.toml")
    .read_text()
    .replace("[live]", "[risk]\nmax_position_pct = 0.5\n\n[live]")
)
ETH = """
[[data]]
path = "data/binance_ETH_USDT_1h_20201201_20210717.csv"
symbol = "ETH/USDT"
"""


def config(text: str = TEXT) -> RunConfig:
    return parse_config(tomllib.loads(text))


def started(tmp_path: Path, stored: str | None) -> str:
    """Return the URL of a store holding the account, whose session stored ``stored``."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    ledger = LiveLedger(RunStore(url), ACCOUNT)
    ledger.create_account(Baseline("binance", 0, {"USDT": 10_000.0}), [])
    ledger.begin_session(stored)
    return url


@pytest.mark.parametrize(
    ("old", "new", "part"),
    [
        ("initial_cash = 10000.0", "initial_cash = 20000.0", "account"),
        ('currency = "USDT"', 'currency = "USD"', "account"),
        ('currency = "USDT"', 'currency = "USDT"\nleverage = 2.0', "account"),
        ("lot_size = 0.00001", "lot_size = 0.001", "instruments"),
        ("\n[[instruments]]", f"{ETH}\n[[instruments]]", "instruments"),
        ("sma_cross:SmaCross", "sma_cross:Other", "strategy"),
        ("[strategy]\n", '[strategy]\nid = "S2"\n', "strategy"),
    ],
)  # fmt: skip
def test_a_money_part_changed_is_refused(tmp_path: Path, old: str, new: str, part: str) -> None:
    url = started(tmp_path, TEXT)
    assert old in TEXT
    with pytest.raises(ConfigError) as raised:
        check_same_config(config(TEXT.replace(old, new, 1)), ACCOUNT, url)
    assert str(raised.value) == (
        f"live account {ACCOUNT!r} was started with a different config ({part} changed); run "
        "it with its original config, or start a new account with --account NEW_NAME"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("fast = 5", "fast = 3"),  # parameters
        ("max_position_pct = 0.5", "max_position_pct = 0.2"),  # risk limits
        ("fee_rate = 0.001", "fee_rate = 0.002"),  # execution
        ('name = "live_btc"', 'name = "renamed"'),  # [run]
        ('[live]\nmode = "live"', '[live]\nmode = "live"\nwarmup_bars = 30'),  # [live]
    ],
)
def test_what_decides_only_the_next_orders_is_taken(tmp_path: Path, old: str, new: str) -> None:
    url = started(tmp_path, TEXT)
    assert old in TEXT
    check_same_config(config(TEXT.replace(old, new, 1)), ACCOUNT, url)


def test_an_account_with_nothing_to_compare_passes_and_nothing_is_created(tmp_path: Path) -> None:
    check_same_config(config(), ACCOUNT, f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()
    url = started(tmp_path, None)  # no session stored a config (before schema 11)
    check_same_config(config(TEXT.replace("10000.0", "20000.0")), ACCOUNT, url)
    check_same_config(config(), "another", url)


def test_a_stored_config_is_read_from_the_money_tables_only(tmp_path: Path) -> None:
    # a [run] key this release does not know (say, one a later release removed) is not read
    url = started(tmp_path, TEXT.replace("[run]", "[run]\nretired = 1"))
    check_same_config(config(), ACCOUNT, url)


@pytest.mark.parametrize("stored", ["not toml [", TEXT.replace("[account]", "[account]\nx = 1")])
def test_a_stored_config_it_cannot_read_is_refused(tmp_path: Path, stored: str) -> None:
    url = started(tmp_path, stored)
    with pytest.raises(ConfigError, match="the config it was started with cannot be read"):
        check_same_config(config(), ACCOUNT, url)
