"""``market_fill = "same_close"`` fills at the order symbol's own close at the decision time.

An audit found such an order filling at once at the symbol's LAST KNOWN close, however
old: an ETH order decided on BTC's 06:00 bar filled at ETH's 05:00 close when ETH came
second in the config (at its 06:00 close when first); from a 5-minute BTC bar, an hourly
ETH order filled at a close 20 minutes stale (a strategy reading BTC's move inside the hour
won 89.8 % of its trades); from a timer or a headline, at a close before the decision.
The rule now: a same-close market order fills at the close of the first bar of ITS symbol
closing at or after the decision — the bar it was decided on, or, decided elsewhere, that
symbol's bar closing then or next. ``latency_ns`` cannot be combined with it.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import Context, Strategy, parse_config, run_backtest
from engine.errors import ConfigError
from engine.feeds import BarFrame
from engine.feeds.ticks import TickFrame
from engine.model import Bar, OrderFilled

HOUR = 3_600 * 10**9
MIN5 = 300 * 10**9
T0 = 1_600_000_000 * 10**9 // HOUR * HOUR


def frame(symbol: str, step: int, closes: list[float]) -> BarFrame:
    """Bars of ``step`` ns from T0, each opening at the previous close (first at closes[0])."""
    c = np.array(closes, dtype=float)
    o = np.concatenate([[c[0]], c[:-1]])
    n = len(c)
    return BarFrame(
        symbol,
        step,
        T0 + np.arange(n, dtype=np.int64) * step,
        o,
        np.maximum(o, c) + 0.5,
        np.minimum(o, c) - 0.5,
        c,
        np.full(n, 1e6),
    )


class BuyOnce(Strategy):
    """Buys ``target`` once, on the ``at``-th bar of ``trigger`` (0-based), or on a timer."""

    def __init__(self, trigger: str, at: int, target: str, timer: str = "") -> None:
        super().__init__()
        self.trigger, self.at, self.target, self.timer = trigger, at, target, timer
        self.seen = 0
        self.decided_ns: int | None = None

    def on_start(self, ctx: Context) -> None:
        if self.timer:
            ctx.set_timer("t", self.timer)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        if self.timer or bar.symbol != self.trigger:
            return
        if self.seen == self.at:
            self.decided_ns = ctx.time_ns
            ctx.buy(self.target, 1.0)
        self.seen += 1

    def on_timer(self, ctx: Context, name: str) -> None:
        if self.decided_ns is None and ctx.time_ns >= T0 + 2 * HOUR + 30 * 60 * 10**9:
            self.decided_ns = ctx.time_ns
            ctx.buy(self.target, 1.0)


def run(frames: list[BarFrame], strategy: Strategy, **execution: object) -> list[OrderFilled]:
    config = parse_config(
        {
            "account": {"initial_cash": 1e6},
            "data": [{"path": "<memory>", "symbol": f.symbol} for f in frames],
            "instruments": [{"symbol": f.symbol, "lot_size": 1.0} for f in frames],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, "market_fill": "same_close", **execution},
        }
    )
    given: list[BarFrame | TickFrame] = list(frames)
    result = run_backtest(config, frames=given, strategy=strategy)
    return list(result.recorder.fills)


BTC = [100.0 + i for i in range(12)]
ETH = [1000.0 + 10 * i for i in range(12)]


@pytest.mark.parametrize("eth_first", [False, True])
def test_an_order_for_another_symbol_fills_at_its_close_of_the_same_time(eth_first: bool) -> None:
    # decided on BTC's bar closing at T0 + 7 h (index 6): ETH's bar closing then is 1060
    frames = [frame("BTC", HOUR, BTC), frame("ETH", HOUR, ETH)]
    if eth_first:
        frames.reverse()
    strategy = BuyOnce("BTC", 6, "ETH")
    (fill,) = run(frames, strategy)
    assert strategy.decided_ns == T0 + 7 * HOUR
    assert (fill.symbol, fill.price, fill.ts_event) == ("ETH", 1060.0, T0 + 7 * HOUR)


def test_an_order_on_its_own_bar_still_fills_at_once_at_that_close() -> None:
    frames = [frame("BTC", HOUR, BTC), frame("ETH", HOUR, ETH)]
    (fill,) = run(frames, BuyOnce("ETH", 6, "ETH"))
    assert (fill.price, fill.ts_event) == (1060.0, T0 + 7 * HOUR)


def test_an_hourly_order_decided_inside_the_hour_fills_at_that_hours_close() -> None:
    # BTC every 5 minutes, ETH hourly; decided on BTC's bar closing at T0 + 2 h 20 min:
    # ETH's last close then is 2 h's (1010); the first ETH price after it is 3 h's close
    btc = frame("BTC", MIN5, [100.0 + i for i in range(12 * 12)])
    eth = frame("ETH", HOUR, ETH)
    strategy = BuyOnce("BTC", 27, "ETH")  # the 28th 5-minute bar closes at T0 + 140 min
    (fill,) = run([eth, btc], strategy)
    assert strategy.decided_ns == T0 + 140 * 60 * 10**9
    assert (fill.price, fill.ts_event) == (1020.0, T0 + 3 * HOUR)


def test_an_order_from_a_timer_between_closes_fills_at_the_next_close() -> None:
    strategy = BuyOnce("", 0, "ETH", timer="30m")
    (fill,) = run([frame("ETH", HOUR, ETH)], strategy)
    assert strategy.decided_ns == T0 + 2 * HOUR + 30 * 60 * 10**9
    assert (fill.price, fill.ts_event) == (1020.0, T0 + 3 * HOUR)


def test_latency_cannot_be_combined_with_same_close() -> None:
    with pytest.raises(ConfigError, match='same_close" needs latency_ns = 0'):
        parse_config(
            {
                "data": [{"path": "x.csv", "symbol": "X"}],
                "strategy": {"path": "scripted"},
                "execution": {"market_fill": "same_close", "latency_ns": 60 * 10**9},
            }
        )


def test_a_symbol_whose_data_ends_early_is_named_in_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An audit's ETH file ended 36 h before BTC's: ETH was marked at its last close for
    36 h (equity flat, Sharpe 19) and an ETH order after it stayed working, unsaid."""
    btc, eth = frame("BTC", HOUR, BTC), frame("ETH", HOUR, ETH[:6])
    config = parse_config(
        {
            "account": {"initial_cash": 1e6},
            "data": [{"path": "<memory>", "symbol": s} for s in ("BTC", "ETH")],
            "strategy": {"path": "scripted"},
        }
    )
    run_backtest(config, frames=[btc, eth], strategy=BuyOnce("BTC", 99, "ETH"))
    assert capsys.readouterr().err.splitlines() == [
        "warning: ETH: its data ends at 2020-09-13T18:00:00Z (last bar's close), 6h before "
        "the run's last bar closes at 2020-09-14T00:00:00Z: after it, ETH is marked at its "
        "last close and its orders cannot fill"
    ]
    # one symbol ending a bar early (its own spacing) is no warning
    run_backtest(config, frames=[btc, frame("ETH", HOUR, ETH[:11])], strategy=BuyOnce("", 0, ""))
    assert capsys.readouterr().err == ""
