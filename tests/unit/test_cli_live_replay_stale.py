"""The practice run's stall bound: `kestrel live --replay` notices a silent candle stream.

The local exchange speaks only when a candle opens or closes, so the venue's own bound for
hourly bars is 66 minutes: a live practice run at ``--speed max`` whose stream went silent
sat idle for the whole of it (the stop record said ``stale: 0``). The bound follows
``--speed`` as the paper replay's does.
"""

from __future__ import annotations

import pytest

from engine.adapters.ccxt.capabilities import capabilities
from engine.adapters.ccxt.watch import default_stale_after_s
from engine.cli_live_replay import REPLAY_LOCKSTEP_STALE_S, replay_stale_after_s
from engine.cli_paper import REPLAY_MAX_STALE_S
from engine.errors import ConfigError

HOUR_NS = 3_600 * 10**9
MINUTE_NS = 60 * 10**9


def test_the_venues_own_bound_would_be_an_hour_and_more_for_hourly_bars() -> None:
    assert default_stale_after_s(HOUR_NS // 10**6, capabilities("local")) == 3_960.0


def test_at_speed_max_a_silence_of_five_seconds_is_a_stall() -> None:
    assert replay_stale_after_s("max", [HOUR_NS]) == REPLAY_MAX_STALE_S == 5.0
    assert replay_stale_after_s("max", [MINUTE_NS, HOUR_NS]) == 5.0


def test_a_numeric_speed_scales_the_venues_bound_by_the_longest_timeframe() -> None:
    assert replay_stale_after_s("60", [HOUR_NS]) == 66.0  # 3,960 market s at 60 per s
    assert replay_stale_after_s("60", [MINUTE_NS, HOUR_NS]) == 66.0
    assert replay_stale_after_s("1000000", [HOUR_NS]) == 1.0  # never below a second


def test_lockstep_allows_the_node_its_bar_and_still_has_a_bound() -> None:
    assert replay_stale_after_s("lockstep", [HOUR_NS]) == REPLAY_LOCKSTEP_STALE_S == 60.0


def test_a_speed_that_is_no_number_is_one_line() -> None:
    with pytest.raises(ConfigError, match="speed"):
        replay_stale_after_s("fast", [HOUR_NS])
