"""Live trading through ccxt: the order manager, its ledger in the run store, and the venue.

```
node ─ submit/cancel ─▶ venue.LiveVenue ─▶ orders.OrderManager ─▶ adapters.ccxt.venue.CcxtExchange
        ◀─ order events ─┘                     │ writes first            (error contract:
                                                ▼                          adapters.ccxt.contract)
                                        ledger.LiveLedger (live_orders, live_fills)
```

Perpetuals (a symbol with a funding series; USDⓈ-M, one-way mode): `perpetuals` names them
and sets the account up; the venue sends their closes reduce-only and never closes more
than the exchange's position; `reconcile` compares their positions instead of a wallet.

After each bar `checkpoint.Checkpoint` commits the account's equity row and the bar
(``live_equity``, ``live_bars``) with the strategy's state and timers; `report` turns the
stored rows into the backtest's files (curve, round trips, metrics, page) and `accounts`
into ``kestrel runs list`` rows.
"""

from engine.runtime.live.ledger import LiveFill, LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.orders import OrderManager, Update, client_order_id

__all__ = [
    "LiveFill",
    "LiveLedger",
    "LiveOrder",
    "LiveStatus",
    "OrderManager",
    "Update",
    "client_order_id",
]
