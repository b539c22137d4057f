"""The kill switch: cancel the node's open orders, sell what it bought, halt.

In: the order manager and the traded instruments. Out: the updates of the cancels and the
closing sells; the manager is left halted (nothing more is sent). External orders and
assets the node did not buy are left alone.

The node's position in a symbol is what its own fills add up to (buys minus sells, minus
fees paid in the base asset), never more than the wallet's free base (floored to the lot):
the switch never tries to sell what is not there. A perpetual's position (long or short)
is closed by a reduce-only market order of the smaller of the node's position and the
exchange's, so the switch never opens the other side. ``kestrel live kill ACCOUNT`` asks a
running node to do this (`engine.cli_live`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.adapters.ccxt.venue import OrderSpec
from engine.model import Instrument
from engine.runtime.live.ledger import LiveLedger
from engine.runtime.live.orders import OrderManager, Update

__all__ = ["KILL_STRATEGY", "flatten_and_halt", "node_positions"]

KILL_STRATEGY = "kill-switch"  # the strategy id of the closing orders


def node_positions(ledger: LiveLedger, instruments: Mapping[str, Instrument]) -> dict[str, float]:
    """Return the node's position per symbol from its own orders' fills (base units)."""
    own = {o.client_id for o in ledger.orders(origin="node")}
    positions = dict.fromkeys(instruments, 0.0)
    for fill in ledger.fills():
        if fill.client_id not in own or fill.symbol not in positions:
            continue
        sign = 1.0 if fill.side == "buy" else -1.0
        positions[fill.symbol] += sign * fill.quantity
        if fill.fee_asset == fill.symbol.partition("/")[0]:
            positions[fill.symbol] -= fill.fee
    return positions


def flatten_and_halt(manager: OrderManager, instruments: Mapping[str, Instrument]) -> list[Update]:
    """Cancel every open node order, sell every node position at market, then halt."""
    updates: list[Update] = []
    for record in manager.working():
        updates += manager.cancel_record(record)
    ledger = manager.ledger
    earlier = sum(1 for o in ledger.orders() if o.strategy_id == KILL_STRATEGY)
    exchange = manager.exchange
    wallet = exchange.balances()
    held = exchange.positions(list(instruments))
    for symbol, position in sorted(node_positions(ledger, instruments).items()):
        lot = instruments[symbol].lot_size
        if exchange.perpetual(symbol):  # close the node's part, reduce-only, either side
            at_exchange = held[symbol].quantity
            if position * at_exchange <= 0:
                continue
            size = min(abs(position), abs(at_exchange))
            quantity = round(math.floor(size / lot + 1e-9) * lot, 12)
            if quantity <= 0:
                continue
            earlier += 1
            side = "sell" if position > 0 else "buy"
            spec = OrderSpec("", symbol, side, "market", quantity, reduce_only=True)
            updates += manager.submit(f"kill-{earlier}", KILL_STRATEGY, spec)
            continue
        free = wallet.get(symbol.partition("/")[0], (0.0, 0.0))[0]
        quantity = round(math.floor(min(position, free) / lot + 1e-9) * lot, 12)
        if quantity <= 0 or quantity < instruments[symbol].min_quantity:
            continue
        earlier += 1
        spec = OrderSpec("", symbol, "sell", "market", quantity)
        updates += manager.submit(f"kill-{earlier}", KILL_STRATEGY, spec)
    manager.halted = "stopped by the kill switch"
    return updates
