"""Parameter search, overfitting guards and walk-forward analysis (``kestrel optimize``).

In: a run config and the parameters to search. Out: trial results (metrics, per-day
returns or the error), the sweep's ranking and guards, a walk-forward's windows and
stitched out-of-sample curve. The modules, in the order a sweep uses them:

- `space`: ``--param`` specs, the grid, seeded random draws, safe ``--constraint``s.
- `search`: `SweepSpec` (what a sweep searches, its id), the plan, ranking, Pareto front.
- `trial`: one backtest per parameter point in a worker; failures become results.
- `executors`: `LocalExecutor` (a process pool sharing the data), `RayExecutor`,
  `InlineExecutor`, behind the `Executor` protocol.
- `study`: Optuna (TPE, NSGA-II) by ask-and-tell over an executor.
- `sweep`: `execute_sweep`: run, store each trial through a `SweepSink`, compute guards.
- `guards`: deflated Sharpe ratio and PBO by CSCV.
- `walkforward`: in-sample choice, out-of-sample trading, stitching, efficiency, stability.

Only `engine.runtime` and the CLI import this package (DESIGN §2); it never imports the
store: the CLI hands `execute_sweep` the store's `engine.persistence.sweeps.SweepStore`.
"""

from engine.optimize.executors import Executor, InlineExecutor, LocalExecutor, RayExecutor
from engine.optimize.guards import deflated_sharpe, pbo_cscv
from engine.optimize.search import SweepSpec
from engine.optimize.sweep import SweepOutcome, execute_sweep
from engine.optimize.trial import SweepData, TrialResult, TrialSpec, run_trial
from engine.optimize.walkforward import plan_windows, walk_forward

__all__ = [
    "Executor",
    "InlineExecutor",
    "LocalExecutor",
    "RayExecutor",
    "SweepData",
    "SweepOutcome",
    "SweepSpec",
    "TrialResult",
    "TrialSpec",
    "deflated_sharpe",
    "execute_sweep",
    "pbo_cscv",
    "plan_windows",
    "run_trial",
    "walk_forward",
]
