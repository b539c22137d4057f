"""A live node's indicator warm-up: closed bars before the first live bar, on every start.

In: the run config, ``--warmup-bars`` / ``[live] warmup_bars`` (or neither), the live feed
(`engine.adapters.ccxt.CcxtFeed`), the exchange's clock and each symbol's timeframe. Out:
the warm-up bars per symbol as `BarFrame`s, which `TradingNode` fills its histories with
and primes the strategy's streaming indicators over, calling no hook and placing no order
(`engine.runtime.node`): the first live ``on_bar`` decides on warm indicators. The bars
are fetched afresh on a first start and on every restart (the store keeps none: a live
node's history is the exchange's), through the paper warm-up's fetcher
(`engine.runtime.paper.warmup.fetch_warmup`: a ``catalog://`` file first, the exchange's
``fetch_ohlcv`` for the rest).

How many, when not given (`default_warmup_bars`): the strategy is started on a throwaway
simulated node to see the indicators its ``on_start`` declares; each needs

* ``lookback + 1`` bars when its value depends on a finite window (SMA, Bollinger, ...):
  then the warmed value equals the backtest's exactly;
* ``20 x (lookback + 1)`` when it depends on all earlier bars (EMA, RSI, ATR, MACD,
  ...: the registry's ``memory = "history"``): their seed's weight has decayed below
  float noise for EMA-like smoothing (``(1 - 2/(n+1))^(20 n)`` is about ``e^-40``) and
  Wilder's ``(1 - 1/n)^(20 n)`` about ``e^-20`` (2e-9);

and the node takes the largest, capped at `MAX_WARMUP_BARS`. A strategy that reads
``ctx.history(symbol, n)`` itself needs ``--warmup-bars`` of at least ``n``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config import MAX_WARMUP_BARS, RunConfig
from engine.feeds import BarFrame
from engine.indicators import registry

__all__ = [
    "RECURSIVE_FACTOR",
    "default_warmup_bars",
    "fetch_live_warmup",
    "indicator_needs",
    "warmup_count",
]

RECURSIVE_FACTOR = 20  # bars per (lookback + 1) an infinite-memory indicator warms with


def indicator_needs(config: RunConfig) -> list[tuple[str, int]]:
    """Return ``(label, bars needed)`` for each indicator the strategy declares on start.

    The strategy runs its ``on_start`` on a throwaway node with the simulated broker: no
    order can leave it.

    Raises:
        PluginError, StrategyError: The strategy cannot be loaded or its ``on_start`` raised.
    """
    from engine.runtime.node import TradingNode

    probe = TradingNode(config)
    probe.start()
    needs: list[tuple[str, int]] = []
    for name, symbol, params in probe.kernel.runner.context.indicator_parameters():
        spec = registry.get(name)
        lookback = spec.lookback(**params)
        memory = spec.binding.memory
        kind = memory(spec.check_params(params)) if callable(memory) else memory
        factor = 1 if kind == "window" else RECURSIVE_FACTOR
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        needs.append((f"{name}({shown}) on {symbol}", factor * (lookback + 1)))
    return needs


def default_warmup_bars(config: RunConfig) -> int:
    """Return the bars per symbol the strategy's indicators need (0 without indicators)."""
    return min(max((bars for _, bars in indicator_needs(config)), default=0), MAX_WARMUP_BARS)


def warmup_count(config: RunConfig, flag: int | None) -> int:
    """Return ``--warmup-bars`` if given, else ``[live] warmup_bars``, else the default."""
    if flag is not None:
        return flag
    if config.live.warmup_bars is not None:
        return config.live.warmup_bars
    return default_warmup_bars(config)


async def fetch_live_warmup(
    config: RunConfig, feed: Any, count: int, until_ns: int, timeframes: Mapping[str, int]
) -> dict[str, BarFrame]:
    """Return the last ``count`` bars closed by ``until_ns`` per bar symbol, as frames.

    ``feed``: a checked `CcxtFeed`; ``timeframes``: symbol -> bar length (ns).
    """
    from engine.runtime.paper.session import warmup_frames
    from engine.runtime.paper.warmup import fetch_warmup

    if not count:
        return {}
    return warmup_frames(await fetch_warmup(config, feed, count, until_ns, timeframes))
