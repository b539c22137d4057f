"""bench_peers' trade check: the engines it compares make the same trades (2,000 bars).

``benchmarks/bench_peers.py`` compares wall times only because every engine makes the
same closed trades; this runs its own preparation, commands and comparison on the first
2,000 bars of the issue-13 random walk (no time is asserted). Kestrel and the numba floor
always run; backtesting.py runs when its venv exists (``python benchmarks/bench_peers.py
--install-peers``), and is skipped with that reason otherwise.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.conftest import REPO

pytestmark = pytest.mark.slow

# what Kestrel's SMA 10/30 crossover does on these bars (checked against trades.csv)
FIRST = ("2020-09-13T13:33:40Z", 100.3811, "2020-09-13T13:34:40Z", 100.3347, 996.0)
LAST = ("2020-09-14T21:33:40Z", 89.4183, "2020-09-14T21:36:40Z", 89.1564, 1038.0)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_peers", REPO / "benchmarks" / "bench_peers.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while it is built
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


def _round(trades: list[tuple[str, float, str, float, float]]) -> list[tuple[object, ...]]:
    return [(a, round(p, 8), b, round(q, 8), n) for a, p, b, q, n in trades]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Each engine's output folder or file after one run on the same 2,000 bars."""
    work = tmp_path_factory.mktemp("peers")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)  # `python -m engine.cli` imports this checkout's engine
        patch.delenv("KESTREL_DB_URL", raising=False)
        with_backtesting = BENCH.PEERS_PYTHON.is_file()
        inputs = BENCH.prepare(work, 2_000, with_backtesting)
        outs = {}
        for engine in BENCH.ENGINES:
            if engine.key in ("kestrel", "floor") or (
                engine.key == "backtesting.py" and with_backtesting
            ):
                outs[engine.key] = work / engine.key
                BENCH.run_once(engine, inputs, outs[engine.key])
        yield outs


def test_kestrel_and_the_floor_make_the_same_trades(runs: dict[str, Path]) -> None:
    kestrel = BENCH.kestrel_trades(runs["kestrel"])
    floor = BENCH.peer_trades(runs["floor"])
    assert len(kestrel) == 38
    assert kestrel[0] == FIRST
    assert kestrel[-1] == LAST
    assert _round(floor) == _round(kestrel)  # every trade, quantities included
    floor_engine = [e for e in BENCH.ENGINES if e.key == "floor"]
    assert BENCH.check(floor_engine, runs) == {"floor": []}


def test_backtesting_py_makes_the_same_trades(runs: dict[str, Path]) -> None:
    if "backtesting.py" not in runs:
        pytest.skip("backtesting.py's venv benchmarks/.peers-venv is absent (--install-peers)")
    kestrel = BENCH.kestrel_trades(runs["kestrel"])
    peer = BENCH.peer_trades(runs["backtesting.py"])
    # backtesting.py sizes at the fill, Kestrel at the close: times and prices only
    assert [t[:4] for t in _round(peer)] == [t[:4] for t in _round(kestrel)]
    assert BENCH.differences(kestrel, peer, False) == []


def test_a_different_trade_is_reported(runs: dict[str, Path]) -> None:
    kestrel = BENCH.kestrel_trades(runs["kestrel"])
    shifted = list(kestrel)
    at, price, _, exit_price, size = shifted[4]
    shifted[4] = (at, price, "2020-09-13T20:00:40Z", exit_price, size)
    found = BENCH.differences(kestrel, shifted, True)
    assert len(found) == 1
    assert found[0].startswith("trade 5 differs: kestrel")
    assert "2020-09-13T20:00:40Z" in found[0]
    assert BENCH.differences(kestrel, kestrel[:-1], True) == ["38 trades vs 37"]
    resized = [(*t[:4], t[4] + 1) for t in kestrel]
    assert BENCH.differences(kestrel, resized, False) == []
    assert BENCH.differences(kestrel, resized, True)[0].startswith("trade 1 differs")


def test_a_difference_is_printed_loudly(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"engine": "e", "version": "v", "wall_s": 1.0, "peak_mib": 10.0, "trades": 2}
    figures = {
        "bars": 2_000,
        "rows": [row | {"key": "kestrel"}, row | {"key": "floor"}],
        "ratios": {"kestrel --no-db / floor": 1.0},
        "mismatches": {"floor": ["2 trades vs 1"]},
    }
    BENCH.show(figures)
    captured = capsys.readouterr()
    assert captured.err == "TRADES DIFFER: floor vs kestrel: 2 trades vs 1\n"
    assert "kestrel --no-db / floor: 1.00" in captured.out
    assert "backtesting.py: skipped" in captured.out
