"""A typed front for numba's ``njit`` so mypy sees kernels with their declared signatures."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

_BLAS = "scipy.linalg.cython_blas"


def _skip_blas_probe() -> None:
    """Import numba's array maths without its BLAS probe importing ``scipy.linalg``.

    At import, ``numba.np.arraymath`` sets ``_HAVE_BLAS`` by importing ``scipy.linalg``
    (and through it ``numpy.f2py``): ~0.27 s CPU, at the first kernel call of every
    process, although no kernel here uses BLAS. A ``None`` in ``sys.modules`` makes that
    one import fail at once, before its parents load; the flag is then set to what the
    probe finds with scipy installed (a dependency): True. Safe because the flag only
    chooses BLAS for a float ``np.dot`` compiled later, and that compilation imports
    ``scipy.linalg`` itself (numba's ``ensure_blas``), so user code that needs BLAS
    still gets it. The module is imported earlier than numba would (at its first
    compilation or cache load), which only moves the same registrations forward.
    """
    if "numba.np.arraymath" in sys.modules or _BLAS in sys.modules:
        return  # too late, or scipy.linalg is loaded already: nothing to save
    sys.modules[_BLAS] = None  # type: ignore[assignment]
    try:
        import numba.np.arraymath as arraymath
    finally:
        del sys.modules[_BLAS]
    arraymath._HAVE_BLAS = True


_skip_blas_probe()


def kernel(function: F) -> F:
    """Compile ``function`` with numba, cached on disk and releasing the GIL.

    Fused multiply-add contraction is allowed: TA-Lib 0.8 fuses its recursive averages
    (EMA family, Wilder, KAMA, SAR) too, and it shortens their dependency chain. TA-Lib
    does not fuse its plain accumulations: AD, PVT and VWAP use :func:`exact_kernel` and
    then match it bit for bit on 10^6 bars (fused, AD drifted 3.6e-11); VWMA goes from
    6e-14 to 3e-16.
    Caching keeps the first backtest after install from paying compilation twice; releasing
    the GIL lets :func:`engine.indicators.compute_panel` run assets in parallel threads.
    """
    return cast(F, njit(cache=True, nogil=True, fastmath={"contract"})(function))


def exact_kernel(function: F) -> F:
    """Like :func:`kernel` but without fused multiply-add contraction.

    The Hilbert-transform kernels must round exactly as TA-Lib's plain C does: on a flat
    series their phase is atan of two rounding residues, which one fused operation flips.
    """
    return cast(F, njit(cache=True, nogil=True)(function))
