"""Restore a restarted live node: its account, its strategy's orders and its order numbers.

First, before the command connects anywhere (`check_same_config`): an account resumes only
with the config parts that decide its money (`LIVE_PARTS`: the strategy's path and id, the
symbols and their instrument rules, the ``[account]`` table — initial cash, currency,
leverage, ...), compared with the config its latest session stored
(``live_accounts.config_toml``) as paper compares them
(`engine.runtime.paper.parts.config_values`). A change is refused in one line, exit 2,
nothing written: the cash below is ``initial_cash`` plus the fills, so a changed
``initial_cash`` would book money the wallet does not hold (the audit's 10,012.86 →
19,993.47 between two bars, "wallet matches"), a dropped symbol would drop its fills' cash
flows, and a strategy id owns the orders and their numbers. New parameters, strategy code,
``[ml]`` and model files, ``[risk]``, ``[execution]``, ``[live]`` and news tables are taken
(paper refuses them: its journal is replayed through them): a live account's history is the
exchange's fills, and they change only what it decides next. Another exchange or ``sandbox``
is another wallet: reconciliation finds it does not match (exit 5).

In: a freshly built `TradingNode` whose venue is a `LiveVenue` (not started: ``on_start``
has not run), the order manager with the account's ledger, the traded instruments. Out:
the kernel as the store last knew it, and a `Restored` summary. Run before reconciliation
(`engine.runtime.live.reconcile`), whose updates (fills while the node was down) the node
then publishes like any others: they reach the adopted orders, the portfolio and the
strategy once; `absorb` applies those of orders not adopted (another strategy's whose
outcome was unknown). `check_agrees` then compares the kernel's positions with the store's.

In order:

1. Working orders of this node under **another strategy id** (the kill switch's closing
   orders; a strategy changed in an account no session stored a config of) are canceled at
   the exchange; the row's ``reason`` says why. Their fills so far stay the account's.
2. The **portfolio** is replayed from the node's own recorded fills (every strategy's, the
   kill switch's too, never external or baseline ones), oldest first, through
   `Portfolio.restore_fill`: cash = ``[account] initial_cash`` + each fill's cash flow
   (fees included), positions from the fills. A fee in the base asset moves the position
   as `kernel_fill` says, as it did when the fill was live. A **perpetual**'s funding is
   not a fill: the node's share of the payments the exchange booked since the account's
   baseline, up to the exchange's clock now (`engine.runtime.live.perpetuals.funding_paid`;
   its own position's, `engine.runtime.live.perpcash.FundingShare`), is added to cash,
   and the funding schedule of the config's rates file is moved past that time (the first
   bar pays none of them again).
3. The strategy's **working orders** (open, partially filled, UNKNOWN or never answered)
   are adopted (of a modification's two exchange orders, the one placed; a modification
   a crash interrupted is settled first, both client ids looked up: `OrderManager.
   settle_replace`; a perpetual's modification in place, by the order's terms:
   `OrderManager.settle_amend`; a perpetual stop's move left ``staged`` is carried on —
   the old order canceled, the new one sent: `engine.runtime.live.stopmove`): booked in
   the execution engine at their state (so ``ctx.open_orders`` lists them and a later fill
   moves them on; reduce-only if they went out so, ``live_orders.reduce_only``: a trailing
   stop's next links stay reduce-only though another exit closed the position meanwhile),
   given to the venue
   (polled, their fills published) and to the manager (a cancel reaches them though their
   client id is of an earlier session).
   A **trailing stop** (``live_trails``, `engine.runtime.live.trailing`) is adopted as the
   trailing stop it is, from its current link (the fills of its earlier links are the
   order's: a link is for what they left) — or, when a crash came between canceling
   one link and recording the next, from the canceled link, as working: the venue's
   trailer holds it again and finishes the move at the first report or poll (one stop
   at the exchange, never two). The legs of an **OCO** are adopted as the two orders they
   are; their list (``list_id``) still binds them: a cancel of one cancels both, and the
   leg the exchange expires when the other fills is a cancel. The market or limit order
   sent in place of a stop the exchange refused as triggered (``triggered_from``,
   `engine.runtime.live.triggered`) is adopted as the stop it stands in for.
4. **Order numbering** continues after the highest number in the store, for the strategy's
   orders, its ``[risk.exits]`` orders and the risk engine's flatten orders; a trailing
   stop's row counts too (it is written before its first link's order row, so a kill in
   between leaves its id taken with no order row): no engine order id, hence no client
   order id, is used twice.

Not restored here, but after ``on_start`` (`engine.runtime.live.checkpoint`): the strategy
object's own attributes, only if it implements ``on_save`` / ``on_load``
(`engine.runtime.live.state`), and the schedule of the timers ``on_start`` sets again
(`engine.runtime.live.timers`). The equity curve before the restart stays in the store
(``live_equity``) and the node appends to it. Not restored at all: timers ``on_start`` does
not set again, the occurrences of timers and the bars that fell while the node was down
(no ``on_timer``, no ``on_bar`` for them).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.config import RunConfig, dump_config, parse_config
from engine.errors import ConfigError, ExchangeFatalError, KestrelError
from engine.model import (
    Instrument,
    Order,
    OrderFilled,
    OrderRequested,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
)
from engine.risk.engine import FLATTEN_PREFIX
from engine.runtime.live.kill import node_positions
from engine.runtime.live.ledger import (
    Baseline,
    LiveFill,
    LiveLedger,
    LiveOrder,
    LiveStatus,
    StoredTrail,
)
from engine.runtime.live.orders import OrderManager, Update
from engine.runtime.live.perpcash import FundingShare
from engine.runtime.live.perpetuals import funding_paid
from engine.runtime.live.venue import LiveVenue, kernel_fill
from engine.runtime.node import TradingNode

__all__ = [
    "LIVE_PARTS",
    "Restored",
    "absorb",
    "changed_live_parts",
    "check_agrees",
    "check_same_config",
    "restore",
]

# The config parts (`engine.runtime.paper.parts.config_values`) a live account keeps for
# life, and the tables of its stored config they are read back from
LIVE_PARTS = ("strategy", "instruments", "account")
_PART_TABLES = ("account", "fx", "data", "instruments", "strategy")

_NS_PER_MS = 1_000_000
_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
        "DAY": TimeInForce.DAY, "GTD": TimeInForce.GTD}  # fmt: skip
# a modification's new order in these states was placed: it stands for the order it replaced
_PLACED = (LiveStatus.OPEN, LiveStatus.PARTIALLY_FILLED, LiveStatus.FILLED, LiveStatus.CANCELED,
           LiveStatus.EXPIRED)  # fmt: skip
_STATUS = {
    LiveStatus.OPEN: OrderStatus.ACCEPTED,
    LiveStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    LiveStatus.UNKNOWN: OrderStatus.SUBMITTED,
    LiveStatus.SENDING: OrderStatus.SUBMITTED,
    LiveStatus.STAGED: OrderStatus.SUBMITTED,  # a stop's move not carried on: sent when polled
}


@dataclass
class Restored:
    """What `restore` rebuilt (all empty for an account never started)."""

    fills: int = 0  # fills replayed into the portfolio
    funding: float = 0.0  # the exchange's funding payments added to cash (perpetuals)
    funding_until_ms: int = 0  # the exchange's clock they were read up to (0: not read)
    cash: float = 0.0  # the portfolio's cash after them
    positions: dict[str, float] = field(default_factory=dict)  # symbol -> quantity
    adopted: list[str] = field(default_factory=list)  # engine order ids taken over
    canceled: list[str] = field(default_factory=list)  # client ids of others' orders ended
    last_order: int = 0  # the strategy's highest order number so far
    last_exit: int = 0  # its [risk.exits] orders' highest number ("<strategy>-X<N>")
    last_flatten: int = 0  # the risk engine's flatten orders' ("risk-flatten-<N>")
    updates: list[Update] = field(default_factory=list)  # the cancels' (not published)
    new: bool = False  # the account was never started: nothing to restore

    def summary(self) -> str:
        """Return one line: what the node resumes with."""
        if self.new:
            return f"a new account: nothing to restore (cash {self.cash:.2f})"
        held = ", ".join(f"{s} {q:g}" for s, q in sorted(self.positions.items()) if q) or "flat"
        funding = f", funding {self.funding:+.2f}" if self.funding else ""
        return (
            f"restored: {self.fills} fill(s) replayed{funding} (cash {self.cash:.2f}, {held}), "
            f"{len(self.adopted)} order(s) adopted, {len(self.canceled)} other strategies' "
            f"order(s) canceled, next order number {self.last_order + 1}"
        )


def check_same_config(config: RunConfig, account: str, url: str) -> None:
    """Refuse to resume ``account`` with a config whose `LIVE_PARTS` changed (the module).

    Compares them (`engine.runtime.paper.parts.config_values`, paper's parts) with the
    config the account's latest session stored in the run store at ``url``. That one is read
    back by this release's parser, from the tables those parts come from only: a default a
    later release adds reads the same on both sides, and a rule it adds elsewhere (``[run]``,
    ``[risk]``) cannot lock an account out. Nothing is written: no SQLite store, an unknown
    account and one no session stored a config of (before schema 11) pass as they are.

    Raises:
        ConfigError: A part changed (named), or the stored config cannot be read.
    """
    from engine.persistence import RunStore
    from engine.persistence.store import sqlite_file

    path = sqlite_file(url)
    if path is not None and not path.is_file():
        return  # no store: a new account
    text = LiveLedger(RunStore(url), account).config_toml()
    changed = changed_live_parts(config, text, account)
    if changed:
        raise ConfigError(
            f"live account {account!r} was started with a different config "
            f"({', '.join(changed)} changed); run it with its original config, or "
            "start a new account with --account NEW_NAME"
        )


def changed_live_parts(config: RunConfig, stored_toml: str | None, account: str) -> list[str]:
    """Return the `LIVE_PARTS` in which ``config`` differs from a session's stored config.

    ``stored_toml`` is ``live_accounts.config_toml`` (None: no session stored one, before
    schema 11: nothing to compare). It is read back by this release's parser, from the
    tables those parts come from only (see `check_same_config`). `check_same_config` and
    ``kestrel live-report`` (`engine.runtime.live.report.check_account_config`) use it.

    Raises:
        ConfigError: The stored config cannot be read.
    """
    from engine.runtime.paper.parts import config_values

    if stored_toml is None:
        return []
    try:
        document = tomllib.loads(stored_toml)
        tables = {name: document[name] for name in _PART_TABLES if name in document}
        stored = parse_config(tables, base_dir=config.base_dir)
    except (KestrelError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"live account {account!r}: the config it was started with cannot be read "
            f"({exc}), so a change of its cash, symbols or strategy cannot be ruled out; "
            "start a new account with --account NEW_NAME"
        ) from None
    before = config_values(dump_config(stored), stored.symbols)
    now = config_values(dump_config(config), config.symbols)
    return [name for name in LIVE_PARTS if before[name] != now[name]]


def _owned(strategy_id: str, order_strategy: str) -> bool:
    """True if ``order_strategy`` is the strategy's own (or its protective exits')."""
    return order_strategy == strategy_id or order_strategy.startswith(strategy_id + ".")


def restore(
    node: TradingNode, manager: OrderManager, instruments: Mapping[str, Instrument]
) -> Restored:
    """Rebuild ``node``'s account and orders from the store (see the module docstring).

    Call it after the node is built and before it starts or reconciliation runs.

    Raises:
        ExchangeError: A cancel met a fatal answer (ban, keys, clock): the manager halts.
    """
    ledger = manager.ledger
    result = Restored(cash=node.kernel.portfolio.cash)
    if ledger.baseline() is None:
        result.new = True
        return result  # a new account: nothing was ever recorded
    strategy_id = node.config.strategy.id
    kernel = node.kernel
    venue = kernel.venue
    assert isinstance(venue, LiveVenue)
    # 1. other strategies' working orders
    for record in manager.working():
        if _owned(strategy_id, record.strategy_id):
            continue
        result.updates += manager.cancel_record(record)
        ended = ledger.get(record.client_id) or record
        why = f"placed by strategy {record.strategy_id!r}, this node runs {strategy_id!r}"
        if ended.status is LiveStatus.CANCELED:
            ledger.save(ended.but(reason=f"canceled on restart: {why}"))
            result.canceled.append(record.client_id)
        else:  # it filled meanwhile, or its outcome is still unknown: reconciliation's
            ledger.save(ended.but(reason=f"a cancel on restart found it {ended.status}: {why}"))
    # a modification a crash interrupted: both client ids looked up, one order works
    for record in manager.working():
        if record.replaces and record.status in (LiveStatus.SENDING, LiveStatus.UNKNOWN):
            result.updates += manager.settle_replace(record)
        elif record.amending:  # a perpetual's, in place: the order's terms looked up
            result.updates += manager.settle_amend(record)
        elif record.status is LiveStatus.STAGED:  # a perpetual stop's move: carried on
            result.updates += manager.refresh(record)
    # 2. the portfolio from the node's own fills
    orders = {o.client_id: o for o in ledger.orders(origin="node")}
    by_order: dict[str, list[LiveFill]] = {}
    for fill in ledger.fills():
        owner = orders.get(fill.client_id)
        if owner is None or fill.symbol not in instruments:
            continue
        if fill.symbol not in kernel.portfolio.positions:
            continue  # an older config's (no session stored it): the store keeps it
        by_order.setdefault(fill.client_id, []).append(fill)
        _replay(node, owner, fill, instruments[fill.symbol])
        result.fills += 1
    result.funding, result.funding_until_ms = _restore_funding(
        node, manager, instruments, ledger.baseline()
    )
    result.cash = kernel.portfolio.cash
    result.positions = {s: p.quantity for s, p in kernel.portfolio.positions.items()}
    # 3. the strategy's working orders (a trailing stop from its chain's current link)
    trails = {t.order_id: t for t in ledger.trails(["working", "replacing"])}
    working = manager.working()
    for trail in trails.values():
        if trail.order_id not in {r.order_id for r in working}:
            link = ledger.get(trail.client_id) or ledger.get(trail.replaces)
            if link is not None and trail.state == "replacing":
                working.append(link.but(status=LiveStatus.OPEN))  # the move is finished
    current = {r.order_id: r.client_id for r in working if r.order_id in trails}
    for record in working:
        if record.order_id in trails and record.client_id == trails[record.order_id].client_id:
            current[record.order_id] = record.client_id  # the newest link, when it is there
    replaced = {r.replaces for r in ledger.orders() if r.replaces and r.status in _PLACED}
    for record in working:
        if not _owned(strategy_id, record.strategy_id) or record.symbol not in instruments:
            continue
        if record.client_id in replaced:
            continue  # the placed one of a modification's two orders stands for the order
        if record.replaces and record.status not in _PLACED:
            old = ledger.get(record.replaces)
            if old is not None and not old.status.final:
                continue  # not found yet, the old one works: it stands for the order
            record = record.but(status=LiveStatus.OPEN)  # the old one ended: this is it
        refused = ledger.get(record.triggered_from) if record.triggered_from else None
        if refused is not None:  # a refused stop's stand-in: the kernel's order is the stop
            record = record.but(stop_price=refused.stop_price)
        trailing = trails.get(record.order_id)
        # a modification's replaced orders, or a trailing stop's earlier links: their fills
        # are the order's too (the current exchange order is for what they left)
        links = [o.client_id for o in orders.values() if o.order_id == record.order_id]
        earlier = [f for c in links if c != record.client_id for f in by_order.get(c, [])]
        fills = earlier + by_order.get(record.client_id, [])
        if trailing is not None:
            if current[record.order_id] != record.client_id:
                continue  # one link stands for the chain
            if trailing.link > 0:  # accepted by the kernel long ago, whatever this link's
                record = record.but(status=LiveStatus.OPEN)
        _adopt(node, venue, record, fills, instruments, trailing, len(earlier))
        if trailing is not None:
            chain = ledger.orders(order_id=record.order_id)
            request = venue.adopted_request(record.order_id)
            venue.trailer.resume(trailing, request, chain[0].quantity)
        manager.adopted[record.order_id] = record.client_id
        result.adopted.append(record.order_id)
    # 4. order numbering: an id is taken once an order row or a trailing stop's row has it
    # (a trailing stop's row is written before its first link's order row)
    taken = {r.order_id for r in ledger.orders(origin="node")}
    taken |= {t.order_id for t in ledger.trails()}
    result.last_order = _highest_number(taken, f"{strategy_id}-")
    kernel.runner.continue_numbering(result.last_order)
    if kernel.exits is not None:
        result.last_exit = _highest_number(taken, kernel.exits.order_prefix)
        kernel.exits.continue_numbering(result.last_exit)
    result.last_flatten = _highest_number(taken, FLATTEN_PREFIX)
    kernel.risk.continue_numbering(result.last_flatten)
    return result


def _highest_number(order_ids: Iterable[str], prefix: str) -> int:
    """Return the highest N of the ids ``<prefix><N>`` (N digits only) in ``order_ids``; 0."""
    number = re.compile(re.escape(prefix) + r"(\d+)")
    found = (number.fullmatch(order_id) for order_id in order_ids)
    return max((int(match.group(1)) for match in found if match), default=0)


def _restore_funding(
    node: TradingNode,
    manager: OrderManager,
    instruments: Mapping[str, Instrument],
    baseline: Baseline | None,
) -> tuple[float, int]:
    """Add the exchange's funding of the perpetuals since ``baseline`` to cash; return it
    and the exchange time (ms) it was read up to."""
    exchange = manager.exchange
    perpetuals = sorted(s for s in instruments if exchange.perpetual(s))
    if not perpetuals or baseline is None:
        return 0.0, 0
    now_ms = exchange.server_time_ms()
    portfolio = node.kernel.portfolio
    total = 0.0
    share = FundingShare(manager.ledger, {s: exchange.market_symbol(s) for s in perpetuals})
    for symbol in perpetuals:
        if symbol not in portfolio.positions:
            continue
        for payment in share(funding_paid(exchange, symbol, baseline.at_ms, now_ms)):
            portfolio.restore_cash_flow(symbol, payment.amount, payment.ts_ms * _NS_PER_MS)
            total += payment.amount
    rules = node.kernel.account_rules
    if rules is not None:
        rules.skip_funding_until(now_ms * _NS_PER_MS)
    return total, now_ms


def _order_type(record: LiveOrder) -> OrderType:
    """Return the kernel's type of ``record``: a stop price makes a market or limit a stop."""
    if record.stop_price is not None:
        return OrderType.STOP if record.order_type == "market" else OrderType.STOP_LIMIT
    return OrderType.MARKET if record.order_type == "market" else OrderType.LIMIT


