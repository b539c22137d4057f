"""The sweep page says when its table shows the best trials only.

Found hunting audit finding 10a (a chart drawing part of its markers without a word): the
sweep page's "Trials, best first" table holds the best 200 (`MAX_ROWS`) of a sweep's
trials, under a header counting them all, and did not say the rest were left out.
"""

from __future__ import annotations

from pathlib import Path

from engine.report.sweep_page import MAX_ROWS, SweepPoint, SweepView, render_sweep


def view(trials: int) -> SweepView:
    points = tuple(
        SweepPoint(number, {"fast": number}, (float(trials - number),), "complete")
        for number in range(trials)
    )
    return SweepView("s1", "strategies.sma_cross:SmaCross", ("fast",), ("sharpe",), ("maximize",),
                     points)  # fmt: skip


def test_a_long_sweeps_table_says_it_holds_the_best_only(tmp_path: Path) -> None:
    page = render_sweep(view(MAX_ROWS + 50), tmp_path / "sweep.html").read_text()
    assert page.count("<tr><td>") == MAX_ROWS
    assert "Showing the best 200 of 250 trials; every trial is in the run store" in page


def test_a_short_sweeps_table_shows_every_trial(tmp_path: Path) -> None:
    page = render_sweep(view(12), tmp_path / "sweep.html").read_text()
    assert page.count("<tr><td>") == 12
    assert "Showing the best" not in page
