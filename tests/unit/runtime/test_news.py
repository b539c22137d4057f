"""News on the bus: the queue, the delivery (tie) rule at its edges, and the hook check.

A headline stamped t is delivered before the first bar closing at or after t: one stamped
exactly at a close is seen at that close, one 1 ns later at the next bar's. An order placed
in ``on_news`` never fills at the open of the bar the headline was delivered with.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.clock import SimClock
from engine.config import RunConfig, parse_config
from engine.errors import ConfigError, DataError
from engine.model import Bar, NewsHeadline
from engine.runtime import run_backtest
from engine.runtime.news import NEVER, NewsQueue, load_run_news
from engine.runtime.node import TradingNode
from engine.strategy import Context, Strategy
from engine.testing import make_bars

HOUR = 3_600 * 10**9
T0 = int(pd.Timestamp("2024-01-01", tz="UTC").value)  # first bar opens here, closes T0 + 1h


def news(ts: int, ident: str, symbol: str = "A") -> NewsHeadline:
    return NewsHeadline(symbol, ts, ts, f"headline {ident}", "test", ident)


def config(symbols: tuple[str, ...] = ("A",)) -> RunConfig:
    return parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"symbol": s} for s in symbols] + [{"kind": "news", "path": "not-read.csv"}],
            "instruments": [{"symbol": s, "lot_size": 1.0} for s in symbols],
            "strategy": {"path": "x:Recorder"},
            "execution": {"fee_rate": 0.0, "slippage_bps": 0.0},
        }
    )


class Recorder(Strategy):
    """Logs news and bars with the clock's time; buys 1 A on the headline ``buy``."""

    def on_start(self, ctx: Context) -> None:
        self.log: list[tuple[str, str, int]] = []

    def on_news(self, ctx: Context, headline: NewsHeadline) -> None:
        self.log.append(("news", headline.headline_id, ctx.time_ns))
        if headline.headline_id == "buy":
            ctx.buy("A", 1.0)

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.log.append(("bar", bar.symbol, bar.ts_event))


def run(headlines: list[NewsHeadline], symbols: tuple[str, ...] = ("A",)) -> Recorder:
    closes = [100.0, 101.0, 102.0, 103.0]
    frame = make_bars(closes, open=[10.0, 20.0, 30.0, 40.0], freq="1h")
    strategy = Recorder()
    result = run_backtest(
        config(symbols), data=dict.fromkeys(symbols, frame), strategy=strategy, news=headlines
    )
    strategy.fills = [(f.price, f.ts_event) for f in result.recorder.fills]  # type: ignore[attr-defined]
    return strategy


def test_the_queue_gives_due_headlines_in_time_then_arrival_order() -> None:
    queue = NewsQueue([news(5, "late"), news(3, "a"), news(3, "b")])
    assert queue.next_ns == 3
    assert queue.due(2) == []
    assert [h.headline_id for h in queue.due(4)] == ["a", "b"]
    queue.add([news(1, "stale")])  # arrived after its time: due at the next bar
    assert queue.next_ns == 1
    assert [h.headline_id for h in queue.due(5)] == ["stale", "late"]
    assert queue.next_ns == NEVER
    assert len(queue) == 0


