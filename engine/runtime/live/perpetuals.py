"""Perpetuals in a live run: which symbols they are, and the account set up to trade them.

A symbol is a perpetual future in a live run exactly when it is one in a backtest: its
``[[data]]`` table names a ``funding`` series (`engine.portfolio.accounts`). Live, it is
traded as the exchange's linear perpetual settled in its quote (ccxt ``BTC/USDT:USDT``,
Binance USDⓈ-M), in one-way position mode, at the leverage of ``[account] leverage`` (an
integer there: Binance sets whole leverages), set at the exchange on every start.

A config trades either spot symbols or perpetuals, not both: Binance keeps the futures
wallet apart from the spot wallet, and one ccxt client reads one of them.

**Funding** is the exchange's: `funding_paid` reads what it booked (Binance ``GET
/fapi/v1/income``, ``incomeType=FUNDING_FEE``, through ccxt's ``fetch_funding_history``). A
restarted node adds what was booked since the account's baseline to its cash
(`engine.runtime.live.restore`); a running one books, before each bar, what was booked since
the last look up to that bar's close (`ExchangeFunding`) — both only the node's own
position's share (`engine.runtime.live.perpcash.FundingShare`) — and its config's rates file pays
nothing (it marks the symbol a perpetual and prices the backtest). Against the local
exchange, which pays the file's rates by the backtest's rule, the two are the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from engine.adapters.ccxt.venue import CcxtExchange
from engine.config import RunConfig
from engine.errors import ConfigError
from engine.portfolio import Portfolio

__all__ = [
    "ExchangeFunding",
    "FundingPayment",
    "book_funding",
    "funding_paid",
    "perpetual_symbols",
    "prepare_perpetuals",
]

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
        ConfigError: ``[account] leverage`` is not a whole number, a symbol has no linear
            perpetual at the exchange (a coin-margined one is not traded), one is in
            isolated margin mode (switch it to cross), or the account is in hedge mode (long
            and short positions apart): switch it to one-way mode.
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
        swap = exchange.market_symbol(symbol)
        if not (exchange.exchange.markets.get(swap) or {}).get("linear"):
            raise ConfigError(
                f"{exchange.exchange_id} lists no linear perpetual {swap} for {symbol}: "
                "Kestrel trades USDⓈ-M perpetuals settled in their quote, not coin-margined "
                "(inverse) ones; check the symbol"
            )
        if _isolated(exchange, swap):
            raise ConfigError(
                f"{exchange.exchange_id}'s {symbol} perpetual is in isolated margin mode: "
                "Kestrel trades perpetuals in cross margin; switch its margin mode first"
            )
        if exchange.hedge_mode(symbol):
            raise ConfigError(
                f"{exchange.exchange_id}'s account is in hedge mode (dual-side positions): "
                "Kestrel trades perpetuals in one-way mode; switch the position mode first"
            )
        exchange.set_leverage(symbol, int(leverage))
    return int(leverage)


def _isolated(exchange: CcxtExchange, swap: str) -> bool:
    """True if the perpetual ``swap`` (ccxt's symbol) is in isolated margin mode."""
    mode = exchange.read(
        f"fetching the {swap} margin mode", lambda: exchange.exchange.fetch_margin_mode(swap)
    )
    return str(mode.get("marginMode") or "cross") == "isolated"


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


class ExchangeFunding:
    """The funding a running node books: the exchange's payments, as they fall due.

    The exchange is asked for payments (``/fapi/v1/income``, request weight 30 on Binance)
    only once a bar closes at or after its next funding time (``nextFundingTime`` of
    ``/fapi/v1/premiumIndex``, ccxt's ``fetch_funding_rate``, weight 1), which is read again
    after each look; where the exchange names none, at every bar.
    """

    def __init__(
        self,
        exchange: CcxtExchange,
        symbols: Collection[str],
        after_ms: int,
        share: Callable[[Sequence[FundingPayment]], list[FundingPayment]] | None = None,
    ) -> None:
        """Book ``symbols``' payments made after ``after_ms`` (exchange time, ms) from now on;
        ``share`` turns each into the node's part (`engine.runtime.live.perpcash.FundingShare`:
        a position the node did not open is not its to pay for)."""
        self.exchange = exchange
        self.share = share
        self.symbols = sorted(symbols)
        self.after_ms = after_ms
        self.next_ms = self._next_funding_ms()
        self.booked = 0.0  # the sum of the payments handed out (signed; < 0: paid)
        self.payments = 0

    def due(self, until_ms: int) -> list[FundingPayment]:
        """Return the payments made after the last look and at or before ``until_ms``.

        A payment the exchange makes a moment after the funding time (Binance: seconds)
        is found at a later look: each is returned once.
        """
        if not self.symbols or until_ms <= self.after_ms or until_ms < self.next_ms:
            return []
        found = [p for s in self.symbols for p in funding_paid(self.exchange, s, self.after_ms,
                                                               until_ms)]  # fmt: skip
        self.after_ms = until_ms
        self.next_ms = self._next_funding_ms()
        if self.share is not None:
            found = self.share(found)
        self.booked += sum(p.amount for p in found)
        self.payments += len(found)
        return sorted(found, key=lambda p: (p.ts_ms, p.symbol, p.payment_id))

    def _next_funding_ms(self) -> int:
        """Return the earliest next funding time of the symbols (0: unknown, look every bar)."""
        times = []
        for symbol in self.symbols:

            def fetch(market: str = self.exchange.market_symbol(symbol)) -> dict[str, Any]:
                return dict(self.exchange.exchange.fetch_funding_rate(market))

            rate = self.exchange.read(f"fetching the {symbol} funding rate", fetch)
            times.append(int(rate.get("fundingTimestamp") or 0))
        return min(times, default=0)


def book_funding(portfolio: Portfolio, payments: Collection[FundingPayment]) -> None:
    """Apply ``payments`` to ``portfolio`` as the backtest applies funding (``CashAdjusted``
    with reason ``"funding"``, due at the payment's time)."""
    for payment in payments:
        ts_ns = payment.ts_ms * 1_000_000
        portfolio.apply_cash_flow(payment.symbol, payment.amount, "funding", ts_ns)
