"""Which family serves each indicator, and that a family's kernels load only when used.

``engine.indicators.families`` sends each name to a family by its TA-Lib group (or its
``ELSEWHERE`` entry) without importing any binding; these tests check that every family's
``BINDINGS`` holds exactly the names sent to it, that the registry's specs reach those
very bindings, and (in a fresh interpreter) that reading the registry imports no family.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import IndicatorError
from engine.indicators import registry
from engine.indicators._catalog import CATALOG
from engine.indicators.families import (
    ELSEWHERE,
    FAMILIES,
    FAMILY_OF_GROUP,
    all_bindings,
    family_of,
    load_family,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_binds_exactly_the_names_routed_to_it(family: str) -> None:
    module = importlib.import_module(f"engine.indicators.families.{family}.binding")
    routed = {name for name in CATALOG if family_of(name) == family}
    assert set(module.BINDINGS) == routed
    assert routed  # no family is empty


def test_every_catalogue_name_is_bound_once() -> None:
    bound = all_bindings()
    assert set(bound) == set(CATALOG)
    assert len(CATALOG) == 201
    assert sum(len(load_family(family)) for family in FAMILIES) == len(CATALOG)


def test_the_exceptions_are_real_exceptions() -> None:
    # an ELSEWHERE entry that its group would route the same way is dead weight
    for name, family in ELSEWHERE.items():
        assert FAMILY_OF_GROUP[CATALOG[name].group] != family, name


def test_a_spec_reaches_its_familys_binding() -> None:
    spec = registry.get("sma")
    assert spec.family == "overlap"
    assert spec.binding is load_family("overlap")["sma"]
    assert registry.get("ht_trendline").family == "cycle"
    assert registry.get("cdlengulfing").family == "candles"
    assert spec.lookback(timeperiod=10) == 9


def test_an_unknown_family_is_an_indicator_error() -> None:
    with pytest.raises(IndicatorError, match="No indicator family 'trend'"):
        load_family("trend")


def test_reading_the_registry_imports_no_family_and_no_numba() -> None:
    code = (
        "import sys\n"
        "from engine.indicators import registry\n"
        "spec, params = registry.resolve('SMA', {'timeperiod': 10})\n"
        "assert params == {'timeperiod': 10}, params\n"
        "assert len(registry.names()) == 201\n"
        "assert [s.outputs for s in registry.specs()][0]\n"
        "loaded = sorted(m for m in sys.modules if m == 'numba' or '.families.' in m)\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"
