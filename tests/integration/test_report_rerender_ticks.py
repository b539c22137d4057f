"""A tick-data run's re-render shows the page the backtest wrote (audit finding 3).

`kestrel report RUN` re-read every ``[[data]]`` file as bars, so a ``kind = "trades"``
source failed with a false note ("missing required column 'open'") and the buy & hold
note named it as left out. The backtest's page draws bars only (`BacktestResult.frames`),
so the re-render now reads the bar sources as the backtest did and leaves the tick ones
to the run. The backtest's own page of a tick-only run had an empty start in its header
(no bar, so no first open): both pages now start at the run's first tick.
"""

from __future__ import annotations

from pathlib import Path

from engine.cli import main
from tests.integration.conftest import REPO
from tests.integration.report_page import notes, period

STRATEGY = '''
from engine.strategy import Strategy


class TickTrader(Strategy):
    """Buys 1,000 on the 11th trade tick, closes on the 5,001st."""

    def on_start(self, ctx):
        self.n = -1

    def on_trade(self, ctx, tick):
        self.n += 1
        if self.n == 10:
            ctx.buy(tick.symbol, 1000)
        elif self.n == 5000:
            ctx.close_position(tick.symbol)
'''

TRADES = REPO / "data" / "XRP_ETH_trades_20191011_20191013.csv"
BARS = REPO / "data" / "XRP_ETH_5m_20191011_20191013.csv"
INDICATOR_NOTE = "rendered from the run folder: indicator lines are not stored with a run"


def run_and_rerender(tmp_path: Path, with_bars: bool) -> tuple[str, str]:
    """Back-test the tick strategy, re-render its folder; return both pages."""
    (tmp_path / "ticker.py").write_text(STRATEGY)
    bars = f'[[data]]\npath = "{BARS}"\nsymbol = "XRP/ETH"\n' if with_bars else ""
    config = tmp_path / "ticks.toml"
    config.write_text(
        '[account]\ninitial_cash = 10.0\ncurrency = "ETH"\n'
        f'{bars}[[data]]\npath = "{TRADES}"\nsymbol = "XRP/ETH-T"\nkind = "trades"\n'
        '[[instruments]]\nsymbol = "XRP/ETH-T"\nlot_size = 1.0\ntick_size = 1e-8\n'
        '[strategy]\npath = "ticker.py:TickTrader"\n'
    )
    run = tmp_path / "run"
    assert main(["backtest", str(config), "--no-db", "--out", str(run)]) == 0
    assert main(["report", str(run)]) == 0
    return (run / "report.html").read_text(), (run / "report-rerender.html").read_text()


def test_a_tick_only_rerender_is_the_backtests_page(tmp_path: Path) -> None:
    own, again = run_and_rerender(tmp_path, with_bars=False)
    assert not any("missing required column" in note for note in notes(again))
    assert notes(again) == notes(own)
    assert period(own) == "2019-10-11 → 2019-10-13"  # the first tick's day, not blank
    assert period(again) == period(own)
    assert again == own


def test_a_bars_and_ticks_rerender_has_the_backtests_notes(tmp_path: Path) -> None:
    own, again = run_and_rerender(tmp_path, with_bars=True)
    kept = [note for note in notes(again) if not note.startswith(INDICATOR_NOTE)]
    assert kept == notes(own)
    assert len(notes(again)) == len(notes(own)) + 1  # the indicator note only
    assert period(again) == period(own) == "2019-10-11 → 2019-10-13"
