"""Resuming a paper account with a config of other symbols names both symbol lists.

The refusal said "(instruments, timeframes changed)" and left the user to guess that the
account trades BTC/USDT while the config given trades ETH/USDT and BTC/USDT (found while
fixing an audit's replay-symbols finding): the line now says which symbols each has.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config
from engine.errors import ConfigError
from engine.persistence import RunStore
from engine.runtime.paper import PaperJournal, open_session

REPO = Path(__file__).resolve().parents[3]
HOUR = 3_600_000_000_000


def _open(store: RunStore, name: str) -> None:
    config = load_config(REPO / "configs" / name)
    open_session(
        config, PaperJournal(store, "acct"), resume_only=False, start_ns=lambda: 0, url="u",
        timeframes=dict.fromkeys(config.symbols, HOUR),
    )  # fmt: skip


def test_a_resume_with_other_symbols_names_both(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    _open(store, "paper_btc.toml")
    with pytest.raises(ConfigError) as caught:
        _open(store, "pairs_eth_btc.toml")
    message = str(caught.value)
    assert "it trades BTC/USDT and this config ETH/USDT, BTC/USDT" in message
    assert "--account NEW_NAME" in message
    store.engine.dispose()


def test_a_resume_with_the_same_symbols_says_nothing_of_them(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'k.db'}")
    _open(store, "paper_btc.toml")
    with pytest.raises(ConfigError) as caught:  # the same symbol, another strategy
        _open(store, "sma_cross_btc.toml")
    assert "trades" not in str(caught.value)
    store.engine.dispose()
