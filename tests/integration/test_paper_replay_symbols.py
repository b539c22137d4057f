"""``kestrel paper --replay`` refuses data whose symbols are not the config's, before any write.

A BTC/USDT config replaying an ETH/USDT file created the account, then stopped with
``KeyError: 'ETH/USDT' ... exit 3``; a two-symbol config replaying a file of one of them ran
without the other, saying nothing (found by an audit). Now: one line naming the config's
symbols and the replay's, exit 2, and no store, no account, no log folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliResult, CliRunner, assert_one_line_error

DATA = REPO / "data"
BTC_FILE = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"
ETH_FILE = DATA / "binance_ETH_USDT_1h_20201201_20210717.csv"


def _config(tmp_path: Path, name: str) -> Path:
    text = (REPO / "configs" / name).read_text().replace('path = "data/', f'path = "{DATA}/')
    path = tmp_path / name
    path.write_text(text)
    return path


def _paper(kestrel: CliRunner, tmp_path: Path, config: Path, replay: Path, *more: str) -> CliResult:
    return kestrel(
        "paper", str(config), "--replay", str(replay), "--speed", "max", "--max-bars", "3",
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"), *more,
    )  # fmt: skip


# (config, replay, what the one line must say); the third: the extra symbol's bars
# reached a node that does not trade it (KeyError, exit 3)
CASES = [
    ("paper_btc.toml", ETH_FILE, ("the config trades BTC/USDT", "serves ETH/USDT", "--replay")),
    (
        "pairs_eth_btc.toml",
        BTC_FILE,
        ("the config trades ETH/USDT, BTC/USDT", "serves BTC/USDT", "no bars of ETH/USDT"),
    ),
    (
        "paper_btc.toml",
        "pairs_eth_btc.toml",
        ("the config trades BTC/USDT", "serves ETH/USDT, BTC/USDT", "ETH/USDT is not traded"),
    ),
]


@pytest.mark.parametrize(("name", "replay", "said"), CASES, ids=["other", "fewer", "more"])
def test_other_symbols_are_refused_before_the_account(
    kestrel: CliRunner, tmp_path: Path, name: str, replay: Path | str, said: tuple[str, ...]
) -> None:
    config = _config(tmp_path, name)
    if isinstance(replay, str):  # a config replayed: beside the account's
        replay = _config(tmp_path, replay)
    result = _paper(kestrel, tmp_path, config, replay)
    assert_one_line_error(result, *said)
    assert not (tmp_path / "k.db").exists()
    assert not (tmp_path / "log").exists()


def test_the_matching_file_still_runs(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path, "paper_btc.toml")
    result = _paper(kestrel, tmp_path, config, BTC_FILE)
    assert result.code == 0, result.err
    assert "stopped (--max-bars 3): 3 new bars" in result.out


def test_a_file_of_another_timeframe_than_declared_is_refused(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    # the config declares hourly bars; the 5-minute file ran as the account's bars, silently
    config = _config(tmp_path, "paper_btc.toml")
    config.write_text(config.read_text().replace('end = "2020-12-15"', 'timeframe = "1h"'))
    result = _paper(kestrel, tmp_path, config, DATA / "binance_BTC_USDT_5m_202105.csv")
    assert_one_line_error(result, "BTC/USDT", "1h", "serves 5m bars", "--replay")
    assert not (tmp_path / "k.db").exists()
    assert not (tmp_path / "log").exists()


def test_live_replay_refuses_other_symbols_and_timeframes_too(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kestrel live --replay`` started the local exchange on any file (found reading its
    code after the paper fix): the same checks, saying ``live:``, before anything runs."""
    monkeypatch.setenv("KESTREL_API_KEY", "practice")
    monkeypatch.setenv("KESTREL_API_SECRET", "practice")
    config = _config(tmp_path, "live_btc.toml")

    def live(replay: Path) -> CliResult:
        return kestrel(
            "live", str(config), "--live", "--replay", str(replay), "--speed", "max",
            "--max-bars", "3", "--db", f"sqlite:///{tmp_path / 'k.db'}",
            "--log-dir", str(tmp_path / "log"),
        )  # fmt: skip

    assert_one_line_error(live(ETH_FILE), "live: the config trades BTC/USDT", "serves ETH/USDT")
    config.write_text(config.read_text().replace("[[data]]\n", '[[data]]\ntimeframe = "1h"\n'))
    five = live(DATA / "binance_BTC_USDT_5m_202105.csv")
    assert_one_line_error(five, "live: the config trades BTC/USDT on 1h bars", "serves 5m bars")
    assert not (tmp_path / "log").exists()
