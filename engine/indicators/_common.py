"""Input validation and the TA-Lib calling convention shared by every indicator.

TA-Lib's Python wrapper skips a leading run of NaNs (rows where any input is NaN), runs the C
function on the rest and pads the front of every output with NaN. The kernels here assume a
NaN-free start, so :func:`run_kernel` reproduces that convention around them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from engine.errors import IndicatorError

FloatArray = npt.NDArray[np.float64]
Params = Mapping[str, int | float]
# Leading-NaN scans look at this many rows at a time, so a short prefix costs little.
_CHUNK = 4096
Kernel = Callable[[Sequence[FloatArray], Params], tuple[FloatArray, ...]]
# TA-Lib 0.8.1's scaled zero test: a difference within 1e-14 of its operands' size is zero
# (two typical prices an ulp apart are a tie; a CCI gap that small is no gap). Here, not in
# the momentum kernels, so that streams of other families read it without loading those.
TIE = 1e-14
# BETA windows of at most this many returns are summed afresh at each bar, not kept as
# running sums (`statistic.kernels.beta`, `BetaStream`): here, so the stream reads it too.
BETA_FRESH_SUMS = 8


def as_series(name: str, indicator: str, value: object) -> FloatArray:
    """Return ``value`` as a contiguous 1-D float64 array or raise a clear error.

    Args:
        name: The input's name ("real", "high", ...), used in messages.
        indicator: The indicator's name, used in messages.
        value: A numpy array, pandas Series or sequence of numbers.

    Raises:
        IndicatorError: The value is not 1-D or not numeric.
    """
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()
    array = np.asarray(value)
    if array.ndim != 1:
        raise IndicatorError(
            f"{indicator}: input '{name}' must be 1-D but has shape {array.shape}; "
            "pass one series, or use compute_panel for a 2-D array of many assets."
        )
    if array.dtype.kind not in "fiub":
        raise IndicatorError(
            f"{indicator}: input '{name}' must be numeric but has dtype {array.dtype}; "
            "convert it with numpy.asarray(values, dtype=float)."
        )
    return np.ascontiguousarray(array, dtype=np.float64)


def check_lengths(indicator: str, names: Sequence[str], arrays: Sequence[FloatArray]) -> int:
    """Return the common length of ``arrays`` or raise if they differ."""
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        shown = ", ".join(f"{n}={len(a)}" for n, a in zip(names, arrays, strict=True))
        raise IndicatorError(
            f"{indicator}: inputs have different lengths ({shown}); align them first."
        )
    return lengths.pop() if lengths else 0


def first_valid_index(arrays: Sequence[FloatArray]) -> int:
    """Return the first row where no input is NaN, as TA-Lib's wrapper does.

    When every row has a NaN, TA-Lib starts at the last row; so do we. The common case (no
    NaN in the first row) costs one scalar check per input, not a pass over the data.
    """
    n = len(arrays[0])
    if n == 0:
        return 0
    if not any(math.isnan(array[0]) for array in arrays):
        return 0
    for i in range(0, n, _CHUNK):
        valid = np.ones(min(_CHUNK, n - i), dtype=np.bool_)
        for array in arrays:
            valid &= ~np.isnan(array[i : i + _CHUNK])
        hits = np.flatnonzero(valid)
        if hits.size:
            return i + int(hits[0])
    return n - 1


def run_kernel(
    kernel: Kernel,
    arrays: Sequence[FloatArray],
    params: Params,
    n_outputs: int,
    index_outputs: bool = False,
) -> tuple[FloatArray, ...]:
    """Run ``kernel`` past the leading NaN rows and pad its outputs back to full length.

    With ``index_outputs`` the outputs are positions (MAXINDEX and kin) and are shifted so
    they index the caller's full series, as TA-Lib's are.
    """
    n = len(arrays[0]) if arrays else 0
    if n == 0:
        return tuple(np.empty(0, dtype=np.float64) for _ in range(n_outputs))
    begin = first_valid_index(arrays)
    if begin == 0:
        return kernel(arrays, params)
    tails = kernel([np.ascontiguousarray(a[begin:]) for a in arrays], params)
    outputs = []
    for tail in tails:
        full = np.full(n, np.nan)
        full[begin:] = tail + begin if index_outputs else tail
        outputs.append(full)
    return tuple(outputs)
