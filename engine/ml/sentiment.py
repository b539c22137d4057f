"""Headline sentiment: a timestamped headline file, two scorers, and a decayed index.

In: a CSV or JSONL file of headlines (columns/keys ``timestamp``, ``symbol``,
``headline``, and optionally ``label``: 1 positive, 0 negative, for training). Out:
`Headline` rows in time order (`load_headlines`); a score in [-1, 1] per headline from a
`Scorer`; and `SentimentIndex`, the exponentially decayed sum of the scores of the
headlines published at or before a time (never after: no look-ahead).

Scorers (pluggable: anything with ``score(texts) -> ndarray``):

- `VaderScorer` (default): the VADER lexicon's compound score (``vaderSentiment``), no
  training; tuned for social-media English, blind to market jargon ("short squeeze").
- `TfidfScorer`: a scikit-learn ``Pipeline(TfidfVectorizer, LogisticRegression)`` fitted
  on labelled headlines (seeded), score ``2 P(positive) - 1``. Train it on headlines from
  *before* the period it scores, or its scores leak the labels.

Reading (`load_headlines`): the file is read by the news reader,
`engine.feeds.headlines.read_news`, so it follows every rule of a news file — a UTF-8
byte-order mark skipped; a CSV row with a quote never closed, malformed quoting or more
fields than the header, a JSON key named twice, a decimal epoch, epoch seconds, a compact
date, a time outside 1677-2262, an empty headline or symbol refused in one line naming
file and row — and then its ``label`` column (a ``label`` column named twice is refused).
Repeats: a headline twice (same ``id`` and symbol, or without ids the same time, symbol
and text) is refused naming its rows, as in a news file: trained twice it would weigh
double. Given two labels (or a label and none) it is refused naming each label's rows:
one story has one tone, and which row is right is the user's to say.
A headline counts from its timestamp (the publication time) on.

Headlines reach a strategy as `engine.model.NewsHeadline` events on the bus (a
``[[data]] kind = "news"`` table, `engine.feeds.headlines`, `engine.runtime.news`); a
strategy scores each as it arrives and feeds the index with `SentimentIndex.add`
(`strategies.sentiment_filter`). `load_headlines` stays for labelled training files.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from engine.errors import DataError
from engine.feeds.headlines import (
    HeadlineRow,
    headline_key,
    headline_name,
    parse_json_line,
    read_news,
    refuse_repeats,
)

__all__ = [
    "Headline",
    "Scorer",
    "SentimentIndex",
    "TfidfScorer",
    "VaderScorer",
    "load_headlines",
]


class Headline(NamedTuple):
    """One published headline: time (ns), symbol, text, optional label (1/0, NaN none)."""

    ts_ns: int
    symbol: str
    text: str
    label: float


class Scorer(Protocol):
    """Turns headlines into scores in [-1, 1] (negative to positive)."""

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Return one score per text."""
        ...


def _label(raw: Any, where: str) -> float:
    if raw is None or raw == "":
        return math.nan
    if str(raw).strip() in ("0", "1", "0.0", "1.0"):
        return float(raw)
    raise DataError(f"{where}: label must be 1 (positive) or 0 (negative), got {raw!r}")


def load_headlines(path: str | Path) -> list[Headline]:
    """Return the headlines of a ``.csv`` or ``.jsonl`` file, in time order (stable).

    The file is read as a news file is (`engine.feeds.headlines.read_news`: BOM, quoting,
    field counts, repeated JSON keys, timestamps, repeated headlines), then its labels.

    Raises:
        DataError: What a news file is refused for (one line naming file and row), a bad
            label, a ``label`` column named twice, or one headline given two labels.
    """
    rows = read_news(path)
    labels = [
        _label(raw, f"{row.file}:{row.line}")
        for row, raw in zip(rows, _raw_labels(Path(path)), strict=True)
    ]
    _refuse_two_labels(rows, labels)
    refuse_repeats(rows)
    headlines = [
        Headline(row.headline.ts_event, row.headline.symbol, row.headline.text, label)
        for row, label in zip(rows, labels, strict=True)
    ]
    return sorted(headlines, key=lambda h: h.ts_ns)


def _raw_labels(file: Path) -> list[Any]:
    """Return each row's ``label`` (None when absent), the rows `read_news` returned.

    Called after `read_news` accepted the file, so its rows parse: blank lines are skipped
    here as there, which keeps the two lists row for row.
    """
    if file.suffix.lower() == ".jsonl":
        with file.open(encoding="utf-8-sig") as handle:
            return [
                parse_json_line(line, f"{file}:{number}").get("label")
                for number, line in enumerate(handle, 1)
                if line.strip()
            ]
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, strict=True)
        if (reader.fieldnames or []).count("label") > 1:  # a row would keep the last one
            raise DataError(f"{file}: several columns are named label; keep exactly one")
        return [row.get("label") for row in reader]


