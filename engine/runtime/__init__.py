"""Runtime: the kernel's wiring and the drivers that run it.

- `kernel`: `build_kernel` and `Kernel.wire` — the whole bus wiring on one screen.
- `backtest`: `run_backtest` — historical bars through the kernel.
- `runs`: `finish_run` — artifacts on disk and rows in the run store.
"""

from engine.runtime.backtest import BacktestResult, run_backtest
from engine.runtime.kernel import Kernel, build_kernel
from engine.runtime.runs import finish_run

__all__ = ["BacktestResult", "Kernel", "build_kernel", "finish_run", "run_backtest"]
