"""Statistic family: TA-Lib's "Statistic Functions" (VAR, STDDEV, LINEARREG*, TSF, BETA, ...).

``kernels`` (numba rolling moments and regressions), ``streams`` (O(1) running sums),
``binding`` (kernel, warm-up and stream per name).
"""