def _refuse_two_labels(rows: Sequence[HeadlineRow], labels: Sequence[float]) -> None:
    """Refuse one headline (`headline_key`) given different labels on different rows.

    A plain repeat is refused by `refuse_repeats` afterwards; this names the labels, since
    which one is right is the question the user has to answer.
    """
    groups: dict[tuple[object, ...], dict[str, list[str]]] = {}
    for row, label in zip(rows, labels, strict=True):
        by_label = groups.setdefault(headline_key(row.headline, row.own_id), {})
        text = "unlabelled" if math.isnan(label) else f"labelled {label:g}"
        by_label.setdefault(text, []).append(f"{row.file}:{row.line}")
    for key, by_label in groups.items():
        if len(by_label) > 1:
            first = next(row for row in rows if headline_key(row.headline, row.own_id) == key)
            parts = [f"{text} at {', '.join(places)}" for text, places in by_label.items()]
            if "unlabelled" not in by_label:  # "labelled 1 at f:2 and 0 at f:5"
                parts[1:] = [part.removeprefix("labelled ") for part in parts[1:]]
            said = " and ".join(parts)
            raise DataError(
                f"{headline_name(first.headline, first.own_id)} is {said}; a headline has "
                "one label, keep the right row"
            )


class VaderScorer:
    """VADER's compound score in [-1, 1] (lexicon and rules, no training)."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Return the compound score of each text."""
        return np.array(
            [self.analyzer.polarity_scores(text)["compound"] for text in texts], dtype=np.float64
        )


@dataclass
class TfidfScorer:
    """TF-IDF + logistic regression trained on labelled headlines; score 2 P(pos) - 1."""

    seed: int = 0
    C: float = 1.0

    def fit(self, headlines: Sequence[Headline]) -> TfidfScorer:
        """Fit on the labelled ``headlines`` (label 1 or 0); return self.

        Raises:
            DataError: Fewer than two labelled headlines of each class.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        labelled = [h for h in headlines if not math.isnan(h.label)]
        y = np.array([h.label for h in labelled])
        positive, negative = int((y == 1).sum()), int((y == 0).sum())
        if min(positive, negative) < 2:
            raise DataError(
                "tfidf scorer: needs at least two labelled headlines of each class "
                f"(got {positive} positive, {negative} negative)"
            )
        self.pipeline = Pipeline(
            [
                ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                ("model", LogisticRegression(C=self.C, random_state=self.seed, max_iter=1000)),
            ]
        )
        self.pipeline.fit([h.text for h in labelled], y)
        return self

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Return ``2 P(positive) - 1`` per text."""
        classes = list(self.pipeline.classes_)
        proba = self.pipeline.predict_proba(list(texts))[:, classes.index(1.0)]
        return np.asarray(2.0 * proba - 1.0, dtype=np.float64)


class SentimentIndex:
    """Decayed sum of one symbol's headline scores, read forward in time.

    ``value(t)`` = sum over headlines published at or before t of
    ``score × 0.5 ** ((t - published) / half_life)``. Calls must come with
    non-decreasing t (bar closes): each headline is added once, when t reaches it.
    Headlines may also be added one at a time as they arrive (`add`; start with no
    headlines), which gives the same sum.
    """

    def __init__(
        self, headlines: Sequence[Headline], scores: np.ndarray, half_life_ns: int
    ) -> None:
        if half_life_ns <= 0:
            raise ValueError(f"half_life must be > 0, got {half_life_ns} ns")
        self.ts = np.array([h.ts_ns for h in headlines], dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float64)
        self.half_life = float(half_life_ns)
        self.next = 0
        self.level = 0.0
        self.at = -(2**62)  # before any time: the level is 0 until the first headline

    def value(self, t_ns: int) -> float:
        """Return the index at ``t_ns`` (headlines published after it are not seen)."""
        if t_ns < self.at:
            raise ValueError("SentimentIndex.value: time went backwards")
        while self.next < len(self.ts) and self.ts[self.next] <= t_ns:
            published = int(self.ts[self.next])
            self.level = self.level * self._decay(published - self.at) + self.scores[self.next]
            self.at = published
            self.next += 1
        self.level *= self._decay(t_ns - self.at)
        self.at = t_ns
        return self.level

    def add(self, published_ns: int, score: float) -> None:
        """Add one headline's score (published at ``published_ns``), seen from now on.

        Call it before `value` of the first time at or after ``published_ns`` (a headline
        delivered late, published before the last `value` time, counts decayed to it).
        """
        if published_ns <= self.at:
            self.level += score * self._decay(self.at - published_ns)
        else:
            self.level = self.level * self._decay(published_ns - self.at) + score
            self.at = published_ns

    def _decay(self, elapsed_ns: int) -> float:
        return float(0.5 ** (elapsed_ns / self.half_life))
