"""Perpetuals in a live run: which symbols they are, and the account set up to trade them.

A symbol is a perpetual future in a live run exactly when it is one in a backtest: its
``[[data]]`` table names a ``funding`` series (`engine.portfolio.accounts`). Live, it is
traded as the exchange's linear perpetual settled in its quote (ccxt ``BTC/USDT:USDT``,
Binance USDⓈ-M), in one-way position mode, at the leverage of ``[account] leverage`` (an
integer there: Binance sets whole leverages), set at the exchange on every start.

A config trades either spot symbols or perpetuals, not both: Binance keeps the futures
wallet apart from the spot wallet, and one ccxt client reads one of them.

`funding_paid` reads the funding the exchange booked (Binance ``GET /fapi/v1/income``,
``incomeType=FUNDING_FEE``, through ccxt's ``fetch_funding_history``): what a restarted
node adds to its cash (`engine.runtime.live.restore`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.adapters.ccxt.venue import CcxtExchange
from engine.config import RunConfig
from engine.errors import ConfigError

__all__ = ["FundingPayment", "funding_paid", "perpetual_symbols", "prepare_perpetuals"]

FUNDING_PAGE = 1000  # Binance's largest income page


@dataclass(frozen=True)
class FundingPayment:
    """One funding payment as the exchange booked it: ``amount`` signed (< 0: paid)."""

    payment_id: str
    symbol: str
    amount: float
    ts_ms: int


def perpetual_symbols(config: RunConfig) -> frozenset[str]:
    """Return the config's perpetuals (symbols with a funding series): all or none.

    Raises:
        ConfigError: Some symbols are perpetuals and others are not.
    """
    perpetuals = frozenset(s.symbol for s in config.data if s.funding is not None)
    spot = sorted(set(config.symbols) - perpetuals)
    if perpetuals and spot:
        raise ConfigError(
            f"live trading trades spot symbols or perpetuals, not both: {sorted(perpetuals)} "
            f"have a funding series (perpetuals), {spot} do not; run one node per wallet"
        )
    return perpetuals


def prepare_perpetuals(exchange: CcxtExchange, config: RunConfig) -> int:
    """Refuse a hedge-mode account and set each perpetual's leverage; return the leverage.

    Raises:
        ConfigError: ``[account] leverage`` is not a whole number, or the account is in
            hedge mode (long and short positions apart): switch it to one-way mode.
    """
    leverage = config.account.leverage
    if not exchange.perpetuals:
        return 0
    if leverage != int(leverage):
        raise ConfigError(
            f"[account] leverage = {leverage:g}: perpetuals trade at a whole leverage; "
            "set an integer"
        )
    exchange.load()
    for symbol in sorted(exchange.perpetuals):
        if exchange.hedge_mode(symbol):
            raise ConfigError(
                f"{exchange.exchange_id}'s account is in hedge mode (dual-side positions): "
                "Kestrel trades perpetuals in one-way mode; switch the position mode first"
            )
        exchange.set_leverage(symbol, int(leverage))
    return int(leverage)


def funding_paid(
    exchange: CcxtExchange, symbol: str, after_ms: int, until_ms: int
) -> list[FundingPayment]:
    """Return the funding of the perpetual ``symbol`` booked after ``after_ms`` and at or
    before ``until_ms`` (the exchange's times, ms), oldest first, each payment once.

    Pages of ``fetch_funding_history`` from ``after_ms`` on, each starting at the newest
    payment of the last (a page of `FUNDING_PAGE` may not be the end); reads are retried
    under the error contract (`CcxtExchange.read`).
    """
    market = exchange.market_symbol(symbol)
    found: dict[str, FundingPayment] = {}
    since = after_ms + 1
    while True:

        def fetch(since: int = since) -> list[dict[str, Any]]:
            return list(
                exchange.exchange.fetch_funding_history(
                    market, since, FUNDING_PAGE, {"until": until_ms}
                )
            )

        rows = exchange.read(f"fetching the {symbol} funding history", fetch)
        for row in rows:
            stamp = int(row.get("timestamp") or 0)
            key = str(row.get("id") or f"{stamp}/{row.get('amount')}")
            if after_ms < stamp <= until_ms:
                found[key] = FundingPayment(key, symbol, float(row.get("amount") or 0.0), stamp)
        newest = max((int(r.get("timestamp") or 0) for r in rows), default=since)
        if len(rows) < FUNDING_PAGE or newest <= since:
            break
        since = newest
    return sorted(found.values(), key=lambda p: (p.ts_ms, p.payment_id))
