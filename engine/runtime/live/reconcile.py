"""Reconciliation: the store's view of a live account against the exchange's, before trading.

In: the order manager (its ledger and ccxt venue), the symbols traded and their instruments.
Out: a `Reconciliation` — what was adopted, what is external, the updates the node must
publish — or `ExchangeFatalError` with the report when the two cannot be made to agree.

Run on start and after every reconnect. In order:

1. A new account records its **baseline**: the exchange's wallet and clock, the trades the
   exchange already shows from that clock on, every page (so the window below never adopts
   them: many can share its millisecond) and its open orders (external).
2. Every order of the node that is open, UNKNOWN or was being sent is read back by client
   id: an order accepted before a crash but never written back is adopted, fills that
   happened while the node was down are recorded, a partial fill is seen as partial.
3. Open orders the store does not know are recorded as **external** (``origin``): never
   canceled, never counted as the node's position. One under a client id the store holds
   for another order (neither bound to it nor of its symbol, side and quantity:
   `engine.runtime.live.clientids`) is external too, as ``external-<exchange order id>``.
4. **Trades**, each recorded once by its trade id (the store's key), whatever its time
   relative to the node's own fills. A running node records only its own orders' fills (a
   report of an outside order on the user-data stream is left to this step), so an outside
   trade is usually older than the node's latest fill: a cursor at that fill would skip it
   for good (audit F3). Two reads, both de-duplicated against the store:

   a. Every **external order the store holds as open or partially filled** is read by its
      exchange order id (``myTrades`` with ``orderId``: exact, whatever its age; trades
      before the baseline are in the baseline wallet and skipped) and its row brought up to
      the exchange: still open, with its filled quantity; or gone from the open orders —
      ``filled`` when its trades add up to its quantity, else ``canceled`` (canceled or
      expired by hand).
   b. The account's trades (``myTrades``, page by page) from a **window** that starts one
      bar before the first bar the latest session stored (``live_bars``): that session
      reconciled before it, so everything older was read then — this overlap, not the
      node's last fill, is the cursor. Without stored bars (a new account, a tick feed) the
      window starts at the baseline. One of a node order is adopted through that order; one
      of any other order is recorded as external, under its row's client id or, for an
      order never seen open (placed and filled between two reconciliations),
      ``external-<exchange order id>``.

   A trade read twice — by both reads, by two starts, or after a reconnect — is recorded
   once, so repeated starts never count an outside fill twice. The cost is one ``myTrades``
   per working external order and the window's pages (Binance: 500 trades a page, the
   first from the window's start, the next from the last trade id + 1: ``fromId``, since
   more than a page of trades can share a millisecond).
5. The **wallet** is checked asset by asset (bases and quotes of the traded symbols): the
   baseline plus every fill since (quantities, notionals and fees in their assets) must
   equal the exchange's total within ``tolerance``. Anything else (a deposit, a withdrawal,
   a trade the exchange does not show) is a mismatch nobody can explain: the node refuses
   to trade and the error lists each asset's figures. Then, since that check counts outside
   fills as explained, the node's own coins: for each base asset its fills' position must
   not exceed the wallet's total, else it refuses with both quantities and the outside
   trades of that asset (`engine.runtime.live.holdings`: an outside sale of the node's
   coins passed as "wallet matches"); and, given the node's ``initial_cash`` (a spot
   account), its cash in the quote must not exceed the wallet's free quote plus what its
   own working buys lock (`holdings.short_cash`: an outside buy spent it). The trades
   this reconciliation recorded as outside ones are counted in the summary line and
   listed (``outside``) for the start record.

Perpetuals (`CcxtExchange.perpetuals`: USDⓈ-M, one-way mode) hold no base asset: step 5
compares each one's **position** instead. The baseline records the exchange's position (in
``Baseline.wallet`` under ccxt's market symbol, ``BTC/USDT:USDT``), and the baseline plus
every fill since (buys minus sells) must equal the exchange's ``positionAmt``. A position
that differs is what cannot be explained — an ADL or liquidation, a trade older than what
``myTrades`` returns. Their **futures wallet** (``walletBalance``, USDT) is compared too
(`engine.runtime.live.perpcash`): the baseline's balance + the PnL the fills since realized
+ the funding the exchange booked since − their fees must equal the exchange's, within
rounding; a transfer or an adjustment is what cannot be explained. Either way the node
refuses to trade with each symbol's and wallet's figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from engine.adapters.ccxt.venue import CcxtExchange, ExchangeOrder, ExchangeTrade
from engine.errors import ExchangeFatalError
from engine.model import Instrument
from engine.persistence.schema import live_bars
from engine.runtime.live.clientids import not_the_order
from engine.runtime.live.holdings import short_cash, short_holdings
from engine.runtime.live.ledger import (
    BASELINE,
    Baseline,
    LiveFill,
    LiveLedger,
    LiveOrder,
    LiveStatus,
)
from engine.runtime.live.orders import OrderManager, Update
from engine.runtime.live.perpcash import baseline_entries, check_wallet

__all__ = [
    "Reconciliation",
    "account_trades",
    "position_changes",
    "reconcile",
    "wallet_changes",
    "window_start",
]


@dataclass
class Reconciliation:
    """What reconciling found; ``mismatches`` empty means the node may trade."""

    adopted: list[str] = field(default_factory=list)  # client ids brought up to date
    external: list[str] = field(default_factory=list)  # client ids of external orders
    outside: list[LiveFill] = field(default_factory=list)  # outside trades recorded now
    updates: list[Update] = field(default_factory=list)
    expected: dict[str, float] = field(default_factory=dict)
    actual: dict[str, float] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return one line: what was adopted and marked external."""
        return (
            f"reconciled: {len(self.adopted)} order(s) brought up to date, "
            f"{len(self.external)} external order(s) left alone, "
            f"{len(self.outside)} outside trade(s) recorded, "
            + (
                "wallet and positions match"
                if any(k.startswith("position ") for k in self.actual)
                else "wallet matches"
            )
        )


