"""``kestrel live-kill``: the kill switch's closing sale reaches the equity curve (audit F4).

``kestrel live --replay ... --speed lockstep`` trades `BuyThenKill` on BTC/USDT hours from
2020-12-01 (no warm-up, fee 0.1 %, no slippage): a market buy of 0.05 on its first bar,
and on its third bar it asks for the kill switch as ``kestrel live-kill`` does (the
``KILL`` file in the account's folder). The node cancels, sells the 0.05 at market, halts.

By hand, from the sample's rows (open of the next bar after a decision, in lockstep):

- buy 0.05 at 19,565.47 (01:00 open): 978.2735 + fee 0.9782735 → cash 9,020.7482265;
- the kill sells 0.05 at 19,680.96 (03:00 open): 984.048 − fee 0.984048 → cash
  10,003.8121785, flat: equity 10,003.8121785, gross exposure 0.

Before the fix the last stored row kept the position: cash 9,020.7482265, equity
10,004.7957265 (marked at the 02:00 bar's close, 19,680.95), exposure 984.0475, and
``live-report`` and ``runs show`` reported that equity.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.integration.conftest import CliRunner
from tests.integration.test_live_crash import CONFIG

ACCOUNT = "killed"
KEY, SECRET = "kill-key-3e81", "kill-secret-b27d"
STRATEGY = '''
from dataclasses import dataclass
from pathlib import Path

from engine.model import Bar
from engine.strategy import Context, Strategy


@dataclass(frozen=True)
class Params:
    buy_at: int = 1  # the bar (counted from this start) that buys 0.05 at market; 0: none
    kill_at: int = 0  # the bar on which it asks for the kill switch; 0: never
    kill_file: str = ""


class BuyThenKill(Strategy):
    """Buy 0.05 at market on bar ``buy_at``; write ``kill_file`` on bar ``kill_at``."""

    Params = Params
    params: Params

    def on_start(self, ctx: Context) -> None:
        self.bars = 0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bars += 1
        if self.bars == self.params.buy_at:
            ctx.buy(bar.symbol, 0.05)
        if self.bars == self.params.kill_at:
            Path(self.params.kill_file).write_text("requested by the strategy\\n")
'''


def near(value: float) -> object:
    """Return ``value`` for ``==`` to float64 rounding (figures here are computed by hand)."""
    return pytest.approx(value, rel=1e-12, abs=1e-9)


BUY_CASH = 9_020.7482265  # 10,000 − 0.05 × 19,565.47 × 1.001
KILLED_CASH = 10_003.8121785  # BUY_CASH + 0.05 × 19,680.96 × 0.999
BAR_3_CLOSE_NS = 1_606_791_600_000_000_000  # 2020-12-01 03:00 UTC


def write_config(tmp_path: Path, params: str, changes: dict[str, str] | None = None) -> Path:
    """Write the account's config: `test_live_crash`'s (10,000 USDT, BTC/USDT hours, fee
    0.1 %), to 2020-12-15, no warm-up, trading `BuyThenKill` with ``params`` (the body of a
    TOML inline table); ``changes`` maps a text of it to its replacement.
    """
    (tmp_path / "buy_then_kill.py").write_text(STRATEGY)
    head, _ = CONFIG.replace('name = "crash"', f'name = "{ACCOUNT}"').split("[strategy]", 1)
    head = head.replace('mode = "live"', 'mode = "live"\nwarmup_bars = 0')
    head = head.replace('timeframe = "1h"', 'timeframe = "1h"\nend = "2020-12-15"')
    text = (
        f'{head}[strategy]\npath = "{tmp_path / "buy_then_kill.py"}:BuyThenKill"\n'
        f"params = {{ {params} }}\n\n[execution]\nfee_rate = 0.001\nslippage_bps = 0.0\n"
    )
    for old, new in (changes or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / f"{ACCOUNT}.toml"
    path.write_text(text)
    return path


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", KEY)
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)


def test_the_kill_switchs_sale_is_the_last_equity_row(
    kestrel: CliRunner, tmp_path: Path, keys: None
) -> None:
    log = tmp_path / "log"
    config = write_config(tmp_path, f'kill_at = 3, kill_file = "{log / "KILL"}"')
    db = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "live", str(config), "--live", "--replay", str(config), "--speed", "lockstep",
        "--db", db, "--log-dir", str(log),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "killed: orders canceled, positions sold, halted): 3 bars" in result.out
    with sqlite3.connect(tmp_path / "k.db") as conn:
        fills = conn.execute(
            "SELECT side, quantity, price, fee FROM live_fills WHERE account = ? "
            "AND client_id != 'baseline' ORDER BY ts_event",
            (ACCOUNT,),
        ).fetchall()
        rows = conn.execute(
            "SELECT ts_ns, cash, equity, gross_exposure FROM live_equity WHERE account = ? "
            "ORDER BY ts_ns",
            (ACCOUNT,),
        ).fetchall()
    assert fills == [
        ("buy", 0.05, 19_565.47, near(0.9782735)),
        ("sell", 0.05, 19_680.96, near(0.984048)),
    ]
    # bars 1 and 2 as they were; at 03:00 (the lockstep clock stands at bar 3's close when
    # the kill runs) the account after the sale: flat, equity = cash
    assert [r[2] for r in rows[:2]] == [near(9_999.0217265), near(10_001.0357265)]
    assert rows[-1] == (BAR_3_CLOSE_NS, near(KILLED_CASH), near(KILLED_CASH), 0.0)
    out = tmp_path / "report"
    report = kestrel("live-report", str(config), "--db", db, "--out", str(out))
    assert report.code == 0, report.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final_equity"] == near(KILLED_CASH)
    assert metrics["open_positions"] == 0
    shown = kestrel("runs", "show", f"live-{ACCOUNT}", "--db", db)
    assert shown.code == 0, shown.err
    assert "10,003.81" in shown.out
    assert "10,004.80" not in shown.out
