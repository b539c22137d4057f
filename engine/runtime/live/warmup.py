"""A live node's indicator warm-up: closed bars before the first live bar, on every start.

In: the run config, ``--warmup-bars`` / ``[live] warmup_bars`` (or neither), the live feed
(`engine.adapters.ccxt.CcxtFeed`), the exchange's clock and each symbol's timeframe. Out:
the warm-up count (`warmup_count`, which also tells the user, one line per indicator, what
the warm-up cannot make equal to a backtest) and the warm-up bars per symbol as
`BarFrame`s, which `TradingNode` fills its histories with and primes the strategy's
streaming indicators over, calling no hook and placing no order (`engine.runtime.node`):
the first live ``on_bar`` decides on warm indicators. The bars are fetched afresh on a
first start and on every restart (the store keeps none: a live node's history is the
exchange's), through the paper warm-up's fetcher (`engine.runtime.paper.warmup.fetch_warmup`:
a ``catalog://`` file first, the exchange's ``fetch_ohlcv`` for the rest).

How many, when not given (`default_warmup_bars`): the strategy is started on a throwaway
simulated node to see the indicators its ``on_start`` declares; each needs (`bars_needed`,
from the registry's ``memory`` metadata, ``engine/indicators/_binding.py``)

* ``"window"`` (SMA, Bollinger, ...): ``lookback + 1`` bars; the warmed value then equals
  the backtest's exactly;
* ``"history"`` (EMA, RSI, ATR, MACD, ADOSC, Heikin-Ashi, ...: a seed whose weight decays
  geometrically): ``max(30 x (lookback + 1), 100)``. Wilder's ``(1 - 1/n)^(30 n)`` is about
  ``e^-30`` (1e-13), EMA's ``e^-60``; Heikin-Ashi's open halves its seed's weight a bar
  (lookback 0: the floor of 100). Measured over data/ (every TA-Lib function at default
  parameters, ``tests/unit/runtime/test_live_warmup_reference.py``): the slowest, CMO and
  DX, need 26 x (lookback + 1) to come within 1e-10 of the backtest; 20 x left them at 1e-8.
  KAMA (and any MA type 6) adapts: where prices go nowhere its smoothing falls to
  ``(2/31)^2`` a bar, whatever its period, so it needs `KAMA_BARS` (5,600: 1e-10); 30 x left
  3e-5 over the 5-minute volumes;
* ``"path"`` (SAR, SAREXT): `PATH_BARS` (400) at the default acceleration 0.02, times
  ``0.02 / acceleration`` below it (the slowest of SAREXT's long and short steps: 0.01
  took 310 bars at worst over data/, 0.005 675, 0.002 1,280). The value is a state machine (trend,
  extreme point, acceleration factor) that forgets its start only once a reversal made
  both runs agree, after a data-dependent number of bars, not a decay; started at every
  bar of every price file in data/, SAR became bit-equal to the batch from the file's start
  after at most 185 bars (99th percentile 78-133 per file); 40 (the old ``20 x 2``) left
  differences up to 2% (SAREXT: a wrong sign). A trend longer than any seen there could
  need more: ``--warmup-bars`` sets it;
* ``"cumulative"`` and bar-index outputs: ``lookback + 1``, and they are start-dependent
  (`START_DEPENDENT`), see below;

and the node takes the largest, capped at `MAX_WARMUP_BARS`. A strategy that reads
``ctx.history(symbol, n)`` itself needs ``--warmup-bars`` of at least ``n``.

Start-dependent indicators (decision): their value at a bar depends on where the data
starts, so no finite warm-up can equal a backtest's, whose data starts elsewhere:

* ``"sum"``: running totals (OBV, AD, PVT, WAD, CUMSUM) are the backtest's plus a constant:
  their changes bar to bar equal the backtest's, their levels never do;
* ``"product"``: NVI, PVI start at 1000 on the first bar: the backtest's times a constant,
  their ratios bar to bar equal;
* ``"average"``: VWAP is the volume-weighted average price since the first bar: since
  the warm-up's first bar here; neither level nor change is the backtest's;
* ``"index"``: MAXINDEX, MININDEX, MINMAXINDEX count bars from the first bar: the
  backtest's minus the bars between its data's start and the warm-up's (a constant); the
  bars since the extreme (the bar's position minus the value) equal.

Each restart fetches a new warm-up, so their levels start again from its first bar: a
level a strategy saved (``on_save``) before a restart is not comparable with one after.
Warming from the backtest's own data start is not possible in general (a live node does
not know which file a backtest read, nor does the exchange serve bars that old), so these
are not refused either: a strategy comparing changes, ratios or bars-since is right.
Nothing is silent: `warmup_count` tells the user at start, one line per such indicator
declared, with its name, symbol and which relation holds; and one line per indicator a
given ``--warmup-bars`` / ``[live] warmup_bars`` is too short for, with the count it needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from engine.config import MAX_WARMUP_BARS, RunConfig
from engine.feeds import BarFrame
from engine.indicators import registry

__all__ = [
    "HISTORY_MIN_BARS",
    "KAMA_BARS",
    "PATH_BARS",
    "RECURSIVE_FACTOR",
    "START_DEPENDENT",
    "bars_needed",
    "declared_indicators",
    "default_warmup_bars",
    "fetch_live_warmup",
    "indicator_needs",
    "memory_kind",
    "warmup_count",
    "warmup_notices",
]

RECURSIVE_FACTOR = 30  # bars per (lookback + 1) a decaying ("history") indicator warms with
HISTORY_MIN_BARS = 100  # a decaying indicator's floor: lookback 0 (Heikin-Ashi) still decays
PATH_BARS = 400  # SAR's ("path"): over twice the 185 bars it took at worst over data/
# KAMA's smoothing falls to (2/31)^2 a bar where prices go nowhere: its seed's weight is
# below 1e-10 after ln(1e10) / -ln(1 - (2/31)^2) = 5,522 bars whatever the period.
KAMA_BARS = 5_600
SAR_STEPS = ("acceleration", "accelerationlong", "accelerationshort")  # SAR's, SAREXT's
DEFAULT_SAR_STEP = 0.02
KAMA = 6  # TA-Lib's MA type code of KAMA

# Name -> how its value relates to a backtest's (module docstring); tested against the
# registry: exactly the "cumulative" indicators and those with bar-index outputs.
START_DEPENDENT: Mapping[str, str] = MappingProxyType(
    {
        "obv": "sum",
        "ad": "sum",
        "pvt": "sum",
        "wad": "sum",
        "cumsum": "sum",
        "nvi": "product",
        "pvi": "product",
        "vwap": "average",
        "maxindex": "index",
        "minindex": "index",
        "minmaxindex": "index",
    }
)
_RELATION = {
    "sum": "is a running total: its level counts from the warm-up's first bar and cannot "
    "equal a backtest's (counted from its data's first bar); its bar-to-bar changes do",
    "product": "is a running product from 1000 at the warm-up's first bar: its level cannot "
    "equal a backtest's; its bar-to-bar ratios do",
    "average": "is an average since the warm-up's first bar (a backtest's: since its data's "
    "first bar): neither its level nor its changes equal a backtest's",
    "index": "gives bar positions counted from the warm-up's first bar: a backtest's minus a "
    "constant; the bars since the extreme (the bar's position minus the value) equal a "
    "backtest's",
}
Declared = tuple[str, str, dict[str, int | float]]  # (registry name, symbol, parameters)


def memory_kind(name: str, params: Mapping[str, int | float]) -> str:
    """Return the registry's ``memory`` of ``name`` with ``params``.

    One of ``"window"``, ``"history"``, ``"path"``, ``"cumulative"``
    (`engine.indicators._binding.Binding`).
    """
    spec = registry.get(name)
    memory = spec.binding.memory
    return memory(spec.check_params(params)) if callable(memory) else memory


def bars_needed(name: str, params: Mapping[str, int | float]) -> int:
    """Return the warm-up bars indicator ``name`` needs with ``params`` (module docstring)."""
    lookback = registry.get(name).lookback(**params)
    kind = memory_kind(name, params)
    if kind == "history":
        decayed = max(RECURSIVE_FACTOR * (lookback + 1), HISTORY_MIN_BARS)
        return max(decayed, KAMA_BARS) if _adapts_like_kama(name, params) else decayed
    if kind == "path":
        return max(_sar_bars(registry.get(name).check_params(params)), lookback + 1)
    return lookback + 1  # a window, or start-dependent: no count makes its level equal


def _sar_bars(params: Mapping[str, int | float]) -> int:
    # A smaller acceleration reverses less often: over data/ 0.01 took 310 bars at worst,
    # 0.005 675, 0.002 1,280; PATH_BARS (for 0.02) x 0.02 / acceleration stays above them.
    steps = [float(params[key]) for key in SAR_STEPS if key in params]
    slowest = min(steps, default=DEFAULT_SAR_STEP)
    if slowest >= DEFAULT_SAR_STEP:
        return PATH_BARS
    if slowest <= 0.0:  # an acceleration of 0 never forgets: as long as a node may warm
        return MAX_WARMUP_BARS
    return min(math.ceil(PATH_BARS * DEFAULT_SAR_STEP / slowest), MAX_WARMUP_BARS)


def _adapts_like_kama(name: str, params: Mapping[str, int | float]) -> bool:
    checked = registry.get(name).check_params(params)
    kama_type = any(key.endswith("matype") and value == KAMA for key, value in checked.items())
    return name == "kama" or kama_type


def declared_indicators(config: RunConfig) -> list[Declared]:
    """Return the indicators the strategy declares on start.

    The strategy runs its ``on_start`` on a throwaway node with the simulated broker: no
    order can leave it.

    Raises:
        PluginError, StrategyError: The strategy cannot be loaded or its ``on_start`` raised.
    """
    from engine.runtime.node import TradingNode

    probe = TradingNode(config)
    probe.start()
    return probe.kernel.runner.context.indicator_parameters()


def _label(name: str, symbol: str, params: Mapping[str, int | float]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{name}({shown}) on {symbol}"


def _needs(declared: list[Declared]) -> list[tuple[str, int]]:
    return [(_label(*item), bars_needed(item[0], item[2])) for item in declared]


def indicator_needs(config: RunConfig) -> list[tuple[str, int]]:
    """Return ``(label, bars needed)`` for each indicator the strategy declares on start."""
    return _needs(declared_indicators(config))


def default_warmup_bars(config: RunConfig) -> int:
    """Return the bars per symbol the strategy's indicators need (0 without indicators)."""
    return _largest(_needs(declared_indicators(config)))