def _split(symbol: str, instrument: Instrument) -> tuple[str, str]:
    return symbol.partition("/")[0], instrument.quote_currency


def wallet_changes(
    fills: Sequence[LiveFill], instruments: Mapping[str, Instrument]
) -> dict[str, float]:
    """Return each asset's change from ``fills`` (quantity, notional, fee in its asset)."""
    change: dict[str, float] = {}
    for fill in fills:
        if fill.client_id == BASELINE or fill.symbol not in instruments:
            continue
        base, quote = _split(fill.symbol, instruments[fill.symbol])
        sign = 1.0 if fill.side == "buy" else -1.0
        change[base] = change.get(base, 0.0) + sign * fill.quantity
        change[quote] = change.get(quote, 0.0) - sign * fill.quantity * fill.price
        if fill.fee_asset:
            change[fill.fee_asset] = change.get(fill.fee_asset, 0.0) - fill.fee
    return change


def _fill(trade: ExchangeTrade, client_id: str, side: str) -> LiveFill:
    return LiveFill(
        trade_id=trade.trade_id,
        client_id=client_id,
        exchange_order_id=trade.exchange_order_id,
        symbol=trade.symbol,
        side=side or trade.side,
        quantity=trade.quantity,
        price=trade.price,
        fee=trade.fee,
        fee_asset=trade.fee_asset,
        liquidity="maker" if trade.maker else "taker",
        ts_event=trade.ts_ms,
    )


def _start(manager: OrderManager, symbols: Sequence[str]) -> Baseline:
    exchange, ledger = manager.exchange, manager.ledger
    at_ms = exchange.server_time_ms()
    wallet = {asset: total for asset, (_, total) in exchange.balances().items()}
    for symbol, position in exchange.positions(symbols).items():
        wallet[exchange.market_symbol(symbol)] = position.quantity
    # every trade the window (from the baseline's clock on) would read is already in the
    # wallet: all of them, every page (not the 500 most recent: many share a millisecond)
    known = [_fill(t, BASELINE, t.side) for s in symbols
             for t in account_trades(exchange, s, at_ms)]  # fmt: skip
    wallet.update(baseline_entries(exchange, symbols))  # perpetuals: wallet, entry prices
    baseline = Baseline(exchange.exchange_id, at_ms, wallet)
    ledger.create_account(baseline, known)
    return baseline


