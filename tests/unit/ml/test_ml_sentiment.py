"""Headline files, the two scorers, the decayed index, and the sentiment strategy."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from engine.errors import ConfigError, DataError
from engine.feeds.news_config import NewsSourceConfig
from engine.ml.sentiment import (
    Headline,
    SentimentIndex,
    TfidfScorer,
    VaderScorer,
    load_headlines,
)
from engine.strategy import make_strategy
from engine.testing import fills_of, make_bars, run_strategy
from strategies.sentiment_filter import SentimentFilter

HOUR = 3_600 * 10**9
REPO = Path(__file__).resolve().parents[3]


def test_csv_and_jsonl_headlines_load_in_time_order(tmp_path: Path) -> None:
    csv_file = tmp_path / "h.csv"
    csv_file.write_text(
        "timestamp,symbol,headline,label\n"
        "2024-01-01T02:00:00Z,BTC,later,1\n"
        "1704067200000,BTC,epoch ms,\n"
    )
    rows = load_headlines(csv_file)
    assert [h.text for h in rows] == ["epoch ms", "later"]
    assert rows[0].ts_ns == 1704067200000 * 10**6
    assert rows[1].ts_ns == rows[0].ts_ns + 2 * HOUR
    assert np.isnan(rows[0].label)
    assert rows[1].label == 1.0
    jsonl = tmp_path / "h.jsonl"
    jsonl.write_text('{"timestamp": "2024-01-01 00:00", "symbol": "ETH", "headline": "x"}\n')
    (row,) = load_headlines(jsonl)
    assert row[:3] == (1704067200000 * 10**6, "ETH", "x")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "a.csv",
            "timestamp,symbol\n",
            "a.csv: missing column(s) headline; need timestamp, symbol, headline",
        ),
        ("b.csv", "timestamp,symbol,headline\nyesterday,BTC,x\n", "b.csv:2: timestamp 'yesterday'"),
        (
            "c.csv",
            "timestamp,symbol,headline,label\n1606791600000,BTC,x,maybe\n",
            "label must be 1",
        ),
        ("d.csv", "timestamp,symbol,headline\n1606791600000,BTC,  \n", "empty headline"),
        # the rules of news files (`engine.feeds.headlines`): compact dates, epoch seconds
        # and times outside 1677-2262 are refused (the last was an OverflowError, exit 3)
        (
            "g.csv",
            "timestamp,symbol,headline\n20201203,BTC,x\n",
            "g.csv:2: timestamp "
            "'20201203' reads as a compact date, not epoch milliseconds; write it as ISO-8601",
        ),
        ("h.csv", "timestamp,symbol,headline\n1609459200,BTC,x\n", "looks like epoch seconds"),
        (
            "i.csv",
            "timestamp,symbol,headline\n9999-12-31,BTC,x\n",
            "i.csv:2: timestamp '9999-12-31' is out of range (1677-09-21 to 2262-04-11)",
        ),
        (
            "j.jsonl",
            '{"timestamp": "0001-01-01", "symbol": "B", "headline": "x"}\n',
            "j.jsonl:1: timestamp '0001-01-01' is out of range",
        ),
        ("e.jsonl", "{not json\n", "e.jsonl:1: not JSON"),
        ("f.txt", "", "expected a .csv or .jsonl"),
    ],
)
def test_bad_headline_files_are_one_clear_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(DataError) as info:
        load_headlines(tmp_path / name)
    assert message in str(info.value)


def test_vader_scores_are_its_compound_scores() -> None:
    texts = ["Bitcoin rallies on great news", "Exchange hack sparks fears, bitcoin drops"]
    scores = VaderScorer().score(texts)
    analyzer = SentimentIntensityAnalyzer()
    expected = [analyzer.polarity_scores(t)["compound"] for t in texts]
    np.testing.assert_array_equal(scores, expected)
    assert scores[0] > 0 > scores[1]


def test_tfidf_scorer_learns_the_labelled_tone() -> None:
    labelled = load_headlines(REPO / "data" / "sample_headlines_labelled.csv")
    scorer = TfidfScorer(seed=0).fit(labelled)
    scores = scorer.score(
        ["Bitcoin rallies as a fund reports record inflows", "Bitcoin slides as a bank warns"]
    )
    assert scores[0] > 0 > scores[1]
    assert np.all(np.abs(scores) < 1)
    with pytest.raises(DataError, match="two labelled headlines of each class"):
        TfidfScorer().fit([Headline(0, "BTC", "x", 1.0), Headline(1, "BTC", "y", 0.0)])


def test_index_decays_and_never_sees_a_later_headline() -> None:
    headlines = [Headline(0, "B", "a", np.nan), Headline(2 * HOUR, "B", "b", np.nan)]
    index = SentimentIndex(headlines, np.array([1.0, -0.5]), half_life_ns=HOUR)
    assert index.value(-HOUR) == 0.0  # before any headline
    assert index.value(0) == 1.0
    assert index.value(HOUR) == pytest.approx(0.5)
    assert index.value(2 * HOUR) == pytest.approx(1.0 * 0.25 - 0.5)
    assert index.value(3 * HOUR) == pytest.approx((0.25 - 0.5) * 0.5)
    with pytest.raises(ValueError, match="backwards"):
        index.value(HOUR)


def _headline_file(tmp_path: Path, rows: list[tuple[str, str]]) -> str:
    path = tmp_path / "news.csv"
    body = "".join(f'{ts},X,"{text}"\n' for ts, text in rows)  # run_strategy's symbol
    path.write_text("timestamp,symbol,headline\n" + body)
    return str(path)


def test_strategy_buys_on_good_news_in_an_uptrend_and_sells_when_the_trend_breaks(
    tmp_path: Path,
) -> None:
    closes = [100.0 + i for i in range(8)] + [90.0, 89.0]
    bars = make_bars(closes, freq="1h", start="2024-01-01")
    # bar i closes at 01:00 + i h; the headline comes at 04:30, read at bar 4's close (05:00)
    news = _headline_file(tmp_path, [("2024-01-01T04:30:00Z", "Great news, bitcoin soars")])
    params = {"trend_period": 3, "entry": 0.3, "half_life": "24h"}
    news_table = {"kind": "news", "path": news}  # headlines arrive as events on the bus
    result = run_strategy(
        SentimentFilter,
        bars,
        params=params,
        lot_size=0.0001,
        config={"data": [{"symbol": "X"}, news_table]},
    )
    fills = fills_of(result)
    assert [f.side for f in fills] == ["buy", "sell"]
    assert [f.time for f in fills] == [bars.index[5], bars.index[9]]
    # bought at bar 5's open (= bar 5's close here, 105); the drop to 90 at bar 8 breaks the
    # SMA: sold at bar 9's open (89)
    assert fills[0].price == 105.0
    assert fills[1].price == 89.0
    strategy = result.strategy
    assert isinstance(strategy, SentimentFilter)
    assert strategy.values[3][1] == 0.0  # bar 3 closes at 04:00, before the headline
    assert strategy.values[4][1] > 0.3


def test_headlines_after_t_change_no_decision_before_t(tmp_path: Path) -> None:
    from engine import load_config, run_backtest

    config = load_config(REPO / "configs" / "sentiment_filter_btc.toml")
    cut = "2021-01-15T00:00:00Z"
    lines = (REPO / "data" / "sample_headlines_btc.csv").read_text().splitlines()
    kept = [lines[0], *(line for line in lines[1:] if line[:20] < cut)]
    assert 20 < len(kept) < len(lines)
    (tmp_path / "cut.csv").write_text("\n".join(kept) + "\n")

    def orders(headlines: str) -> list[tuple[object, ...]]:
        strategy = make_strategy(SentimentFilter, config.strategy.params)
        result = run_backtest(
            replace(config, news=[NewsSourceConfig(headlines)]), strategy=strategy
        )
        rows = result.recorder.orders.values()
        return [
            (r["order_id"], r["side"], r["quantity"], r["ts_requested"], r["tag"]) for r in rows
        ]

    full = orders(str(REPO / "data" / "sample_headlines_btc.csv"))
    partial = orders(str(tmp_path / "cut.csv"))
    cut_ns = int(np.datetime64(cut.rstrip("Z"), "ns").astype(np.int64))
    before = [row for row in full if int(row[3]) < cut_ns]  # type: ignore[call-overload]
    assert len(before) >= 4
    assert [row for row in partial if int(row[3]) < cut_ns] == before  # type: ignore[call-overload]
    assert full != partial  # the later headlines do change later decisions


def test_the_old_headlines_parameter_is_refused_with_the_way_to_move_it() -> None:
    with pytest.raises(ConfigError) as caught:
        make_strategy(SentimentFilter, {"headlines": "data/h.csv"})
    assert str(caught.value) == (
        "strategy.params: headlines is no longer a parameter: headlines arrive as news events "
        "now; remove it and add a table [[data]] with kind = \"news\" and path = 'data/h.csv'"
    )


def test_without_a_news_table_the_strategy_hears_nothing_and_never_trades() -> None:
    bars = make_bars([100.0, 101.0], freq="1h")
    result = run_strategy(SentimentFilter, bars, params={"trend_period": 2})
    assert result.recorder.orders == {}  # no news table: it hears nothing and never trades


def test_the_tfidf_scorer_scores_each_headline_as_it_arrives_deterministically() -> None:
    from engine import load_config, run_backtest

    config = load_config(REPO / "configs" / "sentiment_filter_btc.toml")
    params = {
        **config.strategy.params,
        "scorer": "tfidf",
        "training": "data/sample_headlines_labelled.csv",
    }

    def heard() -> list[tuple[int, float]]:
        strategy = make_strategy(SentimentFilter, params)
        strategy.configure_paths(str(REPO / "configs"))
        run_backtest(config, strategy=strategy)
        return strategy.scored

    first = heard()
    assert len(first) == 179  # every sample headline, each scored once as it arrived
    assert all(-1.0 < score < 1.0 for _, score in first)
    assert [ts for ts, _ in first] == sorted(ts for ts, _ in first)
    assert heard() == first  # seeded: the same scores, bit for bit