def _largest(needs: list[tuple[str, int]]) -> int:
    return min(max((bars for _, bars in needs), default=0), MAX_WARMUP_BARS)


def warmup_notices(declared: list[Declared], count: int, given: bool) -> list[str]:
    """Return the lines that tell the user what a ``count``-bar warm-up cannot make equal.

    One per start-dependent indicator (`START_DEPENDENT`), one per indicator ``count``
    bars are too few for, a start-dependent one too (``given``: the count came from the
    flag or the config; else it is the derived one, short only when capped at
    `MAX_WARMUP_BARS`).
    """
    lines: list[str] = []
    for name, symbol, params in declared:
        label = _label(name, symbol, params)
        relation = START_DEPENDENT.get(name)
        if relation is not None:
            lines.append(f"warm-up: {label} {_RELATION[relation]}")
        needed = bars_needed(name, params)
        if needed > count:
            why = "--warmup-bars / [live] warmup_bars gives" if given else "the cap is"
            lines.append(
                f"warm-up: {label} needs {needed} bars to equal a backtest's value and "
                f"{why} {count}: until it has seen {needed} bars its values differ"
            )
    return lines


def _say(line: str) -> None:
    print(line, flush=True)


def warmup_count(config: RunConfig, flag: int | None, tell: Callable[[str], None] = _say) -> int:
    """Return ``--warmup-bars`` if given, else ``[live] warmup_bars``, else the default.

    ``tell`` gets each line of `warmup_notices` (default: printed; ``kestrel live`` calls
    this before it connects, so they are among its first lines).

    Raises:
        PluginError, StrategyError: The strategy cannot be loaded or its ``on_start`` raised.
    """
    declared = declared_indicators(config)
    given = flag if flag is not None else config.live.warmup_bars
    count = _largest(_needs(declared)) if given is None else given
    for line in warmup_notices(declared, count, given is not None):
        tell(line)
    return count


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
