"""Full-length kernel arrays that fault in as cheaply as numpy's.

numpy asks Linux for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every array of
4 MB or more, so TA-Lib's outputs, allocated by numpy, fault in 2 MB at a time. An array
numba allocates inside a kernel is plain ``malloc`` memory and faults in 4 kB at a time:
on a virtual machine that is ~0.9 µs per page, about 2 ms for one 1M-bar float64 output,
more than most kernels' arithmetic. :func:`new_array` gives kernel allocations numpy's
treatment: the same threshold, the same advice, nothing else changes (on other platforms
it is plain ``np.empty``).

The ``madvise`` call is emitted as an external symbol resolved by name when the kernel is
loaded, so kernels that use it stay cacheable on disk (a ctypes pointer would not).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba.core import cgutils, types
from numba.core.extending import intrinsic

from engine.indicators._common import FloatArray
from engine.indicators._jit import kernel

NAN = np.nan
_ADVISE = sys.platform.startswith("linux")
_MADV_HUGEPAGE = 14  # Linux's value
_THRESHOLD = 1 << 22  # numpy advises from 4 MB
_PAGE = 4096


@intrinsic
def _madvise(typingctx: Any, address: Any, length: Any) -> Any:
    """``madvise(address, length, MADV_HUGEPAGE)`` from libc, ignoring the result."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, ir.FunctionType(i32, [i64, i64, i32]), "madvise"
        )
        return builder.call(function, [args[0], args[1], ir.Constant(i32, _MADV_HUGEPAGE)])

    return types.int32(types.int64, types.int64), codegen


@kernel
def _advise(out: FloatArray) -> None:
    size = out.shape[0] * 8
    if size >= _THRESHOLD:
        address = out.ctypes.data
        offset = _PAGE - address % _PAGE
        _madvise(address + offset, size - offset)  # type: ignore[call-arg]


@kernel
def _no_advice(out: FloatArray) -> None:
    return None


_advise_huge = _advise if _ADVISE else _no_advice


@kernel
def new_array(n: int) -> FloatArray:
    """``np.empty(n)`` (float64) with numpy's huge-page advice for large arrays."""
    out = np.empty(n)
    _advise_huge(out)
    return out


@kernel
def nan_array(n: int) -> FloatArray:
    """``np.full(n, nan)`` with numpy's huge-page advice for large arrays."""
    out = new_array(n)
    out[:] = NAN
    return out


@kernel
def nan_head(n: int, head: int) -> FloatArray:
    """:func:`new_array` with NaN in its first ``head`` slots only.

    For kernels that write every slot from ``head`` on: filling the whole array with NaN
    first would be one more pass over memory than TA-Lib makes.
    """
    out = new_array(n)
    out[: min(max(head, 0), n)] = NAN
    return out


@kernel
def copy_into(dest: FloatArray, source: FloatArray) -> None:
    """``dest[:] = source`` for arrays of one length that do not overlap, as a plain loop.

    Kernels copy with this instead of assigning an array to a slice: numba compiles that
    assignment's shape-mismatch message, and with it its string formatting, into the first
    kernel that uses one. That was ~60 extra functions and several seconds of compilation
    on the first run of a strategy using MAX/MIN (issue 13, ``benchmarks/bench_first_run.py``);
    the loop compiles to the same copy.
    """
    for i in range(source.shape[0]):
        dest[i] = source[i]
