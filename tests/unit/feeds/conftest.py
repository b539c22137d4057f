"""Shared fixtures for feed tests."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def bars() -> pd.DataFrame:
    """Return three valid 1h bars starting 2021-01-01T00:00Z, epoch-ms timestamps."""
    return pd.DataFrame(
        {
            "timestamp": [1609459200000, 1609462800000, 1609466400000],
            "open": [10.0, 11.0, 12.0],
            "high": [11.5, 12.5, 13.5],
            "low": [9.5, 10.5, 11.5],
            "close": [11.0, 12.0, 13.0],
            "volume": [1.0, 2.0, 3.0],
        }
    )
