"""Overlap family: TA-Lib's "Overlap Studies" (moving averages, BBANDS, SAR, ...) and extras.

``kernels_ma`` (every moving average, the MA types behind ``matype``), ``kernels`` (bands,
channels, SUPERTREND, ...) and ``kernels_sar`` (parabolic SAR) are the numba batch kernels;
``streams`` their O(1) forms; ``binding`` ties each name to kernel, warm-up and stream.
"""
