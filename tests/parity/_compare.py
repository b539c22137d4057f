"""Comparison helpers shared by the parity tests."""

from __future__ import annotations

import numpy as np

# TA-Lib 0.8.1 computes the regression slope with a rounding about 1e-10 away from the
# exact value on prices near 3e4 (ours is closer to exact rational arithmetic); the angle
# multiplies that by 57, so it gets a looser bound. Every other function meets 1e-9.
TOLERANCE = {"linearreg_angle": 1e-7}
DEFAULT_TOLERANCE = 1e-9


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
