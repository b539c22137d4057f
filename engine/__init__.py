"""Kestrel: an event-driven trading engine with one kernel for backtest, paper and live."""
