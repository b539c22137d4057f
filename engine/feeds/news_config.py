"""The ``[[data]]`` tables of ``kind = "news"``: headline files as a run input.

A news table sits among the bar tables in the TOML, but it is not a market-data source of
one symbol: `split_news` takes the news tables out of the document's ``data`` list before
the rest is built, and `engine.config.parse_config` stores them as ``RunConfig.news``.
`news_tables` puts them back for the resolved config a run writes (config.toml), so the
written config reads back the same. Keys are checked like every config table: an unknown
key is refused with "did you mean".

Example::

    [[data]]
    kind = "news"
    path = "data/sample_headlines_btc.csv"
    symbols = ["BTC/USDT"]     # optional: keep only these symbols' headlines
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError
from engine.typed import build, to_plain

__all__ = ["NEWS_KIND", "NewsSourceConfig", "news_tables", "split_news"]

NEWS_KIND = "news"


@dataclass(frozen=True)
class NewsSourceConfig:
    """A headline file (`engine.feeds.headlines`) delivered as `NewsHeadline` events.

    Attributes:
        path: CSV/JSONL headline file, resolved like a bar file's ``path`` (beside the
            config, then under the project root).
        symbols: Keep only the headlines of these symbols; empty (default): the headlines
            of every ``[[data]]`` symbol of the run. Each must be a ``[[data]]`` symbol.
        kind: Always ``"news"`` (what makes the table a news source).
    """

    path: str
    symbols: list[str] = field(default_factory=list)
    kind: str = NEWS_KIND

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("data: a kind = 'news' table needs a path to a headline file")


def split_news(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[NewsSourceConfig]]:
    """Return ``document`` without its news tables, and those tables built.

    Raises:
        ConfigError: A ``[news]`` section (news sources are ``[[data]]`` tables), or a
            news table with an unknown key or a bad value.
    """
    if "news" in document:
        raise ConfigError(
            "unknown key 'news': a headline file is a [[data]] table with kind = \"news\""
        )
    data = document.get("data")
    if not isinstance(data, list):
        return dict(document), []
    kept: list[Any] = []
    news: list[NewsSourceConfig] = []
    for index, table in enumerate(data):
        if isinstance(table, Mapping) and table.get("kind") == NEWS_KIND:
            news.append(build(NewsSourceConfig, table, where=f"data.{index}"))
        else:
            kept.append(table)
    if not news:
        return dict(document), []
    rest = dict(document)
    rest["data"] = kept
    return rest, news


def news_tables(news: list[NewsSourceConfig]) -> list[dict[str, Any]]:
    """Return the news sources as ``[[data]]`` tables (for the resolved config)."""
    tables: list[dict[str, Any]] = []
    for source in news:
        table: dict[str, Any] = to_plain(source)
        if not table.get("symbols"):
            table.pop("symbols", None)
        tables.append(table)
    return tables
