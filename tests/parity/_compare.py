"""Comparison helpers shared by the parity tests."""

from __future__ import annotations

import numpy as np

# Values: relative error (absolute below 1) per function; every function not listed meets
# DEFAULT_TOLERANCE. Each entry is also listed in docs/indicators.md.
TOLERANCE = {
    # TA-Lib 0.8.1 computes the regression slope with a rounding about 1e-10 away from the
    # exact value on prices near 3e4 (ours is closer to exact rational arithmetic); the
    # angle multiplies that by 57, so it gets a looser bound.
    "linearreg_angle": 1e-7,
    # BETA divides by n * sum(x^2) - sum(x)^2, which cancels 7+ digits when a window's
    # returns are nearly equal (a steady trend on a cent grid: beta of -1963); TA-Lib
    # 0.8.1 sums in an order we could not reproduce, so the two differ in the lost digits
    # (2.1e-6 worst on the 1M-bar cent grid, 5e-10 on the random walk).
    "beta": 1e-5,
}
DEFAULT_TOLERANCE = 1e-9

# Sign and zero are decisions and must match exactly -- except, for the functions below,
# below an absolute noise floor, where the value is the rounding residue of a difference of
# two nearly equal terms and its sign is not a decision TA-Lib makes either. Each entry is
# also listed in docs/indicators.md. Values still meet the tolerance above.
NOISE_FLOOR = {
    # TA-Lib keeps running flow sums, so a side whose window holds no flow reads a ~1e-15
    # residue; ours resets that side to exactly 0 (MFI exactly 0 or 100).
    "mfi": 1e-9,
    # Same for one input flat over the window: TA-Lib's running sums leave ~1e-15, ours 0.
    "beta": 1e-9,
    # Differences of two averages that are equal in exact arithmetic (fast and slow SMA of a
    # flat stretch, a price and its own average, the smoothed %K of a flat range, a
    # regression slope of a flat window): each side rounds its running sums in its own
    # order, so both print a residue of 1e-16..1e-10 of either sign. Worst measured
    # residues on the 1M-bar cent grid: AO 1.9e-11, AC 5.3e-14, ADOSC 1.5e-11, COPPOCK
    # 8e-16, DPO 1.9e-11, ERI 8.5e-14, FOSC 2.4e-11, LINEARREG_SLOPE 9.5e-12, its ANGLE
    # (x 57 degrees per unit) 5.5e-10, MACDEXT 3.9e-14, MACDFIX 1.7e-13, STOCH/STOCHF
    # 3.6e-11, STOCHRSI 3.7e-12, CORREL 8e-11 (uncorrelated windows, r ~ 0).
    **dict.fromkeys(
        (
            "correl",
            "ao",
            "ac",
            "adosc",
            "coppock",
            "dpo",
            "eri",
            "fosc",
            "linearreg_slope",
            "macdext",
            "macdfix",
            "stoch",
            "stochf",
            "stochrsi",
        ),
        1e-9,
    ),
    "linearreg_angle": 1e-8,
}


def assert_close(name: str, label: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    """Assert equal NaN masks and values within relative (or, near zero, absolute) tolerance."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{name}/{label}: shape {ours.shape} != {theirs.shape}"
    nan_ours, nan_theirs = np.isnan(ours), np.isnan(theirs)
    mismatch = np.flatnonzero(nan_ours != nan_theirs)
    assert mismatch.size == 0, (
        f"{name}/{label}: NaN mask differs first at {mismatch[:5]}: "
        f"ours={ours[mismatch[:3]]} talib={theirs[mismatch[:3]]}"
    )
    # Identical values (including matching infinities from EXP/COSH overflow) are exact.
    valid = ~nan_theirs & (ours != theirs)
    scale = np.maximum(1.0, np.abs(theirs[valid]))
    error = np.abs(ours[valid] - theirs[valid]) / scale
    limit = TOLERANCE.get(name, DEFAULT_TOLERANCE)
    if error.size and error.max() > limit:
        worst = np.flatnonzero(valid)[error.argmax()]
        raise AssertionError(
            f"{name}/{label}: error {error.max():.3g} > {limit:g} at {worst}: "
            f"ours={ours[worst]!r} talib={theirs[worst]!r}"
        )


def assert_decisions_and_values(
    name: str, label: str, ours: np.ndarray, theirs: np.ndarray
) -> None:
    """Assert equal NaN masks, signs and exact zeros, then values within tolerance.

    A sign or zero that differs is a different decision (a tie broken the other way, a flat
    window read as non-flat), never rounding, so it is reported with its count and the first
    row, which is where to start debugging.
    """
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    both = ~np.isnan(ours) & ~np.isnan(theirs)
    above = np.maximum(np.abs(ours), np.abs(theirs)) > NOISE_FLOOR.get(name, 0.0)
    flipped = np.flatnonzero(both & above & (np.sign(ours) != np.sign(theirs)))
    if flipped.size:
        first = flipped[0]
        raise AssertionError(
            f"{name}/{label}: sign or zero differs on {flipped.size} rows, first at {first}: "
            f"ours={ours[first]!r} talib={theirs[first]!r}"
        )
    assert_close(name, label, ours, theirs)


def talib_outputs(
    name: str, data: dict[str, np.ndarray], params: dict[str, object]
) -> tuple[np.ndarray, ...]:
    """Return TA-Lib's outputs for ``name`` as float64, integer outputs NaN-padded like ours."""
    import talib
    import talib.abstract

    import engine.indicators as ta

    spec = ta.get(name)
    result = getattr(talib, name.upper())(*[data[k] for k in spec.inputs], **params)
    result = result if isinstance(result, tuple) else (result,)
    lookback = talib.abstract.Function(name.upper(), **params).lookback
    outputs = []
    for output, values in zip(spec.outputs, result, strict=True):
        values = values.astype(np.float64)
        if output in spec.integer_outputs:
            # TA-Lib pads integer outputs with 0; the library pads every output with NaN.
            begin = _first_row(data, spec.inputs) + lookback
            values[: min(begin, len(values))] = np.nan
        outputs.append(values)
    return tuple(outputs)


def _first_row(data: dict[str, np.ndarray], inputs: tuple[str, ...]) -> int:
    valid = np.ones(len(data[inputs[0]]), dtype=bool)
    for key in inputs:
        valid &= ~np.isnan(data[key])
    hits = np.flatnonzero(valid)
    return int(hits[0]) if hits.size else len(valid) - 1
