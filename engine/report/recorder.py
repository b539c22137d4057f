"""Recorder: turns the run's events into rows (orders, fills, round-trip trades).

In: order events and `OrderFilled` from the bus. Out: plain Python rows, ready for CSV
artifacts, the run store and metrics (the equity curve is the portfolio's). Round trips
are position-based: a trade opens when a symbol's position leaves zero and closes when it
returns to zero; a fill that crosses zero closes one trade and opens the next, and its fee
is split between them in proportion to quantity. Account facts are kept as they came:
`CashAdjusted` (borrow fees, funding) in ``cash_adjustments``, `MarginCalled` and
`AccountLiquidated` in ``account_events``.

Currencies: a trade's prices (``entry_price``, ``exit_price``, ``entry_value``,
``exit_value``) are in the instrument's quote currency; ``fees``, ``gross_pnl`` and
``net_pnl`` are in the account currency. With ``fx`` (a multi-currency run) every fill is
converted at the rate as of its ``ts_event`` (`engine.portfolio.fx`): ``entry_cost`` and
``exit_proceeds`` hold the account-currency values, so a round trip's gross PnL is the
proceeds at the exit rates minus the cost at the entry rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.model import (
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderTriggered,
)
from engine.portfolio.events import AccountLiquidated, CashAdjusted, MarginCalled
from engine.risk.events import TradingStateChanged

__all__ = ["Recorder", "TradeRecord"]


@dataclass
class TradeRecord:
    """One round trip (or the still-open trade of a symbol)."""

    symbol: str
    side: str  # "long" or "short"
    entry_ts: int
    entry_quantity: float = 0.0
    entry_value: float = 0.0
    exit_quantity: float = 0.0
    exit_value: float = 0.0
    fees: float = 0.0
    exit_ts: int = 0
    fill_ids: list[str] = field(default_factory=list)
    # account-currency entry cost and exit proceeds (multi-currency runs); None: they equal
    # entry_value and exit_value (the instrument is quoted in the account currency)
    entry_cost: float | None = None
    exit_proceeds: float | None = None

    @property
    def entry_value_account(self) -> float:
        """Return what the entry cost in the account currency."""
        return self.entry_value if self.entry_cost is None else self.entry_cost

    @property
    def entry_price(self) -> float:
        """Return the quantity-weighted average entry price."""
        return self.entry_value / self.entry_quantity if self.entry_quantity else 0.0

    @property
    def exit_price(self) -> float:
        """Return the quantity-weighted average exit price."""
        return self.exit_value / self.exit_quantity if self.exit_quantity else 0.0

    @property
    def gross_pnl(self) -> float:
        """Return PnL before fees on the closed quantity (account currency)."""
        direction = 1.0 if self.side == "long" else -1.0
        if self.entry_cost is not None and self.exit_proceeds is not None:
            average_cost = self.entry_cost / self.entry_quantity if self.entry_quantity else 0.0
            return direction * (self.exit_proceeds - average_cost * self.exit_quantity)
        return direction * (self.exit_value - self.entry_price * self.exit_quantity)

    @property
    def net_pnl(self) -> float:
        """Return PnL after all fees of the trade."""
        return self.gross_pnl - self.fees


class Recorder:
    """Collects what happened during a run, in the order it happened."""

    def __init__(self, symbols: list[str], fx: Callable[[str, int], float] | None = None) -> None:
        """Record ``symbols``; ``fx(symbol, ts_ns)`` converts quote amounts (None: no FX)."""
        self._fx = fx
        self.orders: dict[str, dict[str, Any]] = {}
        self.fills: list[OrderFilled] = []
        self.trades: list[TradeRecord] = []
        self.open_trades: dict[str, TradeRecord] = {}
        self.cash_adjustments: list[CashAdjusted] = []
        self.account_events: list[MarginCalled | AccountLiquidated] = []
        self.trading_states: list[TradingStateChanged] = []  # risk's ACTIVE/REDUCING/HALTED
        self._position: dict[str, float] = dict.fromkeys(symbols, 0.0)

    def on_order_requested(self, event: OrderRequested) -> None:
        """Open the order's row."""
        self.orders[event.order_id] = {
            "order_id": event.order_id,
            "strategy_id": event.strategy_id,
            "symbol": event.symbol,
            "side": str(event.side),
            "order_type": str(event.order_type),
            "quantity": event.quantity,
            "limit_price": event.limit_price,
            "stop_price": event.stop_price,
            "time_in_force": str(event.time_in_force),
            "tag": event.tag,
            "status": "requested",
            "filled_quantity": 0.0,
            "average_fill_price": None,
            "fees": 0.0,
            "ts_requested": event.ts_event,
            "ts_last": event.ts_event,
            "check": "",
            "reason": "",
        }

    def on_order_approved(self, event: OrderApproved) -> None:
        """Record the rounded quantity and prices risk approved."""
        row = self.orders[event.order.order_id]
        row.update(
            quantity=event.order.quantity,
            limit_price=event.order.limit_price,
            stop_price=event.order.stop_price,
            status="submitted",
            ts_last=event.ts_event,
        )

    def on_order_denied(self, event: OrderDenied) -> None:
        """Record a risk denial with the failing check and reason."""
        self.orders[event.order_id].update(
            status="denied", check=event.check, reason=event.reason, ts_last=event.ts_event
        )

    def on_order_accepted(self, event: OrderAccepted) -> None:
        """Record acceptance by the broker."""
        self.orders[event.order_id].update(status="accepted", ts_last=event.ts_event)

    def on_order_rejected(self, event: OrderRejected) -> None:
        """Record a broker rejection."""
        self.orders[event.order_id].update(
            status="rejected", reason=event.reason, ts_last=event.ts_event
        )

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """Record a cancellation."""
        self.orders[event.order_id].update(
            status="canceled", reason=event.reason, ts_last=event.ts_event
        )

    def on_order_triggered(self, event: OrderTriggered) -> None:
        """Record that a stop-limit's stop was reached."""
        self.orders[event.order_id].update(status="triggered", ts_last=event.ts_event)

    def on_order_modified(self, event: OrderModified) -> None:
        """Record the order's new quantity and prices."""
        self.orders[event.order_id].update(
            quantity=event.quantity,
            limit_price=event.limit_price,
            stop_price=event.stop_price,
            ts_last=event.ts_event,
        )

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        """Record why a modification was refused (the order keeps working)."""
        row = self.orders.get(event.order_id)
        if row is not None:
            row.update(reason=f"modify rejected: {event.reason}", ts_last=event.ts_event)

    def on_order_expired(self, event: OrderExpired) -> None:
        """Record an expiry."""
        self.orders[event.order_id].update(
            status="expired", reason="expired", ts_last=event.ts_event
        )

    def on_order_filled(self, event: OrderFilled) -> None:
        """Record the fill, update the order's row and the symbol's round trip."""
        self.fills.append(event)
        row = self.orders[event.order_id]
        filled = row["filled_quantity"] + event.quantity
        average = row["average_fill_price"] or 0.0
        row["average_fill_price"] = (
            average * row["filled_quantity"] + event.price * event.quantity
        ) / filled
        row["filled_quantity"] = filled
        row["fees"] += event.fee
        row["status"] = "filled" if event.leaves_quantity <= 0 else "partially_filled"
        row["ts_last"] = event.ts_event
        self._track_round_trip(event)

    def on_cash_adjusted(self, event: CashAdjusted) -> None:
        """Record a cash flow that is not a fill (borrow fee, funding)."""
        self.cash_adjustments.append(event)

    def on_account_event(self, event: MarginCalled | AccountLiquidated) -> None:
        """Record a margin call or the end of a liquidation."""
        self.account_events.append(event)

    def on_trading_state_changed(self, event: TradingStateChanged) -> None:
        """Record a change of risk's trading state (guard tripped, cooldown, user)."""
        self.trading_states.append(event)

    def event_rows(self) -> list[dict[str, Any]]:
        """Return the run's account and risk events as rows, in time order.

        Columns: ``ts_event``, ``kind`` (``borrow_fee``, ``funding``, ``margin_called``,
        ``account_liquidated``, ``trading_state``), ``symbol``, ``amount`` (cash change, or
        equity for margin events) and ``detail`` (a sentence).
        """
        rows: list[dict[str, Any]] = []
        for cash in self.cash_adjustments:
            rows.append(
                {
                    "ts_event": cash.ts_init,
                    "kind": cash.reason,
                    "symbol": cash.symbol,
                    "amount": cash.amount,
                    "detail": f"{cash.reason} due at {_utc(cash.ts_event)}",
                }
            )
        for event in self.account_events:
            if isinstance(event, AccountLiquidated):
                rows.append(
                    {
                        "ts_event": event.ts_event,
                        "kind": "account_liquidated",
                        "symbol": ",".join(event.symbols),
                        "amount": event.equity,
                        "detail": "every position closed after a margin call",
                    }
                )
            else:
                rows.append(
                    {
                        "ts_event": event.ts_event,
                        "kind": "margin_called",
                        "symbol": "",
                        "amount": event.equity,
                        "detail": (
                            f"equity {event.equity:.2f} below maintenance margin "
                            f"{event.maintenance_margin:.2f} (gross exposure "
                            f"{event.gross_exposure:.2f})"
                        ),
                    }
                )
        for change in self.trading_states:
            rows.append(
                {
                    "ts_event": change.ts_event,
                    "kind": "trading_state",
                    "symbol": "",
                    "amount": None,
                    "detail": f"{change.previous} -> {change.state}: {change.reason}",
                }
            )
        rows.sort(key=lambda row: row["ts_event"])  # stable: same-time rows keep their kind order
        return rows

    def _track_round_trip(self, fill: OrderFilled) -> None:
        symbol = fill.symbol
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        position = self._position[symbol]
        remaining = fill.quantity
        rate = 1.0 if self._fx is None else self._fx(symbol, fill.ts_event)
        trade = self.open_trades.get(symbol)
        if trade is not None and (position > 0) != (signed > 0):
            closing = min(remaining, abs(position))
            trade.exit_quantity += closing
            trade.exit_value += closing * fill.price
            if trade.exit_proceeds is not None:
                trade.exit_proceeds += closing * fill.price * rate
            trade.fees += fill.fee * rate * closing / fill.quantity
            trade.fill_ids.append(fill.fill_id)
            remaining -= closing
            position += closing if signed > 0 else -closing
            if abs(position) <= 1e-9 * trade.entry_quantity:
                position = 0.0
                trade.exit_ts = fill.ts_event
                self.trades.append(trade)
                del self.open_trades[symbol]
        if remaining > 1e-12 * fill.quantity:
            trade = self.open_trades.get(symbol)
            if trade is None:
                trade = TradeRecord(symbol, "long" if signed > 0 else "short", fill.ts_event)
                if self._fx is not None:
                    trade.entry_cost = trade.exit_proceeds = 0.0
                self.open_trades[symbol] = trade
            trade.entry_quantity += remaining
            trade.entry_value += remaining * fill.price
            if trade.entry_cost is not None:
                trade.entry_cost += remaining * fill.price * rate
            trade.fees += fill.fee * rate * remaining / fill.quantity
            trade.fill_ids.append(fill.fill_id)
            position += remaining if signed > 0 else -remaining
        self._position[symbol] = position


def _utc(ts_ns: int) -> str:
    """Return ``ts_ns`` as ISO-8601 UTC text for event details."""
    return datetime.fromtimestamp(ts_ns // 10**9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
