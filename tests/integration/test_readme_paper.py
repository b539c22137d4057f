"""README "Paper trading": its commands run as written and do what the text says.

The fenced block of the section is parsed (one ``kestrel`` command per line) and each line
is run, in order, in a fresh project folder holding the demo config and its data (the
commands use the project's default store and log folder, which must not be the repo's).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import REPO

DATA = "data/binance_BTC_USDT_1h_20201201_20210717.csv"


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Paper trading\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block is not None
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_paper_trading_commands_run_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    assert len(commands) == 3
    (tmp_path / "pyproject.toml").write_text("")  # the project root marker
    (tmp_path / "configs").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(REPO / "configs" / "paper_btc.toml", tmp_path / "configs")
    (tmp_path / DATA).symlink_to(REPO / DATA)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("KESTREL_DB_URL", None)
    outputs = []
    for command in commands:
        program, *args = shlex.split(command)
        assert program == "kestrel"
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
        outputs.append(done.stdout)
    first, second, shown = outputs
    assert "paper account paper_btc: new" in first
    assert "(--max-bars 100): 100 new bars" in first
    assert "resumed (100 inputs replayed)" in second
    assert "(end of the replay): 236 new bars" in second  # to the end of the data
    assert "run: paper-paper_btc" in shown
    assert "Paper account paper-paper_btc" in shown
    assert "Backtest" not in shown
    assert re.search(r"bars\s*│\s*336", shown)
    assert (tmp_path / "backtests" / "kestrel.db").is_file()  # the project's default store
    log = (tmp_path / "paper" / "paper_btc" / "events.jsonl").read_text().splitlines()
    assert sum('"kind": "bar"' in line for line in log) == 336
