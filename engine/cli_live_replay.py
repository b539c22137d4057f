"""The local exchange a ``kestrel live --replay`` practice run starts in-process.

In: the ``--replay`` data or config, ``--speed``, the keys' secret (the exchange checks
signatures with it), the warm-up's bar count, whether the config trades perpetuals and its
symbols. Out: the started `LocalExchange`, paused ``history`` bars in, playing the data to
its last bar's close (`Replay.end_at_last_close`; at ``--speed max`` its last bar stays in
progress, see `start_local`), and the bar frames it replays (`engine.cli_live` feeds and
paces the node from them); the staleness bound of the node's candle streams
(`replay_stale_after_s`: the paper replay's, from ``--speed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.config import RunConfig, load_config

if TYPE_CHECKING:
    from engine.feeds import BarFrame

__all__ = ["REPLAY_LOCKSTEP_STALE_S", "replay_stale_after_s", "start_local"]

# --speed lockstep: the exchange waits for the node to handle each bar, so a stream's
# silence includes that handling (orders, a commit) on a loaded machine: a minute of it is
# a stall, not a slow bar.
REPLAY_LOCKSTEP_STALE_S = 60.0


def replay_stale_after_s(speed: str, timeframes_ns: Iterable[int]) -> float:
    """Return the staleness bound (wall s) of the practice run's candle streams.

    The local exchange speaks only when a candle opens or closes: the venue's own bound
    (a timeframe and a tenth, 66 min for hourly bars) would leave a silent stream
    unnoticed for the whole of a replay at ``--speed max``. The paper replay's bound
    (`engine.cli_paper.replay_stale_after_s`: 5 s at max, scaled by a numeric speed);
    `REPLAY_LOCKSTEP_STALE_S` in lockstep.
    """
    from engine.cli_exchange import LOCKSTEP, replay_speed
    from engine.cli_paper import replay_stale_after_s as paper_bound

    if speed == LOCKSTEP:
        return REPLAY_LOCKSTEP_STALE_S
    return paper_bound(max(timeframes_ns), replay_speed(speed))


def start_local(
    replay: str, speed: str, secret: str, history: int, perpetual: bool, config: RunConfig
) -> tuple[Any, list[BarFrame]]:
    """Start the local exchange paused ``history`` bars in (the warm-up's source).

    ``perpetual``: it replays USDⓈ-M perpetuals, paying the funding of the replayed
    config's ``[[data]] funding`` series (none from a bare data file). ``config``: the
    node's (its symbols name a data file's bars when the file's name has none); the replay
    must serve exactly its symbols at the timeframes it declares, as ``paper --replay``
    checks (`engine.runtime.paper.replay_check`): else one line, before anything starts.
    """
    from engine.adapters.local import LocalExchange
    from engine.cli_exchange import replay_source, replay_speed
    from engine.runtime.inputs import load_funding
    from engine.runtime.paper.replay_check import check_replay_symbols, check_replay_timeframes

    symbols = config.symbols
    frames, instruments, balances, fee_rate, touch = replay_source(replay, None, "USDT", symbols)
    check_replay_symbols(symbols, [frame.symbol for frame in frames], replay, "live")
    check_replay_timeframes(config, {f.symbol: f.timeframe_ns for f in frames}, replay, "live")
    funding = load_funding(load_config(replay)) if perpetual and replay.endswith(".toml") else {}
    rate = replay_speed(speed, lockstep=True)  # lockstep: paused, the node steps it
    local = LocalExchange(
        frames, instruments, balances=balances, secret=secret, speed=rate, paused=True,
        history=history, fee_rate=fee_rate, touch=touch, perpetual=perpetual,
        funding=funding or None,
    )  # fmt: skip
    # the data's last bar closes too, as a paper replay's (`engine.cli_paper`): left open,
    # the run stopped one bar short of the backtest (its last bar never handled or marked).
    # Not at --speed max: that exchange runs ahead of the node to the end of the data, and
    # a last bar closed there would leave its late orders no market (canceled); left in
    # progress, they fill at its open (a rehearsal, never the backtest's fills)
    if speed != "max":
        local.replay.end_at_last_close()
    local.start()
    return local, frames
