"""`engine.runtime.live.serverclock.ServerClock`: the exchange's time, read and carried on."""

from __future__ import annotations

import pytest

from engine.errors import ExchangeTransientError
from engine.runtime.live.serverclock import ServerClock

S = 1_000_000_000  # ns


class Rig:
    """A fake exchange clock (ms) and machine monotonic clock (ns) the test moves."""

    def __init__(self, server_ms: int) -> None:
        self.server_ms = server_ms
        self.monotonic = 500 * S
        self.reads = 0
        self.down = False

    def read(self) -> int:
        if self.down:
            raise ExchangeTransientError("fetching the exchange's time failed: timeout")
        self.reads += 1
        return self.server_ms


def test_it_carries_the_reading_on_at_the_machines_rate_and_reads_again_after_a_second() -> None:
    rig = Rig(1_606_780_800_000)  # a replay at 2020-12-01, paused
    clock = ServerClock(rig.read, lambda: rig.monotonic, max_age_s=1.0)
    assert clock() == 1_606_780_800_000 * 1_000_000
    rig.monotonic += S // 2
    assert clock() == 1_606_780_800_000 * 1_000_000 + S // 2  # carried on, not read
    assert rig.reads == 1
    rig.server_ms += 3_600_000  # the replay stepped an hour
    rig.monotonic += S  # more than a second since the reading: read again
    assert clock() == (1_606_780_800_000 + 3_600_000) * 1_000_000
    assert (rig.reads, clock.reads) == (2, 2)


def test_refresh_reads_at_once_and_a_failed_read_carries_the_clock_on() -> None:
    rig = Rig(1_000_000)
    clock = ServerClock(rig.read, lambda: rig.monotonic)
    rig.server_ms = 7_000_000
    assert clock.refresh() == 7_000_000 * 1_000_000  # the bar came: read now, however fresh
    rig.down = True
    rig.monotonic += 3 * S
    assert clock() == 7_000_000 * 1_000_000 + 3 * S  # the network is down: carried on
    assert clock.failures == 1
    rig.monotonic += S // 2
    assert clock() == 7_000_000 * 1_000_000 + 3 * S + S // 2  # not read again at once
    assert clock.failures == 1
    rig.down = False
    rig.monotonic += S
    assert clock() == 7_000_000 * 1_000_000 + 3 * S + S // 2  # read again, never back
    assert (rig.reads, clock.failures) == (3, 1)
    rig.server_ms = 9_000_000
    assert clock.refresh() == 9_000_000 * 1_000_000  # the exchange moved on: its time


def test_the_first_read_raises() -> None:
    rig = Rig(0)
    rig.down = True
    with pytest.raises(ExchangeTransientError):
        ServerClock(rig.read)


def test_against_a_paused_exchange_it_never_goes_back() -> None:
    rig = Rig(5_000)
    clock = ServerClock(rig.read, lambda: rig.monotonic)
    rig.monotonic += 9 * S // 10
    assert clock() == 5_000 * 1_000_000 + 9 * S // 10
    rig.monotonic += S // 5  # read again: the exchange is still at 5 s
    assert clock() == 5_000 * 1_000_000 + 9 * S // 10  # held, not back
    rig.server_ms = 3_605_000
    rig.monotonic += 2 * S
    assert clock() == 3_605_000 * 1_000_000