def test_a_headline_is_seen_at_the_first_close_at_or_after_it() -> None:
    close1, close2 = T0 + HOUR, T0 + 2 * HOUR
    strategy = run(
        [
            news(close1 + 1, "1ns-after-close1"),
            news(close1, "at-close1"),
            news(T0 - HOUR, "before-data"),
            news(T0 + HOUR // 2, "inside-bar1"),
            news(close2, "at-close2"),
            news(T0 + 10 * HOUR, "after-data"),
        ]
    )
    assert strategy.log[:7] == [
        ("news", "before-data", close1),
        ("news", "inside-bar1", close1),
        ("news", "at-close1", close1),
        ("bar", "A", close1),
        ("news", "1ns-after-close1", close2),
        ("news", "at-close2", close2),
        ("bar", "A", close2),
    ]
    assert ("news", "after-data") not in {(kind, name) for kind, name, _ in strategy.log}


def test_headlines_come_before_every_bar_of_their_close_time() -> None:
    strategy = run([news(T0 + HOUR, "n", symbol="B")], symbols=("A", "B"))
    assert strategy.log[:3] == [
        ("news", "n", T0 + HOUR),
        ("bar", "A", T0 + HOUR),
        ("bar", "B", T0 + HOUR),
    ]


def test_an_order_placed_on_news_fills_at_the_next_bars_open_not_this_ones() -> None:
    strategy = run([news(T0 + 2 * HOUR, "buy")])
    # delivered with the bar opening at T0 + 1h (open 20) and closing at T0 + 2h: the order
    # reaches the venue at T0 + 2h and fills at the next bar's open (30), not at 20
    assert strategy.fills == [(30.0, T0 + 2 * HOUR)]  # type: ignore[attr-defined]


def test_a_news_source_needs_an_on_news_hook() -> None:
    class Deaf(Strategy):
        pass

    frame = make_bars([1.0, 2.0], freq="1h")
    with pytest.raises(ConfigError) as caught:
        run_backtest(config(), data={"A": frame}, strategy=Deaf(), news=[])
    assert str(caught.value) == (
        "a kind = 'news' [[data]] source is configured but strategy Deaf defines no "
        "on_news(ctx, headline) hook; add one or remove the news [[data]] table"
    )


def test_a_run_without_news_has_no_queue_and_no_hook_call() -> None:
    frame = make_bars([1.0, 2.0], freq="1h")
    document = {
        "data": [{"symbol": "A"}],
        "strategy": {"path": "x:Recorder"},
    }
    strategy = Recorder()
    run_backtest(parse_config(document), data={"A": frame}, strategy=strategy)
    assert [kind for kind, _, _ in strategy.log] == ["bar", "bar"]


def test_the_node_delivers_a_late_headline_at_the_next_bar_never_before_its_time() -> None:
    node = TradingNode(config(), clock=SimClock(T0), strategy=Recorder())
    strategy = node.kernel.runner.strategy
    assert isinstance(strategy, Recorder)
    one, two = (
        Bar("A", T0 + k * HOUR, T0 + k * HOUR, 1.0, 1.0, 1.0, 1.0, 1.0, HOUR) for k in (1, 2)
    )
    node.add_news([news(T0 + 3 * HOUR, "future")])
    node.on_event(one)
    node.add_news([news(T0 + HOUR // 2, "late")])  # read after the bar it was due at
    node.on_event(two)
    assert strategy.log == [
        ("bar", "A", T0 + HOUR),
        ("news", "late", T0 + 2 * HOUR),
        ("bar", "A", T0 + 2 * HOUR),
    ]
    assert node.news is not None
    assert len(node.news) == 1  # "future" waits for a bar closing at or after it


def test_a_node_without_a_news_table_refuses_headlines() -> None:
    plain = parse_config({"data": [{"symbol": "A"}], "strategy": {"path": "x:Recorder"}})
    node = TradingNode(plain, clock=SimClock(T0), strategy=Recorder())
    with pytest.raises(ConfigError, match="has no \\[\\[data\\]\\] kind = 'news' table"):
        node.add_news([news(T0, "x")])


def test_tick_replay_delivers_news_after_the_due_timers_and_before_the_venue() -> None:
    from engine.cache import SymbolHistory
    from engine.config import AccountConfig, ExecutionConfig
    from engine.model import Instrument, QuoteTick, TradeTick
    from engine.runtime.driver import Driver
    from engine.runtime.kernel import build_kernel
    from engine.runtime.modes import RunMode, VenueParts
    from tests.unit.runtime.test_driver import MINUTE, FakeVenue, Logging, T, bar

    class Listening(Logging):
        def on_news(self, ctx: Context, headline: NewsHeadline) -> None:
            self.log.append(f"news {headline.headline_id} at {ctx.time_ns}")

    log: list[str] = []
    clock = SimClock(T)

    def venue(parts: VenueParts) -> FakeVenue:
        return FakeVenue(log)

    kernel = build_kernel(
        clock=clock,
        strategy=Listening(log),
        strategy_id="S1",
        histories={s: SymbolHistory.empty(s) for s in ("A", "B")},
        instruments={"A": Instrument("A", lot_size=1.0), "B": Instrument("B", lot_size=1.0)},
        account=AccountConfig(),
        execution=ExecutionConfig(),
        mode=RunMode("fake", streaming=True, snapshots=False, venue=venue),
    )
    queue = NewsQueue(
        [news(T + 30 * MINUTE, "n30"), news(T + 95 * MINUTE, "n95"), news(T + 90 * MINUTE, "n90")]
    )
    kernel.runner.start()
    Driver(kernel, clock, news=queue).run(
        [
            bar(T + 60 * MINUTE),
            TradeTick("B", T + 70 * MINUTE, T + 70 * MINUTE, 5.0, 1.0, "", ""),
            QuoteTick("B", T + 95 * MINUTE, T + 95 * MINUTE, 4.9, 5.1, 1.0, 1.0),
        ]
    )
    assert log == [
        f"timer t at {T + 30 * MINUTE}",
        f"timer t at {T + 60 * MINUTE}",
        f"news n30 at {T + 60 * MINUTE}",  # after the timers due by the bar's time
        f"bar {T + 60 * MINUTE} at {T + 60 * MINUTE}",
        f"venue trade {T + 70 * MINUTE}",
        f"trade {T + 70 * MINUTE}",
        f"timer t at {T + 90 * MINUTE}",
        f"news n90 at {T + 95 * MINUTE}",  # no event at 90: seen with the quote at 95
        f"news n95 at {T + 95 * MINUTE}",
        f"venue quote {T + 95 * MINUTE}",  # news before the venue matches the quote
        f"quote {T + 95 * MINUTE}",
    ]


# Found by an audit (stop 30's leftovers): a headline file that named the symbol
# differently ("BTCUSDT" for "BTC/USDT") or held only a header ran with no news at all,
# exit 0; headlines stamped before the first bar were all delivered at it as if fresh,
# and those after the last bar were dropped, both without a word.


def _headline_file(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "news.csv"
    lines = ["timestamp,symbol,headline"] + [f"{ts},{symbol},words" for ts, symbol in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _news_config(path: Path, symbols: tuple[str, ...] = ("A",)) -> RunConfig:
    return parse_config(
        {
            "account": {"initial_cash": 10_000.0},
            "data": [{"symbol": s} for s in symbols] + [{"kind": "news", "path": str(path)}],
            "instruments": [{"symbol": s, "lot_size": 1.0} for s in symbols],
            "strategy": {"path": "x:Recorder"},
        }
    )


def test_a_news_file_with_no_headline_for_the_runs_symbols_is_refused_naming_its_own(
    tmp_path: Path,
) -> None:
    path = _headline_file(tmp_path, [("2024-01-01T00:30:00Z", "AUSD"), ("2024-01-01", "B")])
    with pytest.raises(DataError) as caught:
        load_run_news(_news_config(path))
    assert str(caught.value) == (
        f"{path}: no headline for A; the file's headlines are for AUSD, B; set this news "
        "[[data]] table's symbols, or fix the file's symbol column"
    )


def test_a_news_file_with_a_header_only_is_refused(tmp_path: Path) -> None:
    path = _headline_file(tmp_path, [])
    with pytest.raises(DataError) as caught:
        load_run_news(_news_config(path))
    assert str(caught.value) == f"{path}: no headline for A; the file has no headlines"


def test_headlines_outside_the_bars_are_named_in_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = news(T0 - 2 * HOUR, "old")  # before the first bar opens: delivered at its close
    inside = news(T0 + HOUR // 2, "in")  # within the first bar: its close, as always
    after = news(T0 + 5 * HOUR, "late")  # after the last close (T0 + 4h): never delivered
    strategy = run([before, inside, after])
    assert [entry[1] for entry in strategy.log if entry[0] == "news"] == ["old", "in"]
    assert capsys.readouterr().err.splitlines() == [
        "warning: 1 headline is stamped before the first bar (from 2023-12-31T22:00:00Z; the "
        "first bar opens 2024-01-01T00:00:00Z): it is delivered at that bar's close as if it "
        "were new; start the headlines with the data, or the data earlier",
        "warning: 1 headline is stamped after the last bar's close (2024-01-01T04:00:00Z, "
        "until 2024-01-01T05:00:00Z): it is never delivered",
    ]


def test_headlines_within_the_bars_warn_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    run([news(T0 + HOUR // 2, "in"), news(T0 + 4 * HOUR, "at the last close")])
    assert capsys.readouterr().err == ""
