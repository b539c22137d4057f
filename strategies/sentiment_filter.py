"""Sentiment filter: long while decayed headline sentiment is positive and the trend is up.

The idea: news tone moves prices for a while; buy when recent headlines are on balance
positive, but only in an uptrend, so one cheerful headline does not buy into a falling
market.

Data and timing (no look-ahead): headlines arrive as `NewsHeadline` events on the bus
from a ``[[data]]`` table with ``kind = "news"`` (a CSV/JSONL file, `engine.feeds.headlines`;
in paper and live the file is followed as it grows). A headline stamped t is delivered
just before the first bar closing at or after t (`engine.runtime.news`); only those of the
traded symbol (the first ``[[data]]`` symbol) count. Each is scored as it arrives
(`VaderScorer`, or `TfidfScorer` trained at the start on the labelled file ``training``:
one whose labelled headlines reach the first bar makes the run in-sample up to the last of
them, a warning on stderr, `engine.ml.insample`);
at each bar close t the index is the sum of the scores of the headlines delivered so far,
each decayed by ``0.5 ** (age / half_life)`` from its publication time. The trend filter is
the close above its ``trend_period``-bar SMA (``ctx.indicator``). Without a news table it
hears nothing and never trades.

Rules: flat → long (``fraction`` of equity, next bar's open) when index > ``entry`` and
close > SMA; long → flat when index < ``exit`` or close < SMA.

Known failure modes: the shipped headline files are synthetic (random tone, see
``tools/make_sample_headlines.py``), so the sample run shows the mechanics, not an edge;
headline timestamps in real feeds are often the crawl time, later than publication, or
revised (check them); VADER does not read finance jargon; a TF-IDF scorer trained on
headlines of the scored period leaks their labels; sentiment is priced in within minutes
on liquid markets, so hourly bars may act too late.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import ConfigError, DataError
from engine.feeds.timeframe import parse_timeframe
from engine.ml.insample import check_in_sample
from engine.ml.sentiment import SentimentIndex, TfidfScorer, VaderScorer, load_headlines
from engine.model import Bar, NewsHeadline
from engine.paths import find_relative, places_text
from engine.strategy import Context, Indicator, Strategy

__all__ = ["SentimentFilter", "SentimentFilterParams"]


@dataclass(frozen=True)
class SentimentFilterParams:
    """Parameters of `SentimentFilter`.

    Attributes:
        headlines: Removed: the headline file is a ``[[data]]`` table with
            ``kind = "news"`` now; any value is refused with that advice.
        scorer: ``"vader"`` (lexicon, default) or ``"tfidf"`` (needs ``training``).
        training: Labelled headline file for the ``tfidf`` scorer (label 1/0).
        half_life: Time for a headline's weight to halve (``"12h"``, ``"1d"``).
        entry: Buy when the index is above this.
        exit: Sell when the index is below this (<= entry).
        trend_period: Bars of the SMA the close must be above to hold.
        fraction: Equity fraction held when long, in (0, 1].
        seed: Seed of the ``tfidf`` scorer's logistic regression.
    """

    headlines: str = ""
    scorer: str = "vader"
    training: str = ""
    half_life: str = "12h"
    entry: float = 0.3
    exit: float = 0.0
    trend_period: int = 50
    fraction: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.headlines:
            raise ValueError(
                "headlines is no longer a parameter: headlines arrive as news events now; "
                'remove it and add a table [[data]] with kind = "news" and path = '
                f"{self.headlines!r}"
            )
        if self.scorer not in ("vader", "tfidf"):
            raise ValueError(f"scorer must be 'vader' or 'tfidf', got {self.scorer!r}")
        if self.scorer == "tfidf" and not self.training:
            raise ValueError("scorer 'tfidf' needs a labelled headline file in training")
        try:
            parse_timeframe(self.half_life)
        except DataError as exc:
            raise ValueError(f"half_life: {exc}") from None
        if self.exit > self.entry:
            raise ValueError(f"exit ({self.exit}) must be <= entry ({self.entry})")
        if self.trend_period < 2:
            raise ValueError(f"trend_period must be >= 2, got {self.trend_period}")
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")


class SentimentFilter(Strategy):
    """Long while decayed headline sentiment is above a level and the close above its SMA."""

    Params = SentimentFilterParams
    params: SentimentFilterParams
    base_dir = "."

    training_file: Path | None = None

    def configure_paths(self, base_dir: str) -> None:
        """Receive the config folder (called by the engine before ``on_start``).

        The ``tfidf`` scorer's ``training`` file is resolved here (`input_files`).

        Raises:
            ConfigError: The training file is not found.
        """
        self.base_dir = base_dir
        if self.params.scorer == "tfidf":
            self.training_file = self._file(self.params.training)

    def input_files(self) -> dict[str, Path]:
        """Return the ``tfidf`` scorer's training file (none for ``vader``)."""
        return {} if self.training_file is None else {"training": self.training_file}

    def _file(self, name: str) -> Path:
        found, tried = find_relative(name, self.base_dir)
        if found is None:
            raise ConfigError(f"strategy.params: headline file {name!r}: {places_text(tried)}")
        return found

    def on_start(self, ctx: Context) -> None:
        """Build the scorer (train it, for ``tfidf``); declare the trend SMA."""
        p = self.params
        self.symbol = ctx.symbols[0]
        if p.scorer == "tfidf":
            headlines = load_headlines(self.training_file or self._file(p.training))
            self.scorer: TfidfScorer | VaderScorer = TfidfScorer(seed=p.seed).fit(headlines)
            # the last labelled headline: a run deciding before it trades on learned labels
            self.trained_until: int | None = max(
                h.ts_ns for h in headlines if not math.isnan(h.label)
            )
        else:
            self.scorer = VaderScorer()
            self.trained_until = None
        self.index = SentimentIndex([], np.empty(0), parse_timeframe(p.half_life))
        self.sma: Indicator = ctx.indicator("sma", self.symbol, timeperiod=p.trend_period)
        self.values: list[tuple[int, float]] = []  # (bar close ns, index) for inspection
        self.scored: list[tuple[int, float]] = []  # (published ns, score) per headline heard

    def on_news(self, ctx: Context, headline: NewsHeadline) -> None:
        """Score a headline of the traded symbol and add it to the index."""
        if headline.symbol != self.symbol:
            return
        score = float(self.scorer.score([headline.text])[0])
        self.index.add(headline.ts_event, score)
        self.scored.append((headline.ts_event, score))

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Enter on positive sentiment in an uptrend; leave when either fails."""
        if bar.symbol != self.symbol:
            return
        if not self.values and self.trained_until is not None:
            check_in_sample(
                f"the tfidf scorer's training file {self.params.training!r} holds labelled "
                "headlines",
                self.trained_until,
                bar.ts_event,
                "the scorer learned those headlines' labels",
                "train it on headlines from before the run",
            )
        level = self.index.value(bar.ts_event)
        self.values.append((bar.ts_event, level))
        if not self.sma.is_ready:
            return
        uptrend = bar.close > self.sma.value
        held = ctx.position(self.symbol) > 0
        if not held and level > self.params.entry and uptrend:
            ctx.order_target_percent(self.symbol, self.params.fraction, tag=f"s={level:.2f}")
        elif held and (level < self.params.exit or not uptrend):
            ctx.order_target_percent(self.symbol, 0.0, tag=f"s={level:.2f}")
