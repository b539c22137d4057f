"""Indicator families: one package per TA-Lib group, each holding kernel, streams and binding.

See :mod:`engine.indicators` for the layout and how to add an indicator.
"""
