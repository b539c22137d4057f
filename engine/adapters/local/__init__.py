"""The local exchange: Binance's spot REST and websocket API on 127.0.0.1 over replayed bars.

```
frames (BarFrame per symbol) ─▶ replay.Replay (clock: bar opens/closes)
                                   │ step
                                   ├─▶ venue.Venue (balances, orders; matching = backtest's)
                                   │   or futures.FuturesVenue (USDⓈ-M: wallet, positions)
                                   └─▶ streams.StreamHub (kline / trade / depth / user data)
server.ExchangeApp (aiohttp: /api/v3, /ws, /stream, /ws-api/v3, /_admin) ◀── faults.Faults
  └─ fapi.FapiRoutes (/fapi/v1..v3, when the venue is a FuturesVenue)
exchange.LocalExchange: runs it all in a background thread (start() -> URLs, stop())
```

A product feature (try paper and live modes offline; test any ccxt bot) and the test double
of the exchange adapters. ``kestrel exchange serve`` runs it from the command line.
"""

from engine.adapters.local.exchange import LocalExchange, ccxt_urls
from engine.adapters.local.faults import FAULT_KINDS, Faults

__all__ = ["FAULT_KINDS", "Faults", "LocalExchange", "ccxt_urls"]
