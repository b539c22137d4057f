"""numba's BLAS probe is skipped at kernel import; a user's ``np.dot`` still gets BLAS."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from numba import njit
    import engine.indicators as ind

    ind.sma(np.arange(50.0), timeperiod=10)
    print("kernel", "scipy.linalg" in sys.modules, "numpy.f2py" in sys.modules)

    @njit
    def dot(a, b):
        return np.dot(a, b)

    a = np.linspace(0.0, 1.0, 101)
    b = np.linspace(2.0, 3.0, 101)
    print("dot", dot(a, b) == np.dot(a, b), "scipy.linalg" in sys.modules)
    """
)


def test_kernels_load_without_scipy_linalg_and_np_dot_still_uses_blas() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:2] == ["kernel False False", "dot True True"]
