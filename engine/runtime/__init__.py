"""Runtime: the kernel's wiring and the drivers that run it.

- `kernel`: `build_kernel` and `Kernel.wire` — the whole bus wiring on one screen.
- `modes`: `RunMode` (`BACKTEST`, `NODE`) — what differs between modes, and the venue.
- `driver`: `Driver.step` — clock, venue, bus: the one step every mode takes.
- `backtest`: `run_backtest` — historical bars through the kernel.
- `node`: `TradingNode` — the kernel fed event by event (paper, live, replay).
- `inputs`: a config's bars, ticks, instruments, fx and funding, for every mode.
- `result`: `BacktestResult` — what a backtest produced (the report reads it by protocol).
- `runs`: `finish_run` — artifacts on disk and rows in the run store.
"""

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# Imported on first use (`engine.lazy`): the loop, pandas and numba load with a run.
if TYPE_CHECKING:
    from engine.runtime.backtest import run_backtest
    from engine.runtime.kernel import Kernel, build_kernel
    from engine.runtime.result import BacktestResult
    from engine.runtime.runs import finish_run
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "BacktestResult": "engine.runtime.result",
            "Kernel": "engine.runtime.kernel",
            "build_kernel": "engine.runtime.kernel",
            "finish_run": "engine.runtime.runs",
            "run_backtest": "engine.runtime.backtest",
        },
    )

__all__ = ["BacktestResult", "Kernel", "build_kernel", "finish_run", "run_backtest"]