def _adopt(
    node: TradingNode,
    venue: LiveVenue,
    record: LiveOrder,
    fills: list[LiveFill],
    instruments: Mapping[str, Instrument],
    trail: StoredTrail | None = None,
    earlier: int = 0,
) -> None:
    """Book ``record`` (with its recorded ``fills``) in the kernel and the venue; a link of
    ``trail``'s chain as its trailing stop. The first ``earlier`` fills are of the exchange
    orders a modification replaced (`engine.runtime.live.modify`): ``record`` is for what
    was left after them."""
    instrument = instruments[record.symbol]
    quantity, filled, fees, notional = record.quantity, 0.0, 0.0, 0.0
    for number, fill in enumerate(fills):
        net, fee, held = kernel_fill(fill, instrument)
        quantity += net if number < earlier else -held
        filled += net
        fees += fee
        notional += net * fill.price
    side = OrderSide.BUY if record.side == "buy" else OrderSide.SELL
    order_type = _order_type(record)
    tif = _TIF.get(record.time_in_force.upper(), TimeInForce.GTC)
    ts = record.ts_created * _NS_PER_MS
    request = OrderRequested(record.order_id, record.strategy_id, record.symbol, side, quantity,
                             order_type, record.limit_price, record.stop_price, tif, ts,
                             ts, expire_time_ns=record.expire_ns,
                             post_only=record.post_only,
                             reduce_only=record.reduce_only)  # fmt: skip
    if trail is not None:
        order_type = OrderType.TRAILING_STOP
        request = request._replace(
            order_type=order_type,
            stop_price=trail.stop,
            trailing_offset=trail.offset,
            trailing_offset_type=TrailingOffsetType(trail.offset_type),
        )
    status = _STATUS[record.status]
    if status is OrderStatus.ACCEPTED and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    order = Order(record.order_id, record.strategy_id, record.symbol, side, quantity, order_type,
                  record.limit_price, request.stop_price, tif, ts, status=status,
                  filled_quantity=filled,
                  average_fill_price=notional / filled if filled else 0.0, fees=fees,
                  ts_last=record.ts_last * _NS_PER_MS)  # fmt: skip
    node.kernel.execution.adopt(order)
    node.kernel.recorder.adopt(request, str(status), filled, order.average_fill_price)
    # an UNKNOWN one is polled too: the look-up settles it (accepted, or never placed)
    venue.adopt(
        request, quantity, filled, working=True, accepted=status is not OrderStatus.SUBMITTED
    )


