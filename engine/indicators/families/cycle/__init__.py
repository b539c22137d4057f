"""Cycle family: TA-Lib's Hilbert Transform indicators (HT_*) and the MAMA/HT_TRENDLINE core.

``kernels`` (one numba pass of Ehlers' Hilbert Transform), ``streams`` (the same recursion
bar by bar), ``binding`` (which outputs each HT_* name reads).
"""
