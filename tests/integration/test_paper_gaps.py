"""``kestrel paper`` warns about gaps in its bars as a backtest does, once per gap.

Before (found by an audit): a backtest of a file with gaps says ``warning: BTC/USDT:
<file>: 2 gaps (4 missing 1h bars), ...``; paper replaying that file, or live bars
arriving with a gap, said nothing. Now each gap the feed delivers is one ``warning:`` line
in the backtest's words (`Spacing.gap_sentence`), and a ``gap`` record in events.jsonl; the
gaps of a new account's warm-up are one line per symbol, as a backtest's data are.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import REPO, CliResult, CliRunner

DATA = REPO / "data"
SOURCE = DATA / "binance_BTC_USDT_1h_20201201_20210717.csv"  # no gap in its first 60 hours


def _gappy_file(tmp_path: Path, dropped: set[int]) -> Path:
    lines = SOURCE.read_text().splitlines()
    rows = [row for i, row in enumerate(lines[1:61]) if i not in dropped]
    path = tmp_path / "btc_gappy.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def _config(tmp_path: Path, data: Path) -> Path:
    text = (REPO / "configs" / "paper_btc.toml").read_text()
    text = text.replace(
        'path = "data/binance_BTC_USDT_1h_20201201_20210717.csv"', f'path = "{data}"'
    )
    path = tmp_path / "paper.toml"
    path.write_text(text.replace('end = "2020-12-15"\n', ""))
    return path


def _paper(kestrel: CliRunner, tmp_path: Path, config: Path, *more: str) -> CliResult:
    result = kestrel(
        "paper", str(config), "--replay", str(config), "--speed", "max", "--poll", "0.05",
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"), *more,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result


def _gap_lines(result: CliResult) -> list[str]:
    return [line for line in result.err.splitlines() if "gap" in line]


def test_each_gap_of_a_replay_is_one_warning(kestrel: CliRunner, tmp_path: Path) -> None:
    # hours 20-22 and 40 missing: two gaps, 3 and 1 missing bars
    config = _config(tmp_path, _gappy_file(tmp_path, {20, 21, 22, 40}))
    result = _paper(kestrel, tmp_path, config, "--warmup-bars", "5")
    assert "end of the replay" in result.out
    assert _gap_lines(result) == [
        "warning: BTC/USDT: feed: 1 gap (3 missing 1h bars), largest 3h missing from "
        "2020-12-01T20:00:00Z.",
        "warning: BTC/USDT: feed: 1 gap (1 missing 1h bar), largest 1h missing from "
        "2020-12-02T16:00:00Z.",
    ]
    events = [json.loads(line) for line in (tmp_path / "log" / "events.jsonl").open()]
    gaps = [e for e in events if e["kind"] == "gap"]
    assert [(g["symbol"], g["missing_bars"]) for g in gaps] == [("BTC/USDT", 3), ("BTC/USDT", 1)]
    assert events[-1]["kind"] == "stop"
    assert events[-1]["gaps"] == {"BTC/USDT": 2}


def test_a_gap_in_the_warm_up_is_said_once(kestrel: CliRunner, tmp_path: Path) -> None:
    config = _config(tmp_path, _gappy_file(tmp_path, {3, 4}))
    result = _paper(kestrel, tmp_path, config, "--warmup-bars", "20", "--max-bars", "2")
    assert _gap_lines(result) == [
        "warning: BTC/USDT: warm-up: 1 gap (2 missing 1h bars), largest 2h missing from "
        "2020-12-01T03:00:00Z."
    ]
