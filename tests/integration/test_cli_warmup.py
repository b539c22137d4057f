"""``kestrel warmup``: the numba kernels of the named configs land in the cache, nothing else.

Each test runs the command in a fresh interpreter with ``NUMBA_CACHE_DIR`` in a temporary
folder (numba reads it when it is imported, so it cannot change inside the test process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from engine.runtime.warmup import shipped_configs

ROOT = Path(__file__).resolve().parents[2]


def warmup(cache: Path, *configs: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", "warmup", *configs],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def cached(cache: Path) -> set[str]:
    """Return the kernels numba cached: ``module.function`` from each index file's name."""
    return {p.name.split("-")[0] for p in cache.rglob("*.nbi")}


def test_warmup_caches_the_kernels_a_config_uses_and_writes_no_run(tmp_path: Path) -> None:
    # a project of its own: the repository's backtests/ may be written by tests running
    # alongside (pytest-xdist), and a fresh clone has none
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "pyproject.toml").write_text("")
    shutil.copy(ROOT / "configs" / "sma_cross_goog.toml", project / "configs")
    shutil.copy(ROOT / "data" / "GOOG.csv", project / "data")
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    cache = tmp_path / "cache"
    done = warmup(cache, "configs/sma_cross_goog.toml", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("warm: configs/sma_cross_goog.toml (")
    assert done.stdout.splitlines()[-1].startswith("numba cache warmed for 1 of 1 config(s) in ")
    kernels = cached(cache)
    assert "kernels_ma.sma" in kernels  # the SMA crossover's indicator
    assert "kernels_window.rolling_max" not in kernels  # only what the run used
    after = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert after == before  # no artifacts, no store


def test_a_config_that_fails_is_one_line_and_the_others_still_warm(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = warmup(cache, "configs/no_such_config.toml", "configs/sma_cross_goog.toml")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    # the config named once: the error names it, the line does not repeat it before
    assert done.stderr.startswith("error: config file 'configs/no_such_config.toml' does not")
    assert done.stderr.count("no_such_config.toml") == 1
    assert "Traceback" not in done.stderr
    assert done.stdout.splitlines()[-1].startswith("numba cache warmed for 1 of 2 config(s)")
    assert "kernels_ma.sma" in cached(cache)


def test_the_default_configs_are_the_shipped_ones() -> None:
    names = [p.relative_to(ROOT).as_posix() for p in shipped_configs(ROOT)]
    assert names == sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("configs/*.toml"))
    assert "configs/sma_cross_btc.toml" in names  # make demo's config
