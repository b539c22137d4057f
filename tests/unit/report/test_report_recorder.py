"""Recorder: order rows and position-based round trips (partial exits, flips, fee split)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.bus import EventBus
from engine.clock import SimClock
from engine.model import (
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.portfolio import Portfolio
from engine.report import Recorder, TradeRecord
from engine.report.recorder import Mark

BUY, SELL = OrderSide.BUY, OrderSide.SELL


class Fills:
    """Feeds fills of one symbol to a recorder, numbering them."""

    def __init__(self, recorder: Recorder, symbol: str = "A") -> None:
        self.recorder = recorder
        self.symbol = symbol
        self.n = 0

    def __call__(self, side: OrderSide, quantity: float, price: float, fee: float) -> str:
        self.n += 1
        order_id = f"S1-{self.symbol}-{self.n}"
        self.recorder.on_order_requested(request(order_id, side, quantity, symbol=self.symbol))
        fill_id = f"F-{self.symbol}-{self.n}"
        self.recorder.on_order_filled(
            OrderFilled(
                order_id,
                "S1",
                fill_id,
                self.symbol,
                side,
                quantity,
                price,
                fee,
                "taker",
                0.0,
                self.n * 10,
                self.n * 10,
            )
        )
        return fill_id


def request(
    order_id: str,
    side: OrderSide,
    quantity: float,
    *,
    symbol: str = "A",
    limit: float | None = None,
) -> OrderRequested:
    return OrderRequested(
        order_id,
        "S1",
        symbol,
        side,
        quantity,
        OrderType.LIMIT if limit else OrderType.MARKET,
        limit,
        None,
        TimeInForce.GTC,
        5,
        5,
        "t",
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(["A", "B"])


def test_long_round_trip_with_partial_exits(recorder: Recorder) -> None:
    fill = Fills(recorder)
    ids = [fill(BUY, 10, 100.0, 1.0), fill(SELL, 4, 110.0, 0.44), fill(SELL, 6, 120.0, 0.72)]
    (trade,) = recorder.trades
    assert recorder.open_trades == {}
    assert (trade.symbol, trade.side, trade.entry_ts, trade.exit_ts) == ("A", "long", 10, 30)
    assert (trade.entry_quantity, trade.exit_quantity) == (10, 10)
    assert trade.entry_price == 100.0
    assert trade.exit_price == pytest.approx(116.0)  # (4 x 110 + 6 x 120) / 10
    assert trade.gross_pnl == pytest.approx(160.0)
    assert trade.fees == pytest.approx(2.16)
    assert trade.net_pnl == pytest.approx(157.84)
    assert trade.fill_ids == ids


def test_adding_to_a_trade_moves_its_entry_price(recorder: Recorder) -> None:
    fill = Fills(recorder)
    fill(BUY, 5, 10.0, 0.0)
    fill(BUY, 5, 20.0, 0.0)
    fill(SELL, 3, 30.0, 0.0)
    fill(BUY, 2, 40.0, 0.0)  # adds to the open trade
    assert recorder.trades == []
    assert recorder.open_trades["A"].entry_quantity == 12
    fill(SELL, 9, 25.0, 0.0)
    (trade,) = recorder.trades
    # entry (50 + 100 + 80) / 12; exit (90 + 225) / 12; gross = 315 - 230 = 85 = cash flow
    assert trade.entry_price == pytest.approx(230 / 12)
    assert trade.exit_price == pytest.approx(315 / 12)
    assert trade.gross_pnl == pytest.approx(85.0)


def test_flip_splits_the_fee_by_quantity(recorder: Recorder) -> None:
    fill = Fills(recorder)
    first = fill(BUY, 10, 100.0, 1.0)
    flip = fill(SELL, 25, 90.0, 2.5)  # closes 10 long, opens 15 short
    (long_trade,) = recorder.trades
    assert long_trade.side == "long"
    assert long_trade.gross_pnl == pytest.approx(-100.0)
    assert long_trade.fees == pytest.approx(1.0 + 2.5 * 10 / 25)
    assert long_trade.net_pnl == pytest.approx(-102.0)
    assert long_trade.exit_ts == 20
    assert long_trade.fill_ids == [first, flip]
    short = recorder.open_trades["A"]
    assert (short.side, short.entry_ts, short.entry_quantity, short.entry_price) == (
        "short",
        20,
        15,
        90.0,
    )
    assert short.fees == pytest.approx(1.5)
    cover = fill(BUY, 15, 80.0, 1.2)
    short_trade = recorder.trades[1]
    assert short_trade.gross_pnl == pytest.approx(150.0)  # 15 x (90 - 80)
    assert short_trade.fees == pytest.approx(2.7)
    assert short_trade.net_pnl == pytest.approx(147.3)
    assert short_trade.fill_ids == [flip, cover]
    assert recorder.open_trades == {}


def test_flip_back_and_forth_and_symbols_are_separate(recorder: Recorder) -> None:
    a, b = Fills(recorder, "A"), Fills(recorder, "B")
    a(SELL, 2, 50.0, 0.0)
    b(BUY, 1, 7.0, 0.0)
    a(BUY, 5, 40.0, 0.5)  # short 2 closed (+20), long 3 opened @40
    a(SELL, 3, 45.0, 0.0)  # long 3 closed (+15)
    assert [(t.symbol, t.side, t.gross_pnl) for t in recorder.trades] == [
        ("A", "short", pytest.approx(20.0)),
        ("A", "long", pytest.approx(15.0)),
    ]
    assert [t.fees for t in recorder.trades] == [pytest.approx(0.2), pytest.approx(0.3)]
    assert list(recorder.open_trades) == ["B"]  # still open: not a round trip yet


def test_dust_closes_the_trade(recorder: Recorder) -> None:
    fill = Fills(recorder)
    fill(BUY, 0.3, 10.0, 0.0)
    for _ in range(3):
        fill(SELL, 0.1, 12.0, 0.0)
    (trade,) = recorder.trades
    assert trade.gross_pnl == pytest.approx(0.6)
    assert recorder.open_trades == {}


def test_trade_record_without_exits() -> None:
    trade = TradeRecord("A", "long", 1, entry_quantity=2.0, entry_value=20.0)
    assert (trade.entry_price, trade.exit_price, trade.gross_pnl, trade.net_pnl) == (
        10.0,
        0.0,
        0.0,
        0.0,
    )


def test_round_trips_agree_with_the_portfolio_on_random_fills() -> None:
    rng = np.random.default_rng(11)
    bus = EventBus()
    portfolio = Portfolio(bus, SimClock(0), 1e6, {"A": 1.0})
    recorder = Recorder(["A"])
    fill = Fills(recorder)
    held = 0.0
    for step in range(400):
        if step == 399 or (rng.random() < 0.15 and held):
            signed = -held
        else:
            signed = float(np.round(rng.normal(0, 4), 2)) or 1.0
        if signed == 0:
            continue
        price = float(100 + rng.normal(0, 5))
        fee = abs(signed) * price * 0.001
        side = BUY if signed > 0 else SELL
        fill(side, abs(signed), price, fee)
        portfolio.on_order_filled(recorder.fills[-1])
        held += signed
    assert recorder.open_trades == {}
    assert len(recorder.trades) > 20
    gross = sum(t.gross_pnl for t in recorder.trades)
    fees = sum(t.fees for t in recorder.trades)
    assert gross == pytest.approx(portfolio.positions["A"].realized_pnl, abs=1e-6)
    assert fees == pytest.approx(portfolio.fees_paid, abs=1e-9)
    assert portfolio.cash - 1e6 == pytest.approx(gross - fees, abs=1e-6)


def test_order_rows_follow_the_order_events(recorder: Recorder) -> None:
    recorder.on_order_requested(request("S1-1", BUY, 10.7, limit=99.996))
    row = recorder.orders["S1-1"]
    assert (row["status"], row["quantity"], row["limit_price"], row["tag"]) == (
        "requested",
        10.7,
        99.996,
        "t",
    )
    assert (row["side"], row["order_type"], row["time_in_force"]) == ("buy", "limit", "gtc")
    rounded = request("S1-1", BUY, 10.0, limit=100.0)
    recorder.on_order_approved(OrderApproved(rounded, 6, 6))
    assert row["status"] == "requested"  # a row is a snapshot: read it again after events
    row = recorder.orders["S1-1"]
    assert (row["status"], row["quantity"], row["limit_price"], row["ts_last"]) == (
        "submitted",
        10.0,
        100.0,
        6,
    )
    recorder.on_order_accepted(OrderAccepted("S1-1", "S1", "A", 7, 7))
    row = recorder.orders["S1-1"]
    assert row["status"] == "accepted"
    recorder.on_order_filled(
        OrderFilled("S1-1", "S1", "F1", "A", BUY, 4.0, 100.0, 0.4, "maker", 6.0, 8, 8)
    )
    row = recorder.orders["S1-1"]
    assert (row["status"], row["filled_quantity"], row["average_fill_price"]) == (
        "partially_filled",
        4.0,
        100.0,
    )
    recorder.on_order_filled(
        OrderFilled("S1-1", "S1", "F2", "A", BUY, 6.0, 99.0, 0.594, "maker", 0.0, 9, 9)
    )
    row = recorder.orders["S1-1"]
    assert (row["status"], row["filled_quantity"], row["ts_last"]) == ("filled", 10.0, 9)
    assert row["average_fill_price"] == pytest.approx(99.4)  # (400 + 594) / 10
    assert row["fees"] == pytest.approx(0.994)

    recorder.on_order_requested(request("S1-2", SELL, 1))
    recorder.on_order_denied(OrderDenied("S1-2", "S1", "A", "cash", "too poor", 10, 10))
    assert {k: recorder.orders["S1-2"][k] for k in ("status", "check", "reason", "ts_last")} == {
        "status": "denied",
        "check": "cash",
        "reason": "too poor",
        "ts_last": 10,
    }
    recorder.on_order_requested(request("S1-3", SELL, 1))
    recorder.on_order_rejected(OrderRejected("S1-3", "S1", "A", "venue", 11, 11))
    assert (recorder.orders["S1-3"]["status"], recorder.orders["S1-3"]["reason"]) == (
        "rejected",
        "venue",
    )
    recorder.on_order_requested(request("S1-4", SELL, 1))
    recorder.on_order_canceled(OrderCanceled("S1-4", "S1", "A", "bye", 12, 12))
    assert recorder.orders["S1-4"]["status"] == "canceled"
    assert list(recorder.orders) == ["S1-1", "S1-2", "S1-3", "S1-4"]
    assert recorder.orders_with_status("denied") == [recorder.orders["S1-2"]]
    assert recorder.orders_with_status("expired") == []


def test_open_row_of_a_partly_reduced_position_is_the_whole_trade(recorder: Recorder) -> None:
    # README "A run's artifacts", trades.csv: bought 10 at 100 (fee 1), sold 4 at 110
    # (fee 0.44), 6 still held at the last close 120. The open row is the whole trade:
    # quantity 10 (bought, not held), exit price (4 x 110 + 6 x 120) / 10 = 116 (a blend,
    # not the close), gross 40 realized + 120 unrealized, net 158.56 = the equity change
    # (cash 10,000 - 1,001 + 439.56 and 6 x 120 held = 10,158.56).
    fill = Fills(recorder)
    fill(BUY, 10, 100.0, 1.0)
    fill(SELL, 4, 110.0, 0.44)
    (row,) = recorder.marked_open_trades({"A": Mark(99, 120.0, 1.0, 6 * 20.0)})
    assert (row.is_open, row.entry_quantity, row.exit_ts) == (True, 10, 99)
    assert row.entry_price == 100.0
    assert row.exit_price == pytest.approx(116.0)
    assert row.gross_pnl == pytest.approx(40.0 + row.unrealized_pnl)
    assert row.net_pnl == pytest.approx(158.56)
    assert recorder.open_trades["A"].exit_quantity == 4  # the held 6 = 10 - 4
