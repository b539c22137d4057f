"""`Lockstep` on a real local exchange (no websockets): it steps to the next bar close only
once every bar the exchange closed was handled, steps through boundaries where bars only
open, and stops stepping at the replay's end (its last bar never closes)."""

from __future__ import annotations

import asyncio

from engine.adapters.local import LocalExchange
from engine.model import Bar, Instrument
from engine.runtime.live.lockstep import Lockstep
from tests.unit.adapters.test_local_replay import BARS, T0, H, frame

NS = 1_000_000  # ns per ms
PRICES = [tuple(b) for b in BARS]  # (open, high, low, close) per bar


def bar(local: LocalExchange, symbol: str, index: int) -> Bar:
    return local.replay.markets[symbol].kline(index, local.replay.now_ms).as_bar(symbol)


def test_lockstep_steps_when_every_closed_bar_was_handled() -> None:
    # X: hourly bars opening at 0 h, 1 h and (after a gap) 3 h; Y: two-hour bars at 0 h, 2 h
    frames = [frame("X/USD", [0, 1, 3], PRICES), frame("Y/USD", [0, 2], PRICES[:2], "2h")]
    instruments = {s: Instrument(s, quote_currency="USD") for s in ("X/USD", "Y/USD")}
    with LocalExchange(frames, instruments, paused=True, history=0) as local:
        pacer = Lockstep(local, (), user=False)
        asyncio.run(pacer.next_bar())
        assert pacer.pending == {("X/USD", (T0 + H) * NS)}
        asyncio.run(pacer.next_bar())  # X's first bar is not handled yet: no step
        assert local.replay.now_ms == T0 + H
        pacer.handled(bar(local, "X/USD", 0))
        asyncio.run(pacer.next_bar())
        assert pacer.pending == {("X/USD", (T0 + 2 * H) * NS), ("Y/USD", (T0 + 2 * H) * NS)}
        pacer.handled(bar(local, "X/USD", 1))
        asyncio.run(pacer.next_bar())  # Y's bar of the same close is still pending
        assert local.replay.now_ms == T0 + 2 * H
        pacer.handled(bar(local, "Y/USD", 0))
        asyncio.run(pacer.next_bar())  # 3 h only opens X's last bar, which never closes
        assert (pacer.pending, pacer.steps) == (set(), 2)
        assert local.replay.finished


def test_a_bar_the_feed_dropped_does_not_hold_the_exchange() -> None:
    frames = [frame("X/USD", [0, 1, 3], PRICES)]
    instruments = {"X/USD": Instrument("X/USD", quote_currency="USD")}
    with LocalExchange(frames, instruments, paused=True) as local:
        pacer = Lockstep(local, (), user=False)
        closing = (T0 + H) * NS
        pacer.pending = {("X/USD", T0 * NS), ("X/USD", closing), ("Y/USD", closing)}
        pacer.handled(bar(local, "X/USD", 0))  # closes at T0 + 1 h: the one at T0 never came
        assert pacer.pending == {("Y/USD", closing)}  # the same close, still to come
