"""The money of a perpetuals account: the futures wallet reconciled, and the node's funding.

In: the account's ledger (baseline and fills), the ccxt exchange, the perpetuals traded.
Out: the wallet the store explains (`expected_wallet`) compared with the exchange's
(`check_wallet`, reconciliation's step 5 for perpetuals), and the node's share of each
funding payment (`FundingShare`).

**The wallet.** A USDⓈ-M wallet (``walletBalance`` of ``GET /fapi/v3/account``'s assets, in
ccxt's ``fetch_balance()["info"]``; ccxt's own ``total`` is the *margin* balance, which
moves with the mark price) changes by the PnL a fill realizes, its fee and funding. So the
store explains it as: the baseline's wallet balance + the realized PnL of every fill since
(replayed on the exchange's one-way position from the baseline's position and entry price,
Binance's average-entry rule: adding moves the entry to the weighted mean, reducing
realizes ``closed × (price − entry) × sign``) − their fees in the settle asset + every
funding payment the exchange booked since the baseline (``/fapi/v1/income``,
``FUNDING_FEE``). Fills and funding of while the node was down are among them (reconciliation
adopts the fills first). Anything else — a transfer in or out, an adjustment, a
liquidation's fee, a fill the exchange does not show — is a mismatch nobody can explain.

**Tolerance**: `WALLET_TOLERANCE` relative (0.01 USDT on 10,000). Binance serves each
trade's realized PnL and commission and each funding payment rounded to 8 decimals and the
node re-derives the realized PnL in float64: thousands of fills leave far less than a cent,
while any transfer or adjustment worth making is larger.

**Funding** is paid on the exchange's position, which in one-way mode is one position:
the node's fills plus what it did not place (the baseline's position — opened by hand
before the node first saw the account, adopted as a baseline, never traded by the node —
and external fills). The node's cash gets its own position's share of each payment
(``amount × node / (node + other)``, the positions as the store knows them at the
payment's time); the rest is the account's, explained in the wallet, never the node's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.adapters.ccxt.venue import CcxtExchange
from engine.portfolio import Position
from engine.runtime.live.ledger import BASELINE, Baseline, LiveFill, LiveLedger
from engine.runtime.live.perpetuals import FundingPayment, funding_paid

__all__ = [
    "WALLET_TOLERANCE",
    "FundingShare",
    "WalletCheck",
    "baseline_entries",
    "check_wallet",
    "entry_key",
    "futures_wallets",
    "wallet_key",
]

WALLET_TOLERANCE = 1e-6  # relative, see the module docstring


def wallet_key(asset: str) -> str:
    """Return the baseline key of the futures wallet balance of ``asset``."""
    return f"wallet {asset}"


def entry_key(market: str) -> str:
    """Return the baseline key of the entry price of the position in ``market`` (ccxt's)."""
    return f"entry {market}"


def futures_wallets(exchange: CcxtExchange) -> dict[str, float]:
    """Return each asset's ``walletBalance`` of the futures account (not its margin balance)."""
    raw = exchange.read("fetching balances", exchange.exchange.fetch_balance)
    info = raw.get("info") or {}
    assets = info.get("assets") if isinstance(info, Mapping) else None
    return {
        str(row["asset"]): float(row.get("walletBalance") or 0.0)
        for row in assets or []
        if isinstance(row, Mapping) and "asset" in row
    }


def baseline_entries(exchange: CcxtExchange, symbols: Sequence[str]) -> dict[str, float]:
    """Return the baseline keys of the perpetuals' wallets and position entry prices."""
    perpetuals = [s for s in symbols if exchange.perpetual(s)]
    if not perpetuals:
        return {}
    keys = {wallet_key(a): v for a, v in futures_wallets(exchange).items()}
    for symbol, position in exchange.positions(perpetuals).items():
        keys[entry_key(exchange.market_symbol(symbol))] = position.entry_price
    return keys


@dataclass
class WalletCheck:
    """One settle asset's wallet: the exchange's and what the store explains, by part."""

    asset: str
    found: float
    baseline: float
    realized: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    payments: list[FundingPayment] = field(default_factory=list)

    @property
    def expected(self) -> float:
        """The wallet the store explains."""
        return self.baseline + self.realized - self.fees + self.funding

    @property
    def matches(self) -> bool:
        """True if the exchange's wallet is the expected one within `WALLET_TOLERANCE`."""
        return abs(self.found - self.expected) <= WALLET_TOLERANCE * max(1.0, abs(self.expected))

    def mismatch(self) -> str:
        """Return the report's part on this wallet: both figures and the difference."""
        return (
            f"{self.asset} futures wallet: the exchange holds {self.found:.8f}, the store "
            f"expects {self.expected:.8f} (difference {self.found - self.expected:+.8f}; "
            f"baseline {self.baseline:.8f}, realized PnL {self.realized:+.8f}, fees "
            f"{-self.fees:+.8f}, funding {self.funding:+.8f})"
        )


def check_wallet(
    exchange: CcxtExchange,
    baseline: Baseline,
    fills: Sequence[LiveFill],
    perpetuals: Mapping[str, str],
) -> list[WalletCheck]:
    """Compare the futures wallet of ``perpetuals`` (symbol -> settle asset) with the store.

    Returns one `WalletCheck` per settle asset (none when the baseline predates wallet
    checks: it holds no ``wallet <asset>`` key).
    """
    assets = sorted(set(perpetuals.values()))
    if not assets or any(wallet_key(a) not in baseline.wallet for a in assets):
        return []
    found = futures_wallets(exchange)
    checks = {a: WalletCheck(a, found.get(a, 0.0), baseline.wallet[wallet_key(a)]) for a in assets}
    positions = {s: Position(s) for s in perpetuals}  # the backtest's rules are Binance's
    for symbol, position in positions.items():
        position.quantity = baseline.wallet.get(exchange.market_symbol(symbol), 0.0)
        position.average_price = baseline.wallet.get(entry_key(exchange.market_symbol(symbol)), 0.0)
    for fill in fills:
        if fill.client_id == BASELINE or fill.symbol not in perpetuals:
            continue
        check = checks[perpetuals[fill.symbol]]
        signed = fill.quantity if fill.side == "buy" else -fill.quantity
        check.realized += positions[fill.symbol].apply(signed, fill.price)
        if fill.fee_asset == check.asset:
            check.fees += fill.fee
    now_ms = exchange.server_time_ms()
    for symbol, asset in sorted(perpetuals.items()):
        paid = funding_paid(exchange, symbol, baseline.at_ms, now_ms)
        checks[asset].payments += paid
        checks[asset].funding += sum(p.amount for p in paid)
    return [checks[a] for a in assets]


class FundingShare:
    """The node's share of funding payments: its own position's (module docstring)."""

    def __init__(self, ledger: LiveLedger, markets: Mapping[str, str]) -> None:
        """Share the payments of the perpetuals ``markets`` (engine symbol -> ccxt's)."""
        self.ledger = ledger
        self.markets = dict(markets)

    def __call__(self, payments: Sequence[FundingPayment]) -> list[FundingPayment]:
        """Return ``payments`` with each amount the node's share (dropping none)."""
        if not payments:
            return []
        baseline = self.ledger.baseline()
        fills = self.ledger.fills()
        nodes = {o.client_id for o in self.ledger.orders(origin="node")}
        return [replace(p, amount=self._share(p, baseline, fills, nodes)) for p in payments]

    def _share(
        self, payment: FundingPayment, baseline: Baseline | None, fills: Any, nodes: set[str]
    ) -> float:
        market = self.markets.get(payment.symbol, payment.symbol)
        other = baseline.wallet.get(market, 0.0) if baseline is not None else 0.0
        node = 0.0
        for fill in fills:
            if fill.symbol != payment.symbol or fill.client_id == BASELINE:
                continue
            if fill.ts_event > payment.ts_ms:
                break
            signed = fill.quantity if fill.side == "buy" else -fill.quantity
            if fill.client_id in nodes:
                node += signed
            else:
                other += signed
        if abs(other) <= 1e-12:
            return payment.amount  # the position is the node's alone
        held = node + other
        if abs(node) <= 1e-12 or abs(held) <= 1e-12:
            return 0.0
        return payment.amount * node / held
