"""Run modes: what differs between a backtest and a paper/live node, in one object.

In: nothing at run time; `engine.runtime.kernel.build_kernel` reads a `RunMode` while it
wires the kernel. Out: the three choices that are not the same in every mode (DESIGN §1),
each named once here instead of a ``live`` flag tested in several places:

- histories and indicators: ``streaming=False`` (`BACKTEST`) loads every bar up front, a
  `MarketCache` reveals rows by cursor and indicators are computed in one batch
  (`engine.strategy.history.precomputed_indicator`); ``streaming=True`` (`NODE`) grows
  the histories bar by bar (`LiveMarketCache`) and updates streaming indicators;
- equity: ``snapshots=True`` makes the portfolio take an `EquitySnapshot` whenever time
  moves on (the node keeps them); the backtest rebuilds its curve after the run;
- the venue: ``venue`` builds the broker from the kernel's parts (`VenueParts`); both
  modes here use the `SimulatedBroker`; the live mode
  (`engine.runtime.live.venue.live_mode`) passes the factory of the ccxt `LiveVenue`.

The clock is not part of the mode: the caller passes it (a `SimClock` for backtest and
replay, a `WallClock` for paper and live), and the driver works with either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.bus import EventBus
from engine.clock import Clock
from engine.config import ExecutionConfig
from engine.execution import AccountView, FeeModel, SimulatedBroker, SlippageModel, Venue
from engine.model import Instrument

__all__ = ["BACKTEST", "NODE", "RunMode", "VenueParts", "simulated_venue"]


@dataclass(frozen=True)
class VenueParts:
    """What the kernel hands a venue factory: the parts of the kernel a broker may use."""

    bus: EventBus
    clock: Clock
    instruments: Mapping[str, Instrument]
    prices: Mapping[str, float]  # last price per symbol (the cache's)
    account: AccountView  # the portfolio
    fee_model: FeeModel
    slippage_model: SlippageModel
    settings: ExecutionConfig
    leverage: float
    fx: Callable[[str, int], float] | None  # (symbol, ts_ns) -> quote-to-account rate
    last_bar: Callable[[str], tuple[float, float, float | None]]
    priced_since: Callable[[str, int], bool]  # is the last price that recent (the cache's)


VenueFactory = Callable[[VenueParts], Venue]


def simulated_venue(parts: VenueParts) -> SimulatedBroker:
    """Return the simulated matching engine (backtest, paper and replay)."""
    return SimulatedBroker(
        parts.bus,
        parts.clock,
        parts.instruments,
        parts.prices,
        parts.account,
        parts.fee_model,
        parts.slippage_model,
        parts.settings,
        leverage=parts.leverage,
        fx=parts.fx,
        last_bar=parts.last_bar,
        priced_since=parts.priced_since,
    )


@dataclass(frozen=True)
class RunMode:
    """How one kind of run provides histories, indicators, equity and its venue.

    Attributes:
        name: Shown in errors (``"backtest"``, ``"node"``).
        streaming: True: histories grow as bars arrive and indicators stream; False: every
            bar is loaded up front and indicators are computed in one batch.
        snapshots: The portfolio takes an equity snapshot whenever time moves on.
        venue: Builds the venue from the kernel's parts.
    """

    name: str
    streaming: bool
    snapshots: bool
    venue: VenueFactory = simulated_venue


BACKTEST = RunMode("backtest", streaming=False, snapshots=False)
NODE = RunMode("node", streaming=True, snapshots=True)  # paper trading and replay