def absorb(node: TradingNode, updates: list[Update], instruments: Mapping[str, Instrument]) -> int:
    """Apply to the portfolio the fills among ``updates`` of orders the kernel does not hold.

    Reconciliation after `restore` can still record fills of the node's orders that were not
    adopted: another strategy's order whose cancel on restart could not settle it (its
    outcome was unknown) and that turned out filled. The venue does not publish those (the
    kernel never knew the order), yet they are the account's: they are applied here as
    `restore` applies stored fills, silently. Returns how many.
    """
    venue = node.kernel.venue
    assert isinstance(venue, LiveVenue)
    applied = 0
    for update in updates:
        fill, order = update.fill, update.order
        if update.kind != "filled" or fill is None or venue.knows(order.order_id):
            continue
        if order.origin != "node" or fill.symbol not in node.kernel.portfolio.positions:
            continue
        if fill.symbol not in instruments:
            continue
        _replay(node, order, fill, instruments[fill.symbol])
        applied += 1
    return applied


def _replay(node: TradingNode, owner: LiveOrder, fill: LiveFill, instrument: Instrument) -> None:
    """Apply ``fill`` of ``owner`` to the portfolio as history (nothing published)."""
    quantity, fee, _ = kernel_fill(fill, instrument)
    ts = fill.ts_event * _NS_PER_MS
    side = OrderSide.BUY if fill.side == "buy" else OrderSide.SELL
    node.kernel.portfolio.restore_fill(
        OrderFilled(owner.order_id, owner.strategy_id, f"X-{fill.trade_id}", fill.symbol,
                    side, quantity, fill.price, fee, fill.liquidity, 0.0, ts, ts)
    )  # fmt: skip


