"""Volatility family: TA-Lib's "Volatility Indicators" (ATR, NATR, TRANGE) and kin.

``kernels`` (numba true range, ATR and range averages), ``streams`` (O(1) running forms),
``binding`` (kernel, warm-up and stream per name).
"""
