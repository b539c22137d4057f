"""A typed front for numba's ``njit`` so mypy sees kernels with their declared signatures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])


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
