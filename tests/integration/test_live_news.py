"""``kestrel live`` with a ``[[data]] kind = "news"`` table: the JSONL file is followed.

A headline already in the file at the start is not news to a node that keeps no state
across restarts: it is not delivered. One appended while the node runs (here by the
strategy itself at its first bar) is read before the next bar, logged as a ``news``
record in events.jsonl and delivered to ``on_news``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

KEY, SECRET = "key-5c1f9e", "secret-8d2a7b"
APPENDER = """
import json
from engine.strategy import Strategy

NEWS = {news!r}
HEARD = {heard!r}


class Appender(Strategy):
    def on_start(self, ctx):
        self.bars = 0

    def on_bar(self, ctx, bar):
        self.bars += 1
        if self.bars == 1:
            record = {{"timestamp": bar.ts_event // 1_000_000, "symbol": bar.symbol,
                       "headline": "fresh", "id": "fresh"}}
            with open(NEWS, "a") as handle:
                handle.write(json.dumps(record) + "\\n")

    def on_news(self, ctx, headline):
        with open(HEARD, "a") as handle:
            handle.write(f"{{headline.headline_id}} after bar {{self.bars}}\\n")
"""


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)


def _config(tmp_path: Path, news: Path) -> Path:
    plugin = tmp_path / "appender.py"
    plugin.write_text(APPENDER.format(news=str(news), heard=str(tmp_path / "heard.txt")))
    text = (REPO / "configs" / "paper_btc.toml").read_text()
    text = text.replace('path = "data/', f'path = "{REPO}/data/')
    text = text.replace('"strategies.sma_cross:SmaCross"', f'"{plugin}:Appender"')
    text = text.replace("params = {", "# {")
    text = text.replace("[run]", '[live]\nmode = "live"\n\n[run]', 1)
    text += f'\n[[data]]\nkind = "news"\npath = "{news}"\n'
    path = tmp_path / "live.toml"
    path.write_text(text)
    return path


def _args(config: Path, tmp_path: Path, *more: str) -> list[str]:
    return [
        "live", str(config), "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir",
        str(tmp_path / "log"), "--replay", str(config), "--speed", "max", "--live", *more,
    ]  # fmt: skip


def test_live_follows_the_headline_file_and_logs_news(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    news = tmp_path / "news.jsonl"
    old = {"timestamp": "2020-11-30T00:00:00Z", "symbol": "BTC/USDT", "headline": "old"}
    news.write_text(json.dumps(old) + "\n")
    result = kestrel(*_args(_config(tmp_path, news), tmp_path, "--max-bars", "4"))
    assert result.code == 0, result.err
    logs = list((tmp_path / "log").rglob("events.jsonl"))
    records = [json.loads(line) for line in logs[0].read_text().splitlines()]
    logged = [r for r in records if r["kind"] == "news"]
    assert [(r["id"], r["symbol"], r["text"]) for r in logged] == [("fresh", "BTC/USDT", "fresh")]
    starts = [r for r in records if r["kind"] == "news_start"]
    assert starts[0]["positions"] == [len(json.dumps(old)) + 1]  # from the end at start
    assert len([r for r in records if r["kind"] == "event"]) == 4
    # appended at bar 1 with bar 1's close time: delivered before bar 2's on_bar
    assert (tmp_path / "heard.txt").read_text() == "fresh after bar 1\n"


def test_a_csv_headline_file_is_refused_in_live(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    news = tmp_path / "news.csv"
    news.write_text("timestamp,symbol,headline\n")
    result = kestrel(*_args(_config(tmp_path, news), tmp_path, "--max-bars", "2"))
    assert_one_line_error(result, "kestrel live follows .jsonl headline files")
