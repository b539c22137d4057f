"""The rules run config values are checked against, and the sane ranges of numbers.

In: a value and its name. Out: nothing, or `ValueError` with one sentence that names the
value, its allowed range or form and what was given; the config's dataclasses call these
in ``__post_init__`` and `engine.typed.build` turns the error into a `ConfigError`.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_AMOUNT",
    "MAX_LATENCY_NS",
    "MAX_LEVERAGE",
    "MAX_STEP",
    "MAX_WARMUP_BARS",
    "MIN_STEP",
    "currency_code",
    "in_range",
    "require",
]


def require(condition: bool, message: str) -> None:
    """Raise `ValueError` with ``message`` unless ``condition``."""
    if not condition:
        raise ValueError(message)


# Sane ranges of account and instrument numbers. Amounts are float64: above 1e15 one ulp is
# 0.125, so cash could no longer hold cents, and products such as cash x leverage or
# quantity x price head for overflow (1e308 cash made the first order size inf). Ticks and
# lots outside [1e-12, 1e6] are typos, not instruments (crypto goes down to 1e-8, share
# lots up to 1e3, index futures ticks up to a few hundred).
MAX_AMOUNT = 1e15
MIN_STEP = 1e-12
MAX_STEP = 1e6
MAX_LEVERAGE = 1_000.0
# A latency above a day is a unit mistake, not a latency: orders would silently reach the
# venue long after the decision (or never, within the data).
MAX_LATENCY_NS = 86_400 * 10**9
MAX_WARMUP_BARS = 1_000_000  # bars per symbol a paper account may warm up with


_CURRENCY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$")


def currency_code(name: str, value: str) -> None:
    """Require a currency code: letters and digits (``USD``, ``USDT``, ``1000SATS``)."""
    require(
        isinstance(value, str) and _CURRENCY.match(value) is not None,
        f"{name} must be a currency code such as USD or USDT (letters and digits, no "
        f"spaces), got {value!r}",
    )


def in_range(name: str, value: float, low: float, high: float, *, low_open: bool) -> None:
    """Require ``low < value <= high`` (``low <= value`` when not ``low_open``), finite."""
    above = value > low if low_open else value >= low
    require(
        math.isfinite(value) and above and value <= high,
        f"{name} must be in {'(' if low_open else '['}{low:g}, {high:g}], got {value}",
    )