def check_agrees(
    node: TradingNode,
    manager: OrderManager,
    instruments: Mapping[str, Instrument],
    tolerance: float = 1e-9,
) -> dict[str, float]:
    """Return the node's positions once they equal the store's; raise when they differ.

    The store's are what the node's own fills add up to (`kill.node_positions`: buys
    minus sells minus fees in the base asset), after reconciliation brought them up to the
    exchange's wallet; the kernel's are the restored portfolio plus what reconciliation
    published.

    Raises:
        ExchangeFatalError: A symbol's position differs (the node refuses to trade).
    """
    stored = node_positions(manager.ledger, instruments)
    positions = node.kernel.portfolio.positions
    kernel = {s: positions[s].quantity for s in stored if s in positions}
    wrong = [
        f"{s}: the node holds {kernel[s]:.8f}, its fills add up to {stored[s]:.8f}"
        for s in sorted(kernel)
        if abs(kernel[s] - stored[s]) > tolerance * max(1.0, abs(stored[s]))
    ]
    if wrong:
        raise ExchangeFatalError(
            f"live account {manager.ledger.account!r}: the restored portfolio does not match "
            "the store after reconciliation: " + "; ".join(wrong) + ". Refusing to trade; "
            "report this with the account's events.jsonl"
        )
    return kernel
