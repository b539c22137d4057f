"""Does the wallet hold what the node books? Its cash at creation, its coins on every check.

In: the exchange's balances (``asset -> (free, total)``), the account's config and store.
Out: nothing when the wallet holds it; otherwise one line — `ConfigError` (exit 2) for a
new account's cash, `ExchangeFatalError` (exit 5) for coins gone — and the outside trades as
plain records for the start line and record (`outside_records`).

* **Cash (a new account, before its baseline is written: `check_initial_cash`).** The node's
  cash is ``[account] initial_cash`` plus its fills; the exchange's wallet pays its orders.
  An ``initial_cash`` above the free balance of the account's currency would book money
  the wallet does not hold: the audit's wallet held 1,000 USDT, the node said 10,000, its
  first buy was cut to what the wallet paid, and its equity said -0.18 % while the wallet
  lost 1.77 %. Refused, nothing written: lower ``account.initial_cash`` (at most the free
  balance) or fund the wallet, and start the same ``--account`` again. Less than the free
  balance is fine (the rest of the wallet is not the node's).
* **Coins (a spot account, at every reconciliation: `short_holdings`).** The node's
  position is what its own fills add up to; the wallet check
  (`engine.runtime.live.reconcile`) adds outside fills to what it expects, so an outside
  sale of the node's coins passes it by construction. For each base asset the node's
  holding (its fills' positions, summed over the symbols of that base) must not exceed the
  wallet's total: the audit's node restored 0.51961 BTC while the exchange held 0.22961,
  and its next exit was cut to what was left, with no reason stored. Refused with both
  quantities and the outside trades of that asset (exit 5: a human looks at the account —
  buy the difference back, or start a new ``--account``). More coins than the node's (a
  deposit explained by outside buys, the baseline's own) are not the node's and fine.
  Perpetuals hold no base asset: their positions are compared by the reconciliation.
* **Cash (a spot account, at every reconciliation once the node says its ``initial_cash``:
  `short_cash`).** The quote side of the coins' check: an outside buy spends the wallet's
  quote and passes the wallet check (an explained fill) while the node still books the cash
  (``initial_cash`` plus its own fills' cash flows, `engine.runtime.live.wallet.kernel_fill`'s
  arithmetic, the restored portfolio's), so its next buy was cut or rejected. That cash
  must not exceed what the wallet has for the node: its free quote plus what the node's own
  working buys lock — their unfilled quantity at their limit (or stop price for a
  stop-market: the exchange locks it at placement), plus `LOCK_ALLOWANCE` for a fee an
  exchange may lock with it (the local exchange does), at most what the wallet shows
  locked (total - free), so an account with no outside order is never refused. Refused
  with both quantities and the outside trades paid in that quote (exit 5). Only when the
  spot symbols share one quote currency (the account's cash is in one asset).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from engine.config import AccountConfig
from engine.errors import ConfigError
from engine.model import Instrument
from engine.runtime.live.kill import node_positions
from engine.runtime.live.ledger import LiveLedger
from engine.runtime.live.rows import BASELINE, LiveFill, LiveStatus
from engine.runtime.live.wallet import kernel_fill

__all__ = [
    "LOCK_ALLOWANCE",
    "check_initial_cash",
    "outside_records",
    "short_cash",
    "short_holdings",
]

LOCK_ALLOWANCE = 0.01  # relative: a fee locked with a buy (Binance's highest rate is 0.1 %)


def check_initial_cash(
    account: AccountConfig,
    name: str,
    exchange_id: str,
    balances: Mapping[str, tuple[float, float]],
) -> None:
    """Refuse a new account whose ``initial_cash`` exceeds the wallet's free balance of
    its currency (see the module).

    Raises:
        ConfigError: One line with both figures and the two ways out.
    """
    currency = account.currency
    free = balances.get(currency, (0.0, 0.0))[0]
    if account.initial_cash <= free + 1e-9 * max(1.0, free):
        return
    at_most = math.floor(free * 100) / 100
    raise ConfigError(
        f"live account {name!r} is new: [account] initial_cash is "
        f"{account.initial_cash:,.2f} {currency}, but the wallet has {free:,.2f} {currency} "
        f"free at {exchange_id}; the node would book cash the wallet does not hold: lower "
        f"account.initial_cash to at most {at_most:,.2f} or fund the wallet, then start again"
    )


def _outside(ledger: LiveLedger) -> list[LiveFill]:
    """Return the account's fills of orders the node did not place (not the baseline's)."""
    own = {o.client_id for o in ledger.orders(origin="node")}
    return [f for f in ledger.fills() if f.client_id not in own and f.client_id != BASELINE]


def short_holdings(
    ledger: LiveLedger,
    spot: Mapping[str, Instrument],
    actual: Mapping[str, float],
    tolerance: float,
) -> list[str]:
    """Return, per base asset of ``spot`` whose wallet total (``actual``) is below the
    node's holding, a clause naming both quantities and the outside trades; [] if none."""
    positions = node_positions(ledger, spot)
    held: dict[str, float] = {}
    for symbol, quantity in positions.items():
        base = symbol.partition("/")[0]
        held[base] = held.get(base, 0.0) + quantity
    outside = _outside(ledger)
    short = []
    for base, node in sorted(held.items()):
        found = actual.get(base, 0.0)
        if node <= found + tolerance * max(1.0, abs(node)):
            continue
        trades = [f for f in outside if f.symbol.partition("/")[0] == base]
        sold = sum(f.quantity for f in trades if f.side == "sell")
        bought = sum(f.quantity for f in trades if f.side == "buy")
        short.append(
            f"the node's own fills hold {node:.8f} {base}, the wallet holds {found:.8f} {base} "
            f"({node - found:.8f} less; outside trades of {base}: {len(trades)} (sold "
            f"{sold:.8f}, bought {bought:.8f}))"
        )
    return short


