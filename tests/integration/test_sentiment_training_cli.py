"""A TF-IDF training file's mistakes stop ``kestrel backtest`` in one line, exit 2.

The labelled headlines are read by the sentiment strategy's ``tfidf`` scorer at the start
of a run (no ``kestrel ml`` command reads them); the reader is the news reader's
(`engine.ml.sentiment.load_headlines`). A byte-order mark is read, not refused.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import REPO, CliResult, CliRunner, assert_one_line_error

CONFIG = "configs/sentiment_filter_btc.toml"
LABELLED = (REPO / "data" / "sample_headlines_labelled.csv").read_text(encoding="utf-8")


def _backtest(kestrel: CliRunner, training: Path, out: Path) -> CliResult:
    return kestrel(
        "backtest", CONFIG, "--no-db", "--out", str(out),
        '--set=strategy.params.scorer="tfidf"',
        f'--set=strategy.params.training="{training}"',
    )  # fmt: skip


def test_a_byte_order_mark_trains_as_the_same_file_without_one(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    training = tmp_path / "bom.csv"
    training.write_text("\ufeff" + LABELLED, encoding="utf-8")
    with_bom = _backtest(kestrel, training, tmp_path / "bom")
    plain = _backtest(kestrel, REPO / "data" / "sample_headlines_labelled.csv", tmp_path / "p")
    assert with_bom.code == 0, with_bom.err
    assert plain.code == 0, plain.err
    assert (tmp_path / "bom" / "fills.csv").read_text() == (
        tmp_path / "p" / "fills.csv"
    ).read_text()


def test_an_unclosed_quote_and_two_labels_for_one_headline_exit_2(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    lines = LABELLED.splitlines()
    quote = tmp_path / "quote.csv"
    quote.write_text("\n".join([*lines[:3], '2020-11-02T00:00:00Z,BTC/USDT,"open,1']) + "\n")
    result = _backtest(kestrel, quote, tmp_path / "q")
    assert_one_line_error(result, f"{quote}:4: the quote opened in this row is never closed")
    flipped = lines[1].rsplit(",", 1)[0] + ",1"  # row 2's headline, labelled 0, now also 1
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join([*lines, flipped]) + "\n")
    result = _backtest(kestrel, twice, tmp_path / "t")
    assert_one_line_error(
        result,
        f"is labelled 0 at {twice}:2 and 1 at {twice}:{len(lines) + 1}; a headline has one "
        "label, keep the right row",
    )
