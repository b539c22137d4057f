"""Candlestick family (CDL*): served by TA-Lib itself, so it has a binding and nothing else."""
