"""``kestrel paper`` with a ``[[data]] kind = "news"`` table: headlines journaled, resumed.

A JSONL headline file is followed as it grows: the first session delivers the headlines it
finds, journals them with the file's byte position and logs ``news`` records; a headline
appended while the account is stopped is delivered by the resumed session, and none of the
first ones again (the strategy orders once per headline it hears, tagged with the id).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

TAGGER = """
from engine.strategy import Strategy


class Tagger(Strategy):
    def on_news(self, ctx, headline):
        ctx.buy(headline.symbol, 0.001, tag=headline.headline_id)
"""


def _line(ts: str, ident: str) -> str:
    record = {"timestamp": ts, "symbol": "BTC/USDT", "headline": f"news {ident}", "id": ident}
    return json.dumps(record) + "\n"


def _config(tmp_path: Path, news: Path) -> Path:
    text = (REPO / "configs" / "paper_btc.toml").read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    text = text.replace('"strategies.sma_cross:SmaCross"', '"tagger.py:Tagger"')
    text = text.replace("params = {", "# {")
    text += f'\n[[data]]\nkind = "news"\npath = "{news}"\n'
    (tmp_path / "tagger.py").write_text(TAGGER)
    path = tmp_path / "paper.toml"
    path.write_text(text)
    return path


def _args(config: Path, tmp_path: Path, *more: str) -> list[str]:
    return [
        "paper", str(config), "--db", f"sqlite:///{tmp_path / 'k.db'}",
        "--log-dir", str(tmp_path / "log"), "--poll", "0.05",
        "--replay", str(config), "--speed", "max", *more,
    ]  # fmt: skip


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def _news_logged(tmp_path: Path) -> list[str]:
    lines = (tmp_path / "log" / "events.jsonl").read_text().splitlines()
    return [json.loads(line)["id"] for line in lines if '"kind": "news"' in line]


def test_news_is_journaled_and_a_resume_continues_at_the_file_position(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    news = tmp_path / "news.jsonl"
    news.write_text(_line("2020-12-01T02:30:00Z", "a") + _line("2020-12-01T03:00:00Z", "b"))
    config = _config(tmp_path, news)
    first = kestrel(*_args(config, tmp_path, "--max-bars", "5"))
    assert first.code == 0, first.err
    db = tmp_path / "k.db"
    rows = _query(db, "SELECT payload FROM paper_journal WHERE kind = 'news'")
    assert len(rows) == 1
    payload = json.loads(str(rows[0][0]))
    assert payload["position"] == news.stat().st_size
    assert payload["line"] == 2
    assert [h["headline_id"] for h in payload["headlines"]] == ["a", "b"]
    assert _news_logged(tmp_path) == ["a", "b"]
    # a headline appended while stopped (and a half-written line, left for later)
    with news.open("a") as handle:
        handle.write(_line("2020-12-01T07:30:00Z", "c") + '{"timestamp": "2020-12-01T08')
    second = kestrel(*_args(config, tmp_path, "--max-bars", "5", "--resume"))
    assert second.code == 0, second.err
    assert _news_logged(tmp_path) == ["a", "b", "c"]  # the log is appended to: c once
    tags = [row[0] for row in _query(db, "SELECT tag FROM orders ORDER BY ts_requested")]
    assert tags == ["a", "b", "c"]  # each headline heard once, over both sessions
    rows = _query(db, "SELECT payload FROM paper_journal WHERE kind = 'news' ORDER BY seq")
    assert json.loads(str(rows[-1][0]))["line"] == 3


def test_a_bad_headline_line_stops_paper_in_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    news = tmp_path / "news.jsonl"
    news.write_text(_line("2020-12-01T02:30:00Z", "a") + '{"timestamp": "soon"}\n')
    result = kestrel(*_args(_config(tmp_path, news), tmp_path, "--max-bars", "3"))
    assert_one_line_error(result, f"{news}:2: missing symbol, headline")


def test_resuming_without_the_news_table_is_a_changed_config(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    news = tmp_path / "news.jsonl"
    news.write_text(_line("2020-12-01T02:30:00Z", "a"))
    config = _config(tmp_path, news)
    first = kestrel(*_args(config, tmp_path, "--max-bars", "3"))
    assert first.code == 0, first.err
    # the journal's news rows would replay headlines the config no longer names
    text = config.read_text()
    config.write_text(text[: text.index('\n[[data]]\nkind = "news"')] + "\n")
    again = kestrel(*_args(config, tmp_path, "--max-bars", "3", "--resume"))
    assert_one_line_error(again, "(news changed); run it with its original config")
