"""Warm numba's on-disk cache with the kernels that some configs' backtests use.

In: run config files. Out: one `Warmed` per config (its backtest's seconds, or the error
that stopped it); nothing is written except numba's cache (``NUMBA_CACHE_DIR``, else the
``__pycache__`` folders beside the kernels): no artifacts, no store rows.

Why: an indicator kernel compiles on its first call (``cache=True``, `engine.indicators`)
and later processes load it from the cache. Loading is cheap; compiling costs from a
fraction of a second (SMA) to several seconds (ATR, standard deviation and their helpers)
on a small machine. ``make demo`` runs ``kestrel warmup`` after its backtest so that the
first ``kestrel backtest`` of every shipped config is not more than ~1 s slower than the
second (issue 13; ``benchmarks/bench_first_run.py`` measures it).

How: each config is backtested in this process (`run_backtest`) and the result dropped. A
real run is the only reliable way to hit exactly the signatures a later run needs (numba
compiles per argument type: read-only or writable arrays, int or float parameters), and
it compiles only the kernels the configs use, not the whole library.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config import load_config
from engine.errors import KestrelError
from engine.runtime.backtest import run_backtest

__all__ = ["Warmed", "shipped_configs", "warm_up"]


@dataclass(frozen=True)
class Warmed:
    """What warming one config did.

    Attributes:
        config: The config file.
        seconds: Wall time of its backtest (compiling or loading its kernels included).
        error: The error that stopped its backtest (its kernels then compile on its first
            run), or None.
    """

    config: Path
    seconds: float
    error: KestrelError | None = None


def shipped_configs(root: Path) -> list[Path]:
    """Return the project's run configs: ``configs/*.toml`` under ``root``, sorted."""
    return sorted((root / "configs").glob("*.toml"))


def warm_up(configs: Sequence[Path]) -> Iterator[Warmed]:
    """Backtest each config in turn, dropping the results; yield what each one did.

    A config that fails (bad input, missing data) is reported in its `Warmed` and the
    others still run. KeyboardInterrupt propagates: what was compiled so far stays cached.
    """
    for config in configs:
        started = time.perf_counter()
        try:
            run_backtest(load_config(config))
        except KestrelError as exc:
            yield Warmed(config, time.perf_counter() - started, exc)
            continue
        yield Warmed(config, time.perf_counter() - started)
