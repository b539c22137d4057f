"""Whether a ``kestrel paper --replay`` source serves exactly the config's symbols.

In: the run config's symbols (its ``[[data]]`` sources, in order), the symbols of the bar
frames the replay source holds (`engine.cli_exchange.replay_source`) and the ``--replay``
argument as typed. Out: nothing, or the one-line `ConfigError` (exit 2) that names both
symbol lists and what to replay instead.

Why before anything else: the local exchange serves the replay's symbols and the feed
subscribes to them, so a symbol the config does not trade reached a node without it
(``KeyError``, exit 3, after the account and its first rows were written), and a config
symbol the replay lacks was never delivered (the account ran on the others, silently).
`engine.cli_paper` calls this before the local exchange starts, the store is opened or any
file is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import ConfigError

__all__ = ["check_replay_symbols"]


def check_replay_symbols(config_symbols: Sequence[str], served: Sequence[str], replay: str) -> None:
    """Refuse a replay whose bar symbols are not exactly the config's symbols.

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
        f"paper: the config trades {', '.join(wanted)} but --replay {replay} serves "
        f"{', '.join(having)} ({'; '.join(why)}); replay the config itself (--replay CONFIG) "
        "or data of exactly its symbols (a data file's symbol is its name's, as in "
        "binance_BTC_USDT_1h.csv)"
    )