def short_cash(
    ledger: LiveLedger,
    spot: Mapping[str, Instrument],
    balances: Mapping[str, tuple[float, float]],
    initial_cash: float,
    tolerance: float,
) -> list[str]:
    """Return a clause naming the node's cash, the wallet's and the outside trades paid in
    its quote when the wallet has less for the node than the node books; [] if not."""
    quotes = {i.quote_currency for i in spot.values()}
    if len(quotes) != 1:
        return []
    (quote,) = quotes
    own = ledger.orders(origin="node")
    owned = {o.client_id for o in own}
    cash = initial_cash
    for fill in ledger.fills():
        if fill.client_id in owned and fill.symbol in spot:
            quantity, fee, _ = kernel_fill(fill, spot[fill.symbol])
            signed = quantity if fill.side == "buy" else -quantity
            cash -= signed * fill.price + fee
    working = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED)
    mine = sum(
        (o.quantity - o.filled_quantity) * (o.limit_price or o.stop_price or 0.0)
        for o in own
        if o.status in working and o.side == "buy" and o.symbol in spot
    )
    free, total = balances.get(quote, (0.0, 0.0))
    locked = min(mine * (1.0 + LOCK_ALLOWANCE), max(total - free, 0.0))
    found = free + locked
    if cash <= found + tolerance * max(1.0, abs(cash)):
        return []
    trades = [f for f in _outside(ledger) if f.symbol in spot]
    bought = sum(f.quantity * f.price for f in trades if f.side == "buy")
    sold = sum(f.quantity * f.price for f in trades if f.side == "sell")
    return [
        f"the node's cash is {cash:,.2f} {quote}, the wallet has {free:,.2f} {quote} free "
        f"(and {locked:,.2f} locked by the node's open orders; {cash - found:,.2f} less; outside "
        f"trades in {quote}: {len(trades)} (bought for {bought:,.2f}, sold for {sold:,.2f}))"
    ]


def outside_records(fills: Sequence[LiveFill]) -> list[dict[str, Any]]:
    """Return ``fills`` (outside trades) as the start record lists them."""
    return [
        {"trade_id": f.trade_id, "client_id": f.client_id, "symbol": f.symbol, "side": f.side,
         "quantity": f.quantity, "price": f.price, "ts_ms": f.ts_event}
        for f in fills
    ]  # fmt: skip
