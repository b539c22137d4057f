"""Stopping the local exchange mid-replay leaves no pending task behind.

With a finite speed the replay driver is waiting for the next bar when `stop` comes; it
must be cancelled *and awaited* before the loop closes, else asyncio reports "Task was
destroyed but it is pending!" on stderr at exit (seen at the end of ``kestrel paper``).
"""

from __future__ import annotations

import gc
import logging
import time

import pytest

from tests.contract.conftest import btc_rows, make_exchange


def test_stop_while_the_driver_waits_reports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    exchange = make_exchange(btc_rows(20), speed=3600.0, history=2)  # a bar a second
    time.sleep(0.3)  # the driver now waits for the next boundary
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        exchange.stop()
        gc.collect()
    assert [r.getMessage() for r in caplog.records if "pending" in r.getMessage()] == []
