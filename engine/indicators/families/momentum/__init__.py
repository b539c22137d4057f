"""Momentum family: TA-Lib's "Momentum Indicators" (RSI, MACD, STOCH, ADX, ...) and extras.

``kernels`` (rates of change, RSI/CMO, MACD lines, TSI, ...), ``kernels_directional``
(DM/DI/DX/ADX) and ``kernels_oscillators`` (stochastics, WILLR, AROON, ULTOSC, ...) are the
numba batch kernels; ``streams``, ``streams_range`` and ``streams_stoch`` their O(1) forms;
``binding`` ties each name to kernel, warm-up and stream. Split in three of each only to
keep files under ~600 lines.
"""
