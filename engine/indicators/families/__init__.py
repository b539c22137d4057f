"""Indicator families: one package per TA-Lib group, each holding kernels, streams and binding.

In: an indicator's lowercase name. Out: its :class:`Binding` (:func:`binding_of`), which
family serves it (:func:`family_of`), or every binding at once (:func:`all_bindings`).

A family's ``binding`` module, and with it numba and the family's kernels, is imported the
first time one of its indicators is computed or streamed, not when the registry is read:
names, parameters and outputs come from TA-Lib's catalogue (``_catalog.py``), so listing
indicators or checking a strategy's parameters loads no kernel, and a run that declares an
SMA loads the overlap family only (issue 13; ``tests/unit/test_import_cost.py``).

Which family serves a name is its TA-Lib group (:data:`FAMILY_OF_GROUP`), except for the
few names listed in :data:`ELSEWHERE`; ``tests/unit/indicators/test_indicator_families.py``
checks that every family's ``BINDINGS`` holds exactly the names this module sends to it.
Adding an indicator to the family of its group does not touch this module; see
:mod:`engine.indicators` for the layout and the steps.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from engine.errors import IndicatorError
from engine.indicators._binding import Binding
from engine.indicators._catalog import CATALOG

FAMILIES = ("overlap", "momentum", "cycle", "statistic", "volatility", "volume", "price", "candles")

FAMILY_OF_GROUP: Mapping[str, str] = {
    "Overlap Studies": "overlap",
    "Momentum Indicators": "momentum",
    "Cycle Indicators": "cycle",
    "Statistic Functions": "statistic",
    "Volatility Indicators": "volatility",
    "Volume Indicators": "volume",
    "Price Transform": "price",
    "Math Operators": "price",
    "Math Transform": "price",
    "Pattern Recognition": "candles",
}

# Names served by a family other than their group's: their kernels live with the technique.
ELSEWHERE: Mapping[str, str] = {
    "ht_trendline": "cycle",  # a Hilbert transform, like the rest of the cycle family
    "fractal": "price",  # a window extreme, like MAX/MIN
    "avgdev": "statistic",  # a rolling deviation, like STDDEV
}

_LOADED: dict[str, Mapping[str, Binding]] = {}


def family_of(name: str) -> str:
    """Return the family (package name under ``families/``) that serves indicator ``name``."""
    return ELSEWHERE.get(name) or FAMILY_OF_GROUP[CATALOG[name].group]


def load_family(family: str) -> Mapping[str, Binding]:
    """Return ``family``'s bindings, importing its binding module (and kernels) on first use."""
    bindings = _LOADED.get(family)
    if bindings is None:
        if family not in FAMILIES:
            raise IndicatorError(f"No indicator family {family!r}; families: {FAMILIES}.")
        module = importlib.import_module(f"{__name__}.{family}.binding")
        bindings = _LOADED[family] = module.BINDINGS
    return bindings


def binding_of(name: str) -> Binding:
    """Return the binding of indicator ``name`` (lowercase, a catalogue name)."""
    return load_family(family_of(name))[name]


def all_bindings() -> dict[str, Binding]:
    """Return every family's bindings, name -> binding (imports every family)."""
    found: dict[str, Binding] = {}
    for family in FAMILIES:
        found.update(load_family(family))
    return found
