"""``kestrel backtest`` with a ``[[data]] kind = "news"`` table, from the command line.

The headline file is a run input: its bytes are in the inputs hash and run.json lists it;
``runs export --include-data`` packs it and the unzipped run reproduces the trades. A bad
headline file, a strategy without ``on_news`` and the removed ``headlines`` parameter are
one line each and exit 2.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

CONFIG = REPO / "configs" / "sentiment_filter_btc.toml"
HEADLINES = REPO / "data" / "sample_headlines_btc.csv"


def _config(tmp_path: Path, news: Path) -> Path:
    text = CONFIG.read_text().replace('path = "data/binance', f'path = "{REPO}/data/binance')
    text = text.replace('path = "data/sample_headlines_btc.csv"', f'path = "{news}"')
    path = tmp_path / "news.toml"
    path.write_text(text)
    return path


def _backtest(kestrel: CliRunner, config: Path, out: Path) -> dict[str, object]:
    result = kestrel("backtest", str(config), "--no-db", "--out", str(out))
    assert result.code == 0, result.err
    info: dict[str, object] = json.loads((out / "run.json").read_text())
    return info


def test_the_headline_file_is_an_input_listed_hashed_and_exported(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    news = tmp_path / "headlines.csv"
    news.write_bytes(HEADLINES.read_bytes())
    run = tmp_path / "run"
    info = _backtest(kestrel, _config(tmp_path, news), run)
    assert info["news"] == [
        {
            "path": str(news),
            "source": str(news.resolve()),
            "sha256": hashlib.sha256(news.read_bytes()).hexdigest(),
        }
    ]
    assert json.loads((run / "metrics.json").read_text())["num_trades"] == 24
    page = (run / "report.html").read_text()
    digest = hashlib.sha256(news.read_bytes()).hexdigest()
    assert f"<tr><td>news</td><td><code>{news}</code></td>" in page  # provenance row
    assert f"<code class=hash>{digest}</code>" in page
    # one headline less: another input, another identity (and other decisions)
    lines = news.read_text().splitlines(keepends=True)
    news.write_text("".join(lines[:-1]))
    other = _backtest(kestrel, _config(tmp_path, news), tmp_path / "other")
    assert other["inputs_sha256"] != info["inputs_sha256"]
    news.write_bytes(HEADLINES.read_bytes())
    run_id = str(info["run_id"])
    target = tmp_path / "run.zip"
    exported = kestrel("runs", "export", str(run), "--out", str(target), "--include-data")
    assert exported.code == 0, exported.err
    with zipfile.ZipFile(target) as archive:
        assert archive.read(f"{run_id}/data/headlines.csv") == HEADLINES.read_bytes()
        reproduce = archive.read(f"{run_id}/reproduce.toml").decode()
        manifest = json.loads(archive.read(f"{run_id}/manifest.json"))
        archive.extractall(tmp_path / "unzipped")
    assert 'kind = "news"' in reproduce
    assert 'path = "data/headlines.csv"' in reproduce
    assert [d["symbol"] for d in manifest["data"]] == ["BTC/USDT", f"news {news}"]
    monkeypatch.chdir(tmp_path)
    rerun = tmp_path / "rerun"
    _backtest(kestrel, tmp_path / "unzipped" / run_id / "reproduce.toml", rerun)
    for name in ("metrics.json", "trades.csv", "fills.csv", "orders.csv", "equity.csv"):
        assert (rerun / name).read_bytes() == (run / name).read_bytes(), name


def test_a_bad_headline_file_is_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    news = tmp_path / "bad.csv"
    news.write_text(
        "timestamp,symbol,headline\n2020-12-01T03:00:00Z,BTC/USDT,ok\nnope,BTC/USDT,x\n"
    )
    result = kestrel(
        "backtest", str(_config(tmp_path, news)), "--no-db", "--out", str(tmp_path / "o")
    )
    assert_one_line_error(result, f"{news}:3: timestamp 'nope' is neither ISO-8601")
    missing = kestrel(
        "backtest",
        str(_config(tmp_path, tmp_path / "gone.csv")),
        "--no-db",
        "--out",
        str(tmp_path / "o"),
    )
    assert_one_line_error(missing, "[[data]] kind = 'news' path", "gone.csv")


def test_a_strategy_without_on_news_and_the_old_parameter_are_refused(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = str(_config(tmp_path, HEADLINES))
    out = ("--no-db", "--out", str(tmp_path / "o"))
    deaf = kestrel(
        "backtest", config, *out, "--set", "strategy.path=strategies.sma_cross:SmaCross",
        "--set", "strategy.params={}",
    )  # fmt: skip
    assert_one_line_error(
        deaf,
        "strategy SmaCross defines no on_news(ctx, headline) hook; add one or remove the news "
        "[[data]] table",
    )
    old = kestrel("backtest", config, *out, "--set", "strategy.params.headlines=h.csv")
    assert_one_line_error(old, "headlines is no longer a parameter", 'kind = "news"')


def test_a_headline_time_outside_the_nanosecond_range_is_one_line(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """9999-12-31 was "internal error OverflowError", exit 70 (a news table) and exit 3 (a
    TF-IDF training file): an audit."""
    news = tmp_path / "far.csv"
    news.write_text("timestamp,symbol,headline\n9999-12-31T00:00:00Z,BTC/USDT,x\n")
    config = str(_config(tmp_path, news))
    out = ("--no-db", "--out", str(tmp_path / "o"))
    result = kestrel("backtest", config, *out)
    assert_one_line_error(
        result, f"{news}:2: timestamp '9999-12-31T00:00:00Z' is out of range (1677-09-21"
    )
    training = tmp_path / "train.csv"
    training.write_text(
        "timestamp,symbol,headline,label\n2020-11-02,BTC/USDT,good,1\n0001-01-01,BTC/USDT,x,0\n"
    )
    tfidf = kestrel(
        "backtest", str(_config(tmp_path, HEADLINES)), *out,
        "--set", 'strategy.params.scorer="tfidf"',
        "--set", f'strategy.params.training="{training}"',
    )  # fmt: skip
    assert_one_line_error(tfidf, f"{training}:3: timestamp '0001-01-01' is out of range")
