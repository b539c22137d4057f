"""What ``import engine``, ``import engine.cli`` and the quick commands load (issue 13).

The CLI's start-up budget (0.3 s) is kept by importing pandas, numba, SQLAlchemy and the
optional libraries only in the commands that need them. Timing it here would be noisy, so
these tests pin *which libraries* get imported instead, each in a fresh interpreter; the
time itself is printed by ``benchmarks/bench_cli.py``. They also check that the lazy
package exports (`engine.lazy`) still give every public name.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import engine
from engine import lazy

ROOT = Path(__file__).resolve().parents[2]

# Libraries a quick command must not load: numerics and the loop (numpy ~0.1 s, pandas
# ~0.4 s, numba ~0.4 s with the indicator kernels), the store, the optional extras, and the
# OS keyring (~0.06 s; only `kestrel keys` and a live start without keys in the env need it).
HEAVY = (
    "numpy",
    "pandas",
    "pyarrow",
    "numba",
    "scipy",
    "sqlalchemy",
    "sklearn",
    "ccxt",
    "aiohttp",
    "plotly",
    "talib",
    "keyring",
)

_PROBE = textwrap.dedent(
    """
    import json, sys
    {setup}
    heavy = sorted(m for m in {heavy!r} if m in sys.modules)
    sys.stderr.write("\\nLOADED " + json.dumps(heavy) + "\\n")
    """
)


def loaded_after(setup: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Return which of ``heavy`` a fresh interpreter has loaded after running ``setup``."""
    code = _PROBE.format(setup=setup, heavy=heavy)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    marker = [line for line in done.stderr.splitlines() if line.startswith("LOADED ")]
    assert marker, f"the probe failed (exit {done.returncode}):\n{done.stderr}"
    result: list[str] = json.loads(marker[-1].removeprefix("LOADED "))
    return result


def cli_loads(*args: str) -> list[str]:
    """Return the heavy libraries loaded by ``kestrel ARGS`` (its exit code is not checked)."""
    return loaded_after(f"from engine.cli import main\nmain({list(args)!r})")


def test_the_probe_sees_a_heavy_import() -> None:
    assert loaded_after("import numpy") == ["numpy"]


@pytest.mark.parametrize("module", ["engine", "engine.cli", "engine.config", "engine.errors"])
def test_importing_loads_no_heavy_library(module: str) -> None:
    assert loaded_after(f"import {module}") == []


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("backtest", "--help"),
        ("keys", "--help"),
        ("no-such-command",),
        ("backtest", "configs/no_such_config.toml"),
        ("backtest", "configs/sma_cross_btc.toml", "--set", "no_such_key=1"),
        ("data", "inspect", "no_such_file.csv"),
        ("paper", "configs/no_such_config.toml"),
        ("paper", "configs/paper_btc.toml"),  # no market data source given
    ],
)
def test_quick_commands_and_input_errors_load_no_heavy_library(args: tuple[str, ...]) -> None:
    assert cli_loads(*args) == []


def test_runs_list_loads_the_store_only(tmp_path: Path) -> None:
    loaded = cli_loads("runs", "list", "--db", f"sqlite:///{tmp_path / 'runs.db'}")
    assert loaded == ["sqlalchemy"]


def test_a_backtest_loads_what_it_needs(tmp_path: Path) -> None:
    """The lazy imports are not skipped: a real run still gets pandas and numba."""
    out = tmp_path / "out"
    loaded = cli_loads("backtest", "configs/sma_cross_goog.toml", "--no-db", "--out", str(out))
    assert {"numpy", "pandas", "numba"} <= set(loaded)
    assert "sqlalchemy" not in loaded  # --no-db
    assert (out / "metrics.json").is_file()


def family_modules() -> tuple[str, ...]:
    """Return every indicator family's kernel and binding modules (by file, not by import)."""
    families = ROOT / "engine" / "indicators" / "families"
    files = [*families.glob("*/kernels*.py"), *families.glob("*/binding.py")]
    return tuple(sorted(f"engine.indicators.families.{f.parent.name}.{f.stem}" for f in files))


def test_an_sma_backtest_loads_the_overlap_family_only(tmp_path: Path) -> None:
    """Families load when an indicator of theirs is declared: SMA needs overlap's kernels."""
    out = tmp_path / "out"
    modules = family_modules()
    assert len(modules) >= 20  # every family's binding and at least one kernel module each
    args = ["backtest", "configs/sma_cross_goog.toml", "--no-db", "--out", str(out)]
    loaded = loaded_after(f"from engine.cli import main\nmain({args!r})", heavy=modules)
    # the run did load SMA's family (the probe sees what a run imports) ...
    assert "engine.indicators.families.overlap.kernels_ma" in loaded
    assert "engine.indicators.families.overlap.binding" in loaded
    # ... and nothing of the other seven families
    overlap = "engine.indicators.families.overlap."
    assert [name for name in loaded if not name.startswith(overlap)] == []
    assert (out / "metrics.json").is_file()


def test_rerendering_a_report_loads_no_indicator_library(tmp_path: Path) -> None:
    """`kestrel report RUN` draws from the run's files: no numba, no indicator code."""
    from engine.cli import main

    out = tmp_path / "run"
    config = str(ROOT / "configs" / "sma_cross_goog.toml")
    assert main(["backtest", config, "--no-db", "--out", str(out)]) == 0
    page = tmp_path / "again.html"
    args = ["report", str(out), "--out", str(page)]
    heavy = ("engine.indicators", "numba")
    assert loaded_after(f"from engine.cli import main\nmain({args!r})", heavy) == []
    assert page.is_file()


def test_the_report_modules_import_no_indicator_library() -> None:
    heavy = ("engine.indicators", "numba")
    assert loaded_after("import engine.report.html, engine.report.charts", heavy) == []


def test_every_public_name_resolves_to_its_module() -> None:
    from engine.config import load_config
    from engine.errors import KestrelError
    from engine.runtime.backtest import run_backtest

    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
    assert engine.load_config is load_config
    assert engine.run_backtest is run_backtest
    assert engine.KestrelError is KestrelError
    assert set(engine.__all__) <= set(dir(engine))


@pytest.mark.parametrize(
    "package",
    [
        "engine",
        "engine.feeds",
        "engine.persistence",
        "engine.report",
        "engine.runtime",
        "engine.strategy",
    ],
)
def test_star_import_gives_every_exported_name(package: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    module = sys.modules[package]
    for name in module.__all__:
        assert namespace[name] is getattr(module, name), f"{package}.{name}"


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="module 'engine' has no attribute 'load_confg'"):
        engine.load_confg  # type: ignore[attr-defined]  # noqa: B018
    from engine import paths  # a submodule, not an export

    assert paths.__name__ == "engine.paths"


def test_lazy_exports_import_on_first_use_and_keep_the_value() -> None:
    module = type(sys)("kestrel_lazy_probe")
    sys.modules[module.__name__] = module
    try:
        get, listing = lazy.lazy_exports(module.__name__, {"dedent": "textwrap"})
        assert "dedent" not in vars(module)
        assert get("dedent") is textwrap.dedent
        assert vars(module)["dedent"] is textwrap.dedent  # stored: later reads are plain
        assert "dedent" in listing()
        with pytest.raises(AttributeError, match="no attribute 'indent'"):
            get("indent")
    finally:
        del sys.modules[module.__name__]
