"""The indicator registry: every TA-Lib function by name, with batch and streaming forms.

``resolve("SMA", {"timeperiod": 10})`` returns the :class:`IndicatorSpec` and the full
parameter set (defaults filled, types and limits checked). Strategies reach indicators
through ``ctx.indicator(name, symbol, **params)``, which calls :func:`resolve`.

A spec's names, parameters, limits and outputs come from TA-Lib's catalogue
(``_catalog.py``); its :attr:`IndicatorSpec.binding` (kernel, warm-up, stream) is looked up
in its family when first needed (``families/__init__.py``), so reading the registry imports
no numba kernel and computing an SMA imports the overlap family only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from engine.errors import IndicatorError, did_you_mean
from engine.indicators._binding import Binding
from engine.indicators._catalog import CATALOG, Range
from engine.indicators._common import (
    FloatArray,
    Kernel,
    as_series,
    check_lengths,
    run_kernel,
)
from engine.indicators.families import binding_of, family_of
from engine.indicators.streaming import StreamingIndicator

__all__ = ["Binding", "IndicatorSpec", "get", "names", "resolve", "specs"]


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator: names as TA-Lib spells them, and ways to compute it.

    Attributes:
        name: Lowercase TA-Lib name, e.g. ``"sma"``, ``"macd"``, ``"cdlengulfing"``.
        inputs: TA-Lib input names in order, e.g. ``("real",)`` or ``("high", "low", "close")``.
        params: Parameter names mapped to TA-Lib defaults, in TA-Lib order.
        outputs: TA-Lib output names in order, e.g. ``("macd", "macdsignal", "macdhist")``.
        group: TA-Lib function group, e.g. ``"Overlap Studies"``.
        display_name: TA-Lib's human-readable name.
        ranges: Accepted ``(low, high)`` limits per parameter, inclusive.
        integer_outputs: Outputs TA-Lib returns as integers (returned here as float64).
        family: The package under ``families/`` that serves it, e.g. ``"overlap"``.
    """

    name: str
    inputs: tuple[str, ...]
    params: Mapping[str, int | float]
    outputs: tuple[str, ...]
    group: str
    display_name: str
    ranges: Mapping[str, Range]
    integer_outputs: tuple[str, ...]
    family: str

    @property
    def binding(self) -> Binding:
        """Return the kernel and streaming engine (imports the family on first use)."""
        return binding_of(self.name)

    @property
    def kernel(self) -> Kernel:
        """Return the raw batch kernel (NaN-free start, validated parameters assumed)."""
        return self.binding.kernel

    def check_params(self, params: Mapping[str, object]) -> dict[str, int | float]:
        """Return ``params`` with defaults filled in, after checking names, types and limits.

        Raises:
            IndicatorError: A parameter is unknown, of the wrong type or out of range.
        """
        checked: dict[str, int | float] = dict(self.params)
        for key, raw in params.items():
            if key not in self.params:
                hint = did_you_mean(key, self.params) if self.params else " (it takes none)"
                raise IndicatorError(f"{self.name}: unknown parameter '{key}'{hint}.")
            checked[key] = self._coerce(key, raw)
        return checked

    def _coerce(self, key: str, raw: object) -> int | float:
        default = self.params[key]
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise IndicatorError(
                f"{self.name}: parameter '{key}' must be a number but got {raw!r}."
            )
        if isinstance(default, int):
            if isinstance(raw, float) and not raw.is_integer():
                raise IndicatorError(
                    f"{self.name}: parameter '{key}' must be a whole number but got {raw!r}."
                )
            value: int | float = int(raw)
        else:
            value = float(raw)
            if not math.isfinite(value):
                raise IndicatorError(f"{self.name}: parameter '{key}' must be finite.")
        low, high = self.ranges.get(key, (-math.inf, math.inf))
        if not low <= value <= high:
            raise IndicatorError(
                f"{self.name}: parameter '{key}' = {raw!r} is out of range; "
                f"TA-Lib accepts {_fmt(low)} to {_fmt(high)}."
            )
        return value

    def compute(self, arrays: Mapping[str, object], **params: int | float) -> dict[str, FloatArray]:
        """Compute every output over whole series, with TA-Lib's NaN warm-up.

        Args:
            arrays: Input name -> 1-D series (numpy array, pandas Series or sequence).
            **params: Parameters; missing ones take TA-Lib's defaults.

        Returns:
            Output name -> float64 array of the inputs' length.

        Raises:
            IndicatorError: Unknown or missing inputs, bad shapes, dtypes, lengths or params.
        """
        checked = self.check_params(params)
        missing = [name for name in self.inputs if name not in arrays]
        if missing:
            raise IndicatorError(
                f"{self.name}: missing input(s) {missing}; it needs {list(self.inputs)}."
            )
        extra = [name for name in arrays if name not in self.inputs]
        if extra:
            raise IndicatorError(
                f"{self.name}: unexpected input '{extra[0]}'{did_you_mean(extra[0], self.inputs)}."
            )
        series = [as_series(name, self.name, arrays[name]) for name in self.inputs]
        check_lengths(self.name, self.inputs, series)
        outputs = run_kernel(
            self.kernel, series, checked, len(self.outputs), self.binding.index_outputs
        )
        return dict(zip(self.outputs, outputs, strict=True))

    def lookback(self, **params: int | float) -> int:
        """Return the number of leading NaNs for these parameters (TA-Lib's lookback)."""
        return int(self.binding.lookback(self.check_params(params)))

    def streaming(self, **params: int | float) -> StreamingIndicator:
        """Return a fresh streaming instance for these parameters."""
        return self.binding.open_stream(self, self.check_params(params))

    def sibling_stream(self, name: str, **params: int | float) -> StreamingIndicator:
        """Return a fresh stream of indicator ``name`` (FOSC runs a TSF stream inside)."""
        return get(name).streaming(**params)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _build() -> Mapping[str, IndicatorSpec]:
    built: dict[str, IndicatorSpec] = {}
    for name, meta in CATALOG.items():
        built[name] = IndicatorSpec(
            name=name,
            inputs=meta.inputs,
            params=MappingProxyType(dict(meta.params)),
            outputs=meta.outputs,
            group=meta.group,
            display_name=meta.display_name,
            ranges=MappingProxyType(dict(meta.ranges)),
            integer_outputs=meta.integer_outputs,
            family=family_of(name),
        )
    return MappingProxyType(built)


_SPECS = _build()


def names() -> list[str]:
    """Return every indicator name, sorted."""
    return sorted(_SPECS)


def specs() -> list[IndicatorSpec]:
    """Return every indicator spec, sorted by name."""
    return [_SPECS[name] for name in names()]


def get(name: str) -> IndicatorSpec:
    """Return the spec for ``name`` (case-insensitive).

    Raises:
        IndicatorError: No indicator has that name; the message suggests the nearest.
    """
    if not isinstance(name, str):
        raise IndicatorError(f"An indicator name must be a string, not {name!r}.")
    spec = _SPECS.get(name.lower())
    if spec is None:
        raise IndicatorError(
            f"Unknown indicator '{name}'{did_you_mean(name.lower(), _SPECS)}. "
            "engine.indicators.names() lists them all."
        )
    return spec


def resolve(
    name: str, params: Mapping[str, object]
) -> tuple[IndicatorSpec, dict[str, int | float]]:
    """Return the spec for ``name`` and ``params`` checked, with defaults filled in.

    Raises:
        IndicatorError: Unknown name or parameter, wrong type, or value out of range.
    """
    spec = get(name)
    return spec, spec.check_params(params)
