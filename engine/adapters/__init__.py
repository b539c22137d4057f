"""Adapters to the outside world: ``ccxt`` (real exchanges) and ``local`` (the local exchange).

Only `engine.runtime` and the CLI import this package (see tests/unit/test_architecture.py);
ccxt itself is imported lazily, inside the functions that need it.
"""
