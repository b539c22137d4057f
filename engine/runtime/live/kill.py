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

**Dust.** A sale the exchange's filters would refuse (-1013) is not sent: a spot quantity
below the lot or the minimum quantity, or worth less than the minimum notional at the
book's best bid (where a market sell fills; a perpetual's reduce-only close is exempt from
the notional, as on Binance, not from the lot). The position stays, and one line (``left``,
the node's events.jsonl and its output) says how much and why: a doomed order would only
leave a rejected kill order and a refusal behind (the audit's 0.0004 BTC, 7.53 USDT against
a minimum notional of 10).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace

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


def _amount(quantity: float) -> str:
    """Return ``quantity`` in plain decimals (0.00001, not 1e-05)."""
    return f"{quantity:.12f}".rstrip("0").rstrip(".")


def _dust(manager: OrderManager, instrument: Instrument, quantity: float, perpetual: bool) -> str:
    """Return why the exchange would refuse a market close of ``quantity`` ("" if not)."""
    if quantity <= 0 or quantity < instrument.min_quantity:
        return (
            f"below the lot {_amount(instrument.lot_size)} and minimum quantity "
            f"{_amount(instrument.min_quantity)}"
        )
    if perpetual or not instrument.min_notional:
        return ""
    bid = manager.exchange.book_price(instrument.symbol, quantity, "bids")
    if bid is None or quantity * bid >= instrument.min_notional:
        return ""  # no bid to value it at: the exchange decides
    return (
        f"worth {quantity * bid:.2f} {instrument.quote_currency} at the best bid {bid:.10g}, "
        f"below the minimum notional {instrument.min_notional:g}"
    )


def flatten_and_halt(
    manager: OrderManager,
    instruments: Mapping[str, Instrument],
    left: Callable[[str], None] = lambda line: None,
) -> list[Update]:
    """Cancel every open node order, sell every node position at market, then halt;
    ``left`` gets one line per position left as dust (see the module)."""
    updates: list[Update] = []
    for record in manager.working():
        updates += manager.cancel_record(record)
    ledger = manager.ledger
    earlier = len(ledger.orders(strategy_id=KILL_STRATEGY))
    exchange = manager.exchange
    wallet = exchange.balances()
    held = exchange.positions(list(instruments))
    for symbol, position in sorted(node_positions(ledger, instruments).items()):
        instrument = instruments[symbol]
        lot = instrument.lot_size
        base = symbol.partition("/")[0]
        perpetual = exchange.perpetual(symbol)
        if perpetual:  # close the node's part, reduce-only, either side
            at_exchange = held[symbol].quantity
            if position * at_exchange <= 0:
                continue
            size = min(abs(position), abs(at_exchange))
            side = "sell" if position > 0 else "buy"
            spec = OrderSpec("", symbol, side, "market", 0.0, reduce_only=True)
            sellable = f"{_amount(size)} {base} to close"
        else:
            if position <= lot * 1e-6:
                continue  # nothing the node holds (float dust of its own fills)
            free = wallet.get(base, (0.0, 0.0))[0]
            size = min(position, free)
            spec = OrderSpec("", symbol, "sell", "market", 0.0)
            sellable = f"{_amount(size)} {base} sellable" + (
                f" (the wallet's free {base})" if free + lot / 2 < position else ""
            )
        quantity = round(math.floor(size / lot + 1e-9) * lot, 12)
        why = _dust(manager, instrument, quantity, perpetual)
        if why:
            left(
                f"kill switch: {_amount(abs(position))} {base} of {symbol} left unsold (dust): "
                f"{sellable} {why}; nothing sent (the exchange would refuse the sale, -1013)"
            )
            continue
        earlier += 1
        updates += manager.submit(
            f"kill-{earlier}", KILL_STRATEGY, replace(spec, quantity=quantity)
        )
    manager.halted = "stopped by the kill switch"
    return updates
