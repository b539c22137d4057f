"""``kestrel paper --replay`` starts the local exchange's clock once the feed listens.

A tick is not caught up after the fact, so a replay that ran before the account's trade or
order-book stream subscribed would lose its first ticks (`engine.cli_paper`).
"""

from __future__ import annotations

import asyncio

import pytest

from engine import cli_paper
from engine.adapters.ccxt.feed import FeedOptions

HOUR = 3_600_000_000_000


def test_the_streams_are_each_symbols_candles_and_its_tick_streams() -> None:
    options = FeedOptions(trades=frozenset({"ETH/USDT"}), quotes=frozenset({"SOL/USDT"}))
    timeframes = {"BTC/USDT": HOUR, "ETH/USDT": HOUR, "SOL/USDT": HOUR}
    assert cli_paper.replay_streams(timeframes, options) == [
        "btcusdt@kline_",
        "ethusdt@kline_",
        "ethusdt@trade",
        "solusdt@kline_",
        "solusdt@depth",
    ]


def test_every_symbol_ticks_when_the_option_is_true() -> None:
    options = FeedOptions(trades=True, quotes=True)
    assert cli_paper.replay_streams({"ETH/USDT": HOUR}, options) == [
        "ethusdt@kline_",
        "ethusdt@trade",
        "ethusdt@depth",
    ]


def test_polling_listens_to_nothing() -> None:
    assert cli_paper.replay_streams({"ETH/USDT": HOUR}, FeedOptions(mode="poll")) == []


class FakeLocal:
    """A local exchange whose streams listen after ``ready_after`` questions."""

    def __init__(self, ready_after: int | None) -> None:
        self.ready_after = ready_after
        self.asked: list[list[str]] = []
        self.resumed_after: int | None = None

    def listening(self, streams: list[str]) -> bool:
        self.asked.append(list(streams))
        return self.ready_after is not None and len(self.asked) > self.ready_after

    def resume(self) -> None:
        self.resumed_after = len(self.asked)


def test_the_clock_starts_once_the_streams_listen() -> None:
    local = FakeLocal(ready_after=3)
    asyncio.run(cli_paper._resume_when_listening(local, ["ethusdt@trade"]))
    assert local.resumed_after == 4  # three "not yet", then listening: resumed at once
    assert local.asked == [["ethusdt@trade"]] * 4


def test_the_clock_starts_anyway_when_a_stream_never_listens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_paper, "REPLAY_LISTEN_S", 0.05)
    local = FakeLocal(ready_after=None)
    asyncio.run(cli_paper._resume_when_listening(local, ["ethusdt@depth"]))
    assert local.resumed_after is not None
    assert local.resumed_after >= 2
