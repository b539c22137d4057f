"""A re-render reads the bars as the run did (finding 4); the gaps column counts gaps (5).

Finding 4: `kestrel report RUN` re-read the bars without the ``[[data]] calendar`` of the
run's config, so USD/EUR (``calendar = "weekdays"`` in configs/portfolio_crypto_fx.toml)
was counted around the clock: the backtest's page said 104, the re-render 1,247.
Finding 5: the provenance column "gaps" held missing bars (104) beside a warning of
"25 gaps (104 missing 1h weekday bars)"; it now shows both, labelled.
Found beside them: a ``catalog://`` file was re-read with an inferred timeframe, not the
one its path names (the run's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine.cli import main
from engine.feeds.catalog import catalog_path, write_table
from tests.integration.conftest import REPO
from tests.integration.report_page import provenance


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The backtest's page and the re-render of the crypto + fx portfolio run."""
    run = tmp_path_factory.mktemp("fx") / "run"
    config = REPO / "configs" / "portfolio_crypto_fx.toml"
    assert main(["backtest", str(config), "--no-db", "--out", str(run)]) == 0
    assert main(["report", str(run)]) == 0
    return (run / "report.html").read_text(), (run / "report-rerender.html").read_text()


def test_the_rerender_counts_gaps_with_the_runs_calendar(pages: tuple[str, str]) -> None:
    own, again = pages
    names, rows = provenance(own)
    column = next(i for i, name in enumerate(names) if name.startswith("gaps"))
    assert provenance(again)[1]["USD/EUR"][column] == rows["USD/EUR"][column]
    assert provenance(again)[1]["BTC/USD"][column] == rows["BTC/USD"][column]


def test_the_gaps_column_counts_gaps_and_missing_bars_as_the_warning_does(
    pages: tuple[str, str],
) -> None:
    for page in pages:
        names, rows = provenance(page)
        column = names.index("gaps (missing bars)")
        warnings = names.index("warnings")
        assert rows["USD/EUR"][column] == "25 (104)"
        assert "25 gaps (104 missing 1h weekday bars)" in rows["USD/EUR"][warnings]
        assert rows["BTC/USD"][column] == "2 (8)"
        assert "2 gaps (8 missing 1h bars)" in rows["BTC/USD"][warnings]


def test_a_catalog_files_rerender_keeps_the_timeframe_in_its_path(tmp_path: Path) -> None:
    # a sparse hourly file (20 hours, then every other hour served): inferred, its bars
    # read as 2h ones (the most common spacing); the run reads them as the 1h its catalog
    # path names, and so must the re-render
    hours = np.concatenate((np.arange(20), np.arange(20, 400, 2))).astype(np.int64)
    prices = 100.0 + np.sin(hours / 9.0) * 5
    table = pa.table(
        {
            "timestamp": 1_600_000_000_000 + hours * 3_600_000,
            "open": prices,
            "high": prices + 1,
            "low": prices - 1,
            "close": prices,
            "volume": np.ones(hours.size),
        }
    )
    write_table(catalog_path(tmp_path / "data" / "catalog", "binance", "X/USDT", "1h"), table)
    config = tmp_path / "catalog.toml"
    config.write_text(
        '[[data]]\npath = "catalog://binance/X/USDT/1h"\nsymbol = "X/USDT"\n'
        '[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
    )
    run = tmp_path / "run"
    assert main(["backtest", str(config), "--no-db", "--out", str(run)]) == 0
    assert main(["report", str(run)]) == 0
    names, own = provenance((run / "report.html").read_text())
    again = provenance((run / "report-rerender.html").read_text())[1]
    timeframe = names.index("timeframe")
    assert own["X/USDT"][timeframe] == "1h"
    assert again["X/USDT"] == own["X/USDT"]
