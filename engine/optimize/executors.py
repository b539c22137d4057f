"""Executors: where a sweep's trials run, behind one interface (`Executor`).

In: the sweep's config and an iterable of `TrialSpec`. Out: their `TrialResult`, yielded as
they finish (in any order: the sweep stores each by its number).

- `LocalExecutor` (default): a process pool of ``workers`` processes (default: every core).
  The parent reads the market data once; on Linux the workers are forked from it right
  away, before any other thread starts (rich's progress bar, Ray), and share those arrays
  copy-on-write — nothing is read, parsed or pickled per worker or per trial, and no worker
  imports the engine again (about 5 s each on a busy machine). Elsewhere (macOS, Windows:
  no safe fork) the workers are spawned and receive the data once, in the pool's
  initializer. Only the small trial spec and its result cross the process boundary. Workers
  ignore SIGINT: Ctrl-C reaches the parent alone, which cancels the trials not yet started
  and lets the running ones end. At most ``4 × workers`` trials are queued at once, so a
  sweep of a million points does not build a million futures.
- `RayExecutor` (``pip install kestrel[ray]``): a local Ray instance with ``workers`` CPUs,
  or an existing cluster (``address``: ``auto`` or ``ray://host:port``). The data are read
  once by the driver and put in Ray's object store once (`ray.put`); every task gets the
  reference, which Ray resolves once per worker node from shared memory. Trials go in
  batches of ``batch_size`` (one task each), so short backtests are not dominated by the
  per-task overhead (a few ms). A task whose worker dies is retried once by Ray
  (``max_retries=1``); a trial that raises comes back failed and is run once more in a later
  batch; if it fails again it is recorded failed and the sweep goes on.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from types import TracebackType
from typing import Any, Protocol

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.optimize.trial import (
    FAILED,
    SweepData,
    TrialResult,
    TrialSpec,
    WarnOnce,
    run_trial,
    run_trials,
)

__all__ = [
    "Executor",
    "InlineExecutor",
    "LocalExecutor",
    "RayExecutor",
    "default_workers",
    "make_executor",
]

_WORKER: dict[str, SweepData] = {}  # per worker process: the data its initializer loaded


class Executor(Protocol):
    """Runs trials somewhere and yields their results as they finish."""

    workers: int

    def run(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        """Yield the result of every spec, in completion order."""
        ...

    def close(self) -> None:
        """Release the workers (idempotent)."""
        ...


def default_workers() -> int:
    """Return the number of cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_executor(kind: str, workers: int | None = None, address: str | None = None) -> None:
    """Refuse an executor choice that cannot work, before anything is started or stored.

    Raises:
        ConfigError: An unknown kind, workers < 1, ``address`` with the local executor, or Ray
            not installed.
    """
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if kind == "local":
        if address is not None:
            raise ConfigError("--address needs --executor ray")
    elif kind == "ray":
        if importlib.util.find_spec("ray") is None:
            raise ConfigError(
                "--executor ray needs Ray: pip install 'kestrel[ray]' (or use --executor local)"
            )
    else:
        raise ConfigError(f"--executor {kind!r} is not an executor (valid: 'local', 'ray')")


def make_executor(
    kind: str, config: RunConfig, workers: int | None = None, address: str | None = None
) -> Executor:
    """Return the executor ``kind`` (``local`` or ``ray``) for ``config``'s trials.

    Raises:
        ConfigError: See `check_executor`.
    """
    check_executor(kind, workers, address)
    if kind == "local":
        return LocalExecutor(config, workers or default_workers())
    return RayExecutor(config, workers, address)


def _init_worker(data: SweepData) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _WORKER["data"] = data


def _ready() -> bool:
    return True


def _pool_trial(spec: TrialSpec) -> TrialResult:
    return run_trial(_WORKER["data"], spec)


class LocalExecutor:
    """A process pool on this machine; each worker loads the market data once."""

    def __init__(self, config: RunConfig, workers: int) -> None:
        self.workers = workers
        self._say = WarnOnce()  # each trial's warning lines, said once per sweep
        method = "fork" if sys.platform == "linux" else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context(method),
            initializer=_init_worker,
            initargs=(SweepData.load(config),),
        )
        # A forking pool starts every worker at its first task: do it now, while this
        # process has a single thread (no lock can be copied half-held into a worker).
        self._pool.submit(_ready).result()

    def run(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        """Yield each spec's result as it finishes, with at most 4 × workers queued."""
        pending: set[Future[TrialResult]] = set()
        queue = iter(specs)
        try:
            for spec in queue:
                pending.add(self._pool.submit(_pool_trial, spec))
                if len(pending) >= 4 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (self._say(future.result()) for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (self._say(future.result()) for future in done)
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the pool: queued trials are dropped, running ones end first."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class InlineExecutor:
    """Trials one after another in this process (tests, notebooks, one-core machines)."""

    def __init__(self, config: RunConfig) -> None:
        self.workers = 1
        self._data = SweepData.load(config)
        self._say = WarnOnce()

    def run(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        """Yield each spec's result in order."""
        for spec in specs:
            yield self._say(run_trial(self._data, spec))

    def close(self) -> None:
        """Nothing to release."""


class RayExecutor:
    """Ray: a local instance or a cluster; data in the object store once; trials batched."""

    def __init__(
        self,
        config: RunConfig,
        workers: int | None = None,
        address: str | None = None,
        batch_size: int = 4,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--executor ray needs Ray: pip install 'kestrel[ray]' (or use --executor local)"
            ) from None
        self._ray: Any = ray
        self._owned = not ray.is_initialized()  # an instance the caller started stays up
        if self._owned:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                options["num_cpus"] = workers or default_workers()
            else:
                options["address"] = address
            ray.init(**options)
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self.workers = int(resources.get("CPU", workers or 1))
        self.batch_size = batch_size
        self.retried: set[int] = set()  # numbers of the trials run a second time
        self._say = WarnOnce()
        self._data = ray.put(SweepData.load(config))
        self._task = ray.remote(max_retries=1)(run_trials)

    def run(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        """Yield each spec's result; a failed trial is run once more before it is yielded."""
        ray = self._ray
        retried = self.retried
        batches: dict[Any, list[TrialSpec]] = {}
        queue = iter(specs)
        batch: list[TrialSpec] = []
        retry: list[TrialSpec] = []
        exhausted = False
        while not exhausted or batches or retry:
            while not exhausted and len(batches) < 2 * self.workers:
                spec = next(queue, None)
                if spec is None:
                    exhausted = True
                else:
                    batch.append(spec)
                if len(batch) == self.batch_size or (exhausted and batch):
                    batches[self._task.remote(self._data, batch)] = batch
                    batch = []
            if retry:
                batches[self._task.remote(self._data, retry)] = retry
                retry = []
            if not batches:
                continue
            done, _ = ray.wait(list(batches), num_returns=1)
            for ref in done:
                sent = batches.pop(ref)
                for result in self._results(ref, sent):
                    if result.status == FAILED and result.number not in retried:
                        retried.add(result.number)
                        retry.append(TrialSpec(result.number, result.params))
                    else:
                        yield self._say(result)

    def _results(self, ref: Any, sent: list[TrialSpec]) -> list[TrialResult]:
        try:
            results: list[TrialResult] = self._ray.get(ref)
            return results
        except self._ray.exceptions.RayError as exc:  # the task failed twice (worker died)
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            error = f"{type(exc).__name__}: {line}"
            return [TrialResult(s.number, s.params, FAILED, error=error) for s in sent]

    def close(self) -> None:
        """Disconnect from Ray if this executor connected (a local instance stops)."""
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
