"""TA-Lib-shaped public functions built from the registry, plus the many-assets form."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from engine.errors import IndicatorError
from engine.indicators._common import FloatArray, run_kernel
from engine.indicators.registry import IndicatorSpec, get


def make_function(spec: IndicatorSpec) -> Callable[..., Any]:
    """Build ``spec``'s TA-Lib-style function: inputs, then parameters, then outputs.

    The function takes the inputs positionally (or by name) and the parameters positionally
    or by name, returns one array for one output and a tuple in TA-Lib's order otherwise,
    and returns pandas Series indexed like the first Series input when given Series.
    """
    n_inputs = len(spec.inputs)
    order = (*spec.inputs, *spec.params)

    def function(*args: Any, **kwargs: Any) -> Any:
        if len(args) > len(order):
            raise IndicatorError(
                f"{spec.name} takes at most {len(order)} positional arguments "
                f"({', '.join(order)}) but got {len(args)}."
            )
        bound = dict(zip(order, args, strict=False))
        for key, value in kwargs.items():
            if key in bound:
                raise IndicatorError(f"{spec.name}: '{key}' was given twice.")
            bound[key] = value
        arrays = {name: bound.pop(name) for name in spec.inputs if name in bound}
        if len(arrays) < n_inputs:
            missing = [name for name in spec.inputs if name not in arrays]
            raise IndicatorError(f"{spec.name}: missing input(s) {missing}.")
        index = next((a.index for a in arrays.values() if _is_series(a)), None)
        result = spec.compute(arrays, **bound)
        outputs = tuple(result[name] for name in spec.outputs)
        if index is not None:
            import pandas as pd

            named = tuple(
                pd.Series(out, index=index, name=name)
                for name, out in zip(spec.outputs, outputs, strict=True)
            )
            return named[0] if len(named) == 1 else named
        return outputs[0] if len(outputs) == 1 else outputs

    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in spec.inputs
    ]
    parameters += [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        for name, default in spec.params.items()
    ]
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    function.__name__ = spec.name
    function.__qualname__ = spec.name
    function.__doc__ = _docstring(spec)
    return function


def _is_series(value: object) -> bool:
    return type(value).__name__ == "Series" and hasattr(value, "index")


def _docstring(spec: IndicatorSpec) -> str:
    params = "".join(f"\n    {name}: default {default!r}" for name, default in spec.params.items())
    return (
        f"Compute {spec.display_name} ({spec.group}), like TA-Lib's {spec.name.upper()}.\n\n"
        f"Inputs: {', '.join(spec.inputs)}\n"
        f"Parameters:{params or ' none'}\n"
        f"Outputs: {', '.join(spec.outputs)}\n"
        f"Warm-up: the first lookback values are NaN (see spec.lookback()).\n"
    )


def compute_panel(
    name: str,
    arrays: Mapping[str, object],
    *,
    threads: int | None = None,
    **params: int | float,
) -> dict[str, FloatArray]:
    """Compute an indicator for many assets at once: rows are bars, columns are assets.

    Columns run in parallel threads; the kernels release the GIL, so this scales with
    cores once each column is long enough to outweigh thread hand-off (a few thousand bars).

    Args:
        name: Indicator name, case-insensitive.
        arrays: Input name -> 2-D array of shape (bars, assets); all the same shape.
        threads: Worker threads; defaults to the CPU count, capped at the number of assets.
        **params: Indicator parameters; missing ones take TA-Lib's defaults.

    Returns:
        Output name -> float64 array of shape (bars, assets).

    Raises:
        IndicatorError: Unknown name or parameters, inputs not 2-D or of different shapes.
    """
    spec = get(name)
    checked = spec.check_params(params)
    panels = {}
    for key in spec.inputs:
        if key not in arrays:
            raise IndicatorError(f"{spec.name}: missing input '{key}' for compute_panel.")
        panel = np.asarray(arrays[key])
        if panel.ndim != 2 or panel.dtype.kind not in "fiub":
            raise IndicatorError(
                f"{spec.name}: compute_panel needs numeric 2-D inputs (bars x assets); "
                f"'{key}' has shape {panel.shape} and dtype {panel.dtype}."
            )
        panels[key] = np.asarray(panel, dtype=np.float64)
    shapes = {p.shape for p in panels.values()}
    if len(shapes) != 1:
        raise IndicatorError(f"{spec.name}: compute_panel inputs have different shapes {shapes}.")
    bars, assets = shapes.pop()
    outputs = {out: np.full((bars, assets), np.nan) for out in spec.outputs}

    def column(j: int) -> None:
        series = [np.ascontiguousarray(panels[key][:, j]) for key in spec.inputs]
        for out, values in zip(
            spec.outputs,
            run_kernel(spec.kernel, series, checked, len(spec.outputs), spec.binding.index_outputs),
            strict=True,
        ):
            outputs[out][:, j] = values

    workers = max(1, min(threads or os.cpu_count() or 1, assets))
    if workers == 1 or assets < 2:
        for j in range(assets):
            column(j)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(column, range(assets)))
    return outputs