def window_start(ledger: LiveLedger, baseline: Baseline) -> int:
    """Return where step 4's window of trades starts (exchange ms; see the module).

    One bar before the first bar the latest session that stored bars handled: that
    session reconciled before its first bar, whose open is at or before its start (the bar
    in progress then); the extra bar covers a bar boundary passed while it started. Never
    before the baseline; the baseline itself when no session stored a bar.
    """
    table = live_bars
    mine = table.c.account == ledger.account
    latest = select(func.max(table.c.session)).where(mine).scalar_subquery()
    rows = ledger.store.read(
        select(func.min(table.c.ts_ns - 2 * table.c.timeframe_ns).label("first"))
        .where(mine)
        .where(table.c.session == latest)
    )
    first = rows[0]["first"] if rows else None
    if first is None:
        return baseline.at_ms
    return max(int(first) // 1_000_000, baseline.at_ms)


def account_trades(exchange: CcxtExchange, symbol: str, since_ms: int) -> list[ExchangeTrade]:
    """Return the account's ``symbol`` trades from ``since_ms`` on, every page, oldest first.

    An exchange answers one page from ``since_ms`` (Binance: the oldest 500 trades from
    it); the next page starts after the newest trade id read (Binance's ``fromId``, which
    takes no time), until a page brings no trade not seen yet. Paging by time repeated a
    page whenever more than a page of trades shared one millisecond (every fill of one
    taker order has its time). An exchange whose trade ids are not numbers is paged by
    time: the next page from the newest trade's time. (The user-data stream's cross-check
    reads its session's trades so too: `engine.runtime.live.stream`.)
    """
    start = since_ms
    found: dict[str, ExchangeTrade] = {}
    page = exchange.my_trades(symbol, since_ms)
    while True:
        # one that ignores fromId answers older trades again: only the window's are new
        new = [t for t in page if t.trade_id not in found and t.ts_ms >= start]
        found.update((t.trade_id, t) for t in new)
        if not new:
            break
        if all(t.trade_id.isdigit() for t in new):
            last = max(int(t.trade_id) for t in new)
            page = exchange.my_trades(symbol, None, None, str(last + 1))
            continue
        newest = max(t.ts_ms for t in new)
        if newest <= since_ms:
            break
        since_ms = newest
        page = exchange.my_trades(symbol, since_ms)
    return sorted(found.values(), key=lambda t: (t.ts_ms, t.trade_id))


def _external_orders(
    manager: OrderManager,
    symbols: Sequence[str],
    baseline: Baseline,
    showing: Mapping[str, ExchangeOrder],
    recorded: set[str],
) -> list[LiveFill]:
    """Record the new trades of each working external order; bring its row up (step 4a).

    ``showing`` holds the exchange's open orders by exchange order id, ``recorded`` the
    trade ids the store holds (the new ones are added). Returns the fills recorded.
    """
    ledger = manager.ledger
    added: list[LiveFill] = []
    working = [LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED]
    for record in ledger.orders(working, origin="external"):
        if not record.exchange_order_id or record.symbol not in symbols:
            continue
        trades = manager.exchange.my_trades(record.symbol, None, record.exchange_order_id)
        new = [t for t in trades if t.trade_id not in recorded and t.ts_ms >= baseline.at_ms]
        added += ledger.add_fills([_fill(t, record.client_id, t.side) for t in new])
        recorded.update(t.trade_id for t in new)
        traded = sum(t.quantity for t in trades)
        answer = showing.get(record.exchange_order_id)
        filled = max(record.filled_quantity, traded, answer.filled if answer else 0.0)
        if answer is not None:
            status = LiveStatus.PARTIALLY_FILLED if filled > 0 else LiveStatus.OPEN
        elif filled >= record.quantity * (1 - 1e-9):
            status = LiveStatus.FILLED
        else:  # gone, not (wholly) filled: canceled or expired by hand
            status = LiveStatus.CANCELED
        average = record.average_price
        if traded > 0:
            average = sum(t.quantity * t.price for t in trades) / traded
        now = (status, filled, average)
        if now != (record.status, record.filled_quantity, record.average_price):
            last = max([record.ts_last, *(t.ts_ms for t in trades)])
            changes = {"status": status, "filled_quantity": filled, "average_price": average}
            ledger.save(record.but(**changes, ts_last=last))
    return added


def _open_order_key(manager: OrderManager, order: ExchangeOrder) -> str | None:
    """Return the client id to record the open ``order`` under as external; None when the
    store already holds it (the node's row of it, or its external row)."""
    known = manager.ledger.get(order.client_id)
    if known is None:
        return order.client_id
    if known.exchange_order_id == order.exchange_id:
        return None
    if not not_the_order(known, order, manager.exchange):
        return None  # its terms: the row's order (not bound yet, or a stop that triggered)
    key = f"external-{order.exchange_id}"  # another order under a client id the store holds
    return None if manager.ledger.get(key) is not None else key


def reconcile(
    manager: OrderManager,
    instruments: Mapping[str, Instrument],
    tolerance: float = 1e-6,
    initial_cash: float | None = None,
) -> Reconciliation:
    """Bring the store up to the exchange's truth; raise if the wallet cannot be explained.

    ``initial_cash``: the node's ``[account] initial_cash``; given, a spot account's cash is
    checked against the wallet's free quote (the module's step 5).

    Raises:
        ExchangeFatalError: The wallet differs from baseline plus fills (the message lists
            each asset: exchange, expected, difference); nothing has been sent.
    """
    ledger, exchange = manager.ledger, manager.exchange
    symbols = sorted(instruments)
    baseline = ledger.baseline() or _start(manager, symbols)
    result = Reconciliation()
    # 2. the node's own orders, by client id
    for record in manager.working():
        updates = manager.refresh(record)
        if updates:
            result.adopted.append(record.client_id)
            result.updates += updates
    # 3. open orders nobody here placed
    showing: dict[str, ExchangeOrder] = {}  # exchange order id -> the open order
    for symbol in symbols:
        for order in exchange.open_orders(symbol):
            showing[order.exchange_id] = order
            client_id = _open_order_key(manager, order)
            if client_id is None:
                continue
            ledger.insert(
                LiveOrder(
                    client_id=client_id,
                    order_id="",
                    strategy_id="",
                    symbol=order.symbol,
                    side=order.side,
                    order_type=order.order_type,
                    quantity=order.quantity,
                    limit_price=order.price,
                    stop_price=order.stop_price,
                    time_in_force="GTC",
                    status=LiveStatus.PARTIALLY_FILLED if order.filled else LiveStatus.OPEN,
                    origin="external",
                    exchange_order_id=order.exchange_id,
                    filled_quantity=order.filled,
                    ts_created=order.ts_ms,
                    ts_last=order.ts_ms,
                    reason="placed outside this node",
                )
            )
            result.external.append(client_id)
    # 4. trades, by trade id: the working external orders', then the window's
    recorded = {f.trade_id for f in ledger.fills()}
    result.outside += _external_orders(manager, symbols, baseline, showing, recorded)
    owners = {o.exchange_order_id: o for o in ledger.orders(origin=None) if o.exchange_order_id}
    since = window_start(ledger, baseline)
    for symbol in symbols:
        for trade in account_trades(exchange, symbol, since):
            if trade.trade_id in recorded:
                continue
            owner = owners.get(trade.exchange_order_id)
            if owner is not None and owner.origin == "node":
                updates = manager.refresh(owner.but(status=LiveStatus.OPEN))
                if updates:
                    result.adopted.append(owner.client_id)
                    result.updates += updates
                continue
            client_id = owner.client_id if owner else f"external-{trade.exchange_order_id}"
            result.outside += ledger.add_fills([_fill(trade, client_id, trade.side)])
            recorded.add(trade.trade_id)
    # 5. the wallet (spot) and the positions (perpetuals)
    spot = {s: i for s, i in instruments.items() if not exchange.perpetual(s)}
    change = wallet_changes(ledger.fills(), spot)
    balances = exchange.balances()
    actual = {asset: total for asset, (_, total) in balances.items()}
    assets = sorted({a for s, i in spot.items() for a in _split(s, i)})
    for asset in assets:
        expected = baseline.wallet.get(asset, 0.0) + change.get(asset, 0.0)
        found = actual.get(asset, 0.0)
        result.expected[asset], result.actual[asset] = expected, found
        if abs(found - expected) > tolerance * max(1.0, abs(expected)):
            result.mismatches.append(
                f"{asset}: the exchange holds {found:.8f}, the store expects {expected:.8f} "
                f"(difference {found - expected:+.8f})"
            )
    _check_positions(manager, baseline, [s for s in symbols if exchange.perpetual(s)], result)
    settle = {s: i.quote_currency for s, i in instruments.items() if exchange.perpetual(s)}
    for wallet in check_wallet(exchange, baseline, ledger.fills(), settle):
        key = f"wallet {wallet.asset}"
        result.expected[key], result.actual[key] = wallet.expected, wallet.found
        if not wallet.matches:
            result.mismatches.append(wallet.mismatch())
    if result.mismatches:
        raise ExchangeFatalError(
            f"live account {ledger.account!r} does not match {exchange.exchange_id}: "
            + "; ".join(result.mismatches)
            + ". Refusing to trade: a deposit, withdrawal, trade or position change this "
            "node cannot explain; check the account on the exchange, then start a new --account"
        )
    short = short_holdings(ledger, spot, actual, tolerance)
    if short:
        raise ExchangeFatalError(
            f"live account {ledger.account!r} at {exchange.exchange_id}: "
            + "; ".join(short)
            + ". Refusing to trade: its sells would be cut to what is left and its equity "
            "would count coins the wallet does not hold; check the account on the exchange "
            "(buy the difference back), or start a new --account"
        )
    if initial_cash is not None and len(spot) == len(instruments):
        short = short_cash(ledger, spot, balances, initial_cash, tolerance)
        if short:
            raise ExchangeFatalError(
                f"live account {ledger.account!r} at {exchange.exchange_id}: {short[0]}. "
                "Refusing to trade: its buys would be cut or rejected and its equity would "
                "count cash the wallet does not hold; check the account on the exchange "
                "(sell what was bought outside, or fund the wallet), or start a new --account"
            )
    return result


def position_changes(fills: Sequence[LiveFill], symbols: Sequence[str]) -> dict[str, float]:
    """Return each symbol's position change from ``fills`` (buys minus sells, base units)."""
    change = dict.fromkeys(symbols, 0.0)
    for fill in fills:
        if fill.client_id != BASELINE and fill.symbol in change:
            change[fill.symbol] += fill.quantity if fill.side == "buy" else -fill.quantity
    return change


def _check_positions(
    manager: OrderManager, baseline: Baseline, perpetuals: list[str], result: Reconciliation
) -> None:
    """Compare each perpetual's position with the baseline plus the fills (module, step 5)."""
    if not perpetuals:
        return
    exchange = manager.exchange
    change = position_changes(manager.ledger.fills(), perpetuals)
    held = exchange.positions(perpetuals)
    for symbol in perpetuals:
        key = f"position {symbol}"
        expected = baseline.wallet.get(exchange.market_symbol(symbol), 0.0) + change[symbol]
        found = held[symbol].quantity
        result.expected[key], result.actual[key] = expected, found
        if abs(found - expected) > 1e-9 * max(1.0, abs(expected)):
            result.mismatches.append(
                f"{symbol} (perpetual): the exchange holds a position of {found:.8f}, the "
                f"store expects {expected:.8f} (difference {found - expected:+.8f})"
            )
