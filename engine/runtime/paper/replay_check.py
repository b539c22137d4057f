"""Whether a ``kestrel paper --replay`` source serves exactly the config's symbols.

In: the run config's symbols (its ``[[data]]`` sources, in order), the symbols of the bar
frames the replay source holds (`engine.cli_exchange.replay_source`) and the ``--replay``
argument as typed. Out: nothing, or the one-line `ConfigError` (exit 2) that names both
symbol lists and what to replay instead.

Why before anything else: the local exchange serves the replay's symbols and the feed
subscribes to them, so a symbol the config does not trade reached a node without it
(``KeyError``, exit 3, after the account and its first rows were written), and a config
symbol the replay lacks was never delivered (the account ran on the others, silently).
Likewise a bar timeframe the config declares (``resample``, else ``timeframe``) that the
replay's bars do not have: the account ran on the replay's (5m bars for a 1h config).
`engine.cli_paper` calls this before the local exchange starts, the store is opened or any
file is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.config import RunConfig
from engine.errors import ConfigError
from engine.feeds import format_timeframe, parse_timeframe

__all__ = ["check_replay_symbols", "check_replay_timeframes"]


def check_replay_symbols(
    config_symbols: Sequence[str], served: Sequence[str], replay: str, command: str = "paper"
) -> None:
    """Refuse a replay whose bar symbols are not exactly the config's symbols.

    ``command``: the message's first word (``paper``, ``live``).

    Raises:
        ConfigError: A config symbol the replay has no bars of, or a replay symbol the
            config does not trade.
    """
    wanted = list(dict.fromkeys(config_symbols))
    having = list(dict.fromkeys(served))
    missing = [s for s in wanted if s not in having]
    extra = [s for s in having if s not in wanted]
    if not missing and not extra:
        return
    why = []
    if missing:
        why.append(f"no bars of {', '.join(missing)}")
    if extra:
        verb = "is" if len(extra) == 1 else "are"
        why.append(f"{', '.join(extra)} {verb} not traded by the config")
    raise ConfigError(
        f"{command}: the config trades {', '.join(wanted)} but --replay {replay} serves "
        f"{', '.join(having)} ({'; '.join(why)}); replay the config itself (--replay CONFIG) "
        "or data of exactly its symbols (a data file's symbol is its name's, as in "
        "binance_BTC_USDT_1h.csv)"
    )


def check_replay_timeframes(
    config: RunConfig, served: Mapping[str, int], replay: str, command: str = "paper"
) -> None:
    """Refuse a replay whose bars are not the timeframe the config declares for a symbol.

    ``served``: symbol -> bar length (ns) of the replay's frames. A ``bars`` source's
    ``resample``, else its ``timeframe``, is what a backtest of the config trades on; a
    source declaring neither takes the replay's.

    Raises:
        ConfigError: A declared timeframe the replay's bars of that symbol do not have.
    """
    for source in config.data:
        declared = source.resample or source.timeframe
        if source.kind != "bars" or not declared or source.symbol not in served:
            continue
        if parse_timeframe(declared) != served[source.symbol]:
            raise ConfigError(
                f"{command}: the config trades {source.symbol} on {declared} bars but --replay "
                f"{replay} serves {format_timeframe(served[source.symbol])} bars; replay the "
                "config itself (--replay CONFIG, resampled as it says) or a file of "
                f"{declared} bars"
            )
