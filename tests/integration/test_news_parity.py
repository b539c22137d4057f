"""One delivery rule: a backtest and the paper/live node hear the same news at the same bars.

The shipped sentiment config runs as a backtest (`Driver.run_bars`, precomputed SMA) and
through a `TradingNode` fed the same bars one by one (`Driver.step`, streaming SMA), its
headlines queued in batches as a polled source would hand them over — each batch before the
first bar it is due at, some long before. Orders, fills and the strategy's index readings
must be identical (compared with ``==``).
"""

from __future__ import annotations

from engine import load_config, run_backtest
from engine.clock import SimClock
from engine.feeds import load_bars
from engine.runtime.backtest import iter_bars
from engine.runtime.news import load_run_news
from engine.runtime.node import TradingNode
from strategies.sentiment_filter import SentimentFilter
from tests.integration.conftest import REPO


def test_backtest_and_node_hear_the_same_headlines_and_trade_alike() -> None:
    config = load_config(REPO / "configs" / "sentiment_filter_btc.toml")
    source = config.data[0]
    frame = load_bars(REPO / source.path, symbol=source.symbol, end=source.end)
    backtest = run_backtest(config, frames=[frame])
    headlines = load_run_news(config)
    node = TradingNode(config, clock=SimClock(int(frame.ts_open_ns[0])))
    batches = [headlines[i : i + 7] for i in range(0, len(headlines), 7)]
    for bar in iter_bars([frame]):
        while batches and batches[0][0].ts_event <= bar.ts_event + 24 * 3_600 * 10**9:
            node.add_news(batches.pop(0))  # a day ahead of (part of) the batch: early
        node.on_event(bar)
    node.stop()
    assert not batches
    live, ran = node.kernel.runner.strategy, backtest.strategy
    assert isinstance(live, SentimentFilter)
    assert isinstance(ran, SentimentFilter)
    assert live.scored == ran.scored
    assert len(ran.scored) == len(headlines)
    assert live.values == ran.values
    assert node.kernel.recorder.fills == backtest.recorder.fills
    assert len(backtest.recorder.fills) == 48  # 24 round trips
