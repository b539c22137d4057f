"""LiveVenue: the kernel's order commands to the local exchange, its answers as order events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import CcxtExchange, Credentials, open_trading_exchange
from engine.adapters.ccxt.venue import wall_clock_ms as wall
from engine.bus import EventBus
from engine.clock import SimClock
from engine.errors import ConfigError
from engine.execution.models import PercentFeeModel
from engine.model import (
    OrderAccepted,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderRejected,
    OrderRequested,
    OrderSide,
    OrderType,
    TimeInForce,
)
from engine.persistence import RunStore
from engine.runtime.live import LiveFill, LiveLedger, OrderManager, Update
from engine.runtime.live.venue import LiveVenue, live_mode
from tests.contract.conftest import BTC, SECRET, btc_rows


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, balances={"USDT": 10000.0})


def request(number: int, side: OrderSide, quantity: float, **kw: Any) -> OrderRequested:
    fields: dict[str, Any] = {
        "order_type": OrderType.MARKET, "limit_price": None, "stop_price": None,
        "time_in_force": TimeInForce.GTC, "ts_event": 1, "ts_init": 1, **kw,
    }  # fmt: skip
    return OrderRequested(f"s-{number:06d}", "s", "BTC/USDT", side, quantity, **fields)


class Rig:
    def __init__(self, local: Any, tmp_path: Path, cash_shortfall: str = "reduce") -> None:
        client = open_trading_exchange(
            "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
        )
        client.enableRateLimit = False
        exchange = CcxtExchange(client, RetryPolicy(attempts=2, backoff_s=0.0), wall)
        exchange.load()
        store = RunStore(f"sqlite:///{tmp_path / 'live.db'}")
        quick = RetryPolicy(attempts=2, backoff_s=0.0, sleep=lambda _: None)
        self.manager = OrderManager(exchange, LiveLedger(store, "acct"), quick)
        self.bus = EventBus()
        self.events: list[Any] = []
        self.bus.subscribe_all(self.events.append)
        self.venue = LiveVenue(
            self.bus,
            SimClock(5),
            self.manager,
            {"BTC/USDT": BTC},
            fees=PercentFeeModel(0.001),  # the local exchange's rate
            cash_shortfall=cash_shortfall,
        )

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def test_a_market_buy_is_accepted_and_filled(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    rig.venue.submit(request(1, OrderSide.BUY, 0.01))
    assert rig.kinds() == ["OrderAccepted", "OrderFilled"]
    fill = rig.events[1]
    assert (fill.quantity, fill.price, fill.leaves_quantity, fill.liquidity) == (
        0.01,
        18818.05,
        0.0,
        "taker",
    )
    assert fill.fee == pytest.approx(0.1881805)
    assert fill.fill_id == "X-1"
    assert not rig.venue.working


def test_a_resting_limit_is_polled_when_data_arrives(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    limit = request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT, limit_price=18810.0)
    rig.venue.submit(limit)
    assert rig.kinds() == ["OrderAccepted"]
    assert rig.venue.working == {"s-000001"}
    local.advance(1)
    rig.venue.poll()
    assert rig.kinds() == ["OrderAccepted", "OrderFilled"]
    assert rig.events[1].price == 18810.0
    assert not rig.venue.working


def test_a_sell_is_cut_to_the_wallet_and_an_empty_wallet_is_refused(
    local: Any, tmp_path: Path
) -> None:
    rig = Rig(local, tmp_path)
    rig.venue.submit(request(1, OrderSide.SELL, 0.01))
    assert rig.kinds() == ["OrderRejected"]
    assert rig.events[0].reason == "the wallet holds no BTC to sell"
    rig.venue.submit(request(2, OrderSide.BUY, 0.01))
    local.venue.free["BTC"] -= 0.0000015  # dust gone from the wallet (a base fee elsewhere)
    rig.events.clear()
    rig.venue.submit(request(3, OrderSide.SELL, 0.01))
    assert rig.kinds() == ["OrderModified", "OrderAccepted", "OrderFilled"]
    assert rig.events[0].quantity == 0.00999  # floored to the 0.00001 lot
    assert (rig.events[2].quantity, rig.events[2].leaves_quantity) == (0.00999, 0.0)


def test_a_buy_the_wallet_cannot_pay_is_cut_to_what_it_pays(local: Any, tmp_path: Path) -> None:
    # As a backtest's cash account does (execution.cash_shortfall = "reduce"): an all-in
    # order sized at the last close, which the ask and the fee put over the wallet, would
    # otherwise be refused by the exchange (InsufficientFunds) and never trade.
    rig = Rig(local, tmp_path)
    rig.venue.submit(request(1, OrderSide.BUY, 0.6))  # 0.6 x 18818.05 = 11,290.83 > 10,000
    assert rig.kinds() == ["OrderModified", "OrderAccepted", "OrderFilled"]
    # the most whole lots that 10,000 USDT pays at the ask 18818.05 with the 0.1% fee
    assert rig.events[0].quantity == 0.53087
    fill = rig.events[2]
    assert (fill.quantity, fill.price, fill.leaves_quantity) == (0.53087, 18818.05, 0.0)
    assert 0.53087 * 18818.05 * 1.001 <= 10000.0 < 0.53088 * 18818.05 * 1.001
    free_usdt = rig.manager.exchange.balances()["USDT"][0]
    assert free_usdt == pytest.approx(10000.0 - 0.53087 * 18818.05 * 1.001, abs=1e-6)


def test_a_limit_buy_is_cut_at_its_limit_price(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    limit = request(1, OrderSide.BUY, 1.0, order_type=OrderType.LIMIT, limit_price=18000.0)
    rig.venue.submit(limit)
    assert rig.kinds() == ["OrderModified", "OrderAccepted"]
    assert rig.events[0].quantity == 0.555  # the most whole lots 10,000 pays at 18,000 + fee
    assert 0.555 * 18000.0 * 1.001 <= 10000.0 < 0.55501 * 18000.0 * 1.001
    # the local exchange locks the order's cost with its fee
    assert local.venue.free["USDT"] == pytest.approx(10000.0 - 0.555 * 18000.0 * 1.001, abs=1e-6)


def test_a_buy_the_wallet_cannot_pay_is_refused_with_cancel_or_an_empty_wallet(
    local: Any, tmp_path: Path
) -> None:
    rig = Rig(local, tmp_path, cash_shortfall="cancel")
    rig.venue.submit(request(1, OrderSide.BUY, 0.6))
    assert rig.kinds() == ["OrderRejected"]
    assert rig.events[0].reason == (
        "insufficient cash: 0.6 BTC/USDT at 18818.05 costs 11302.12 with the fee, "
        'the wallet has 10000.00 USDT free (execution.cash_shortfall = "cancel")'
    )
    rig = Rig(local, tmp_path)
    local.venue.free["USDT"] = 0.0
    rig.venue.submit(request(2, OrderSide.BUY, 0.01))
    assert rig.kinds() == ["OrderRejected"]
    assert rig.events[0].reason.startswith("insufficient cash: 0.01 BTC/USDT at 18818.05 costs")
    assert local.venue.orders == {}


def test_unsupported_orders_and_modifications_are_refused(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    trailing = request(1, OrderSide.BUY, 0.01, order_type=OrderType.TRAILING_STOP,
                       trailing_offset=50.0)  # fmt: skip
    rig.venue.submit(trailing)
    on_close = request(2, OrderSide.BUY, 0.01, order_type=OrderType.MARKET_ON_CLOSE)
    rig.venue.submit(on_close)
    rig.venue.submit(request(3, OrderSide.BUY, 0.01, reduce_only=True))
    assert [type(e) for e in rig.events] == [OrderRejected] * 3
    assert "reduce-only buy has nothing to reduce" in rig.events[2].reason
    # no last price seen yet: nothing to trail from (with one, `test_live_trailing`)
    assert rig.events[0].reason == "a trailing stop needs a last price to start from"
    assert "not market_on_close" in rig.events[1].reason
    rig.venue.modify("s-000001", 0.02, None, None)  # rejected: not working
    assert isinstance(rig.events[-1], OrderModifyRejected)
    with pytest.raises(ConfigError, match='target_sizing = "decision"'):
        rig.venue.size_at_fill("s-000001", 0.5)
    assert local.venue.orders == {}


class PlentyOfCash:
    """An exchange whose wallet pays for any buy (the canned fills below are the test)."""

    def balances(self) -> dict[str, tuple[float, float]]:
        return {"USDT": (1e9, 1e9)}

    def book_price(self, symbol: str, quantity: float, side: str) -> float:
        return 20000.0

    def perpetual(self, symbol: str) -> bool:
        return False  # a spot wallet


class CannedManager:
    """Answers submit with fixed updates (a fill whose fee is in the base asset)."""

    def __init__(self, updates: list[Update]) -> None:
        self.updates = updates
        self.exchange: Any = PlentyOfCash()

    def submit(self, order_id: str, strategy_id: str, spec: Any) -> list[Update]:
        return self.updates


def test_a_fee_in_the_base_asset_reduces_the_position(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    fill = LiveFill("7", "c", "1", "BTC/USDT", "buy", 0.01, 20000.0, 0.00001, "BTC", "taker", 1)
    order = type("O", (), {"order_id": "s-000001", "reason": "", "replaces": None})()
    manager = CannedManager([Update("accepted", order), Update("filled", order, fill)])  # type: ignore[arg-type]
    venue = LiveVenue(rig.bus, SimClock(5), manager, {"BTC/USDT": BTC})  # type: ignore[arg-type]
    venue.submit(request(1, OrderSide.BUY, 0.01))
    accepted, modified, filled = rig.events
    assert isinstance(accepted, OrderAccepted)
    assert isinstance(modified, OrderModified)
    assert modified.quantity == pytest.approx(0.00999)  # the order is what was received
    assert isinstance(filled, OrderFilled)
    assert filled.quantity == pytest.approx(0.00999)  # position = the wallet's BTC
    assert filled.fee == pytest.approx(0.2)  # 0.00001 BTC at 20,000
    assert filled.quantity * filled.price + filled.fee == pytest.approx(0.01 * 20000.0)
    assert filled.leaves_quantity == 0.0


class WalletManager(CannedManager):
    """A canned manager whose exchange reports a wallet (a sell is cut to it)."""

    def __init__(self, updates: list[Update], free: float) -> None:
        super().__init__(updates)
        wallet = {"balances": lambda _: {"BTC": (free, free)}, "perpetual": lambda _, s: False}
        self.exchange = type("W", (), wallet)()


def test_a_fee_in_the_base_asset_reduces_the_position_on_a_sell(local: Any, tmp_path: Path) -> None:
    rig = Rig(local, tmp_path)
    fill = LiveFill("8", "c", "1", "BTC/USDT", "sell", 0.01, 20000.0, 0.00001, "BTC", "taker", 1)
    order = type("O", (), {"order_id": "s-000002", "reason": "", "replaces": None})()
    manager = WalletManager([Update("accepted", order), Update("filled", order, fill)], 0.02)
    venue = LiveVenue(rig.bus, SimClock(5), manager, {"BTC/USDT": BTC})  # type: ignore[arg-type]
    venue.submit(request(2, OrderSide.SELL, 0.01))
    accepted, modified, filled = rig.events
    assert isinstance(accepted, OrderAccepted)
    assert isinstance(modified, OrderModified)
    assert modified.quantity == pytest.approx(0.01001)  # the order is what left the wallet
    assert isinstance(filled, OrderFilled)
    assert filled.quantity == pytest.approx(0.01001)  # sold plus the fee taken in BTC
    assert filled.fee == pytest.approx(0.2)  # 0.00001 BTC at 20,000
    assert filled.quantity * filled.price - filled.fee == pytest.approx(0.01 * 20000.0)
    assert filled.leaves_quantity == 0.0


def test_the_live_mode_builds_a_streaming_node_mode(local: Any, tmp_path: Path) -> None:
    mode = live_mode(Rig(local, tmp_path).manager)
    assert (mode.name, mode.streaming, mode.snapshots) == ("live", True, True)


def test_a_modification_whose_old_order_filled_first_is_rejected_after_the_fill(
    local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spot: the limit fills at the exchange (row 100's low 18800) before the node looks;
    the cancel-replace's cancel meets the fill (-2011): the kernel hears the fill, then
    `OrderModifyRejected`, as the backtest answers a modification of a filled order."""
    rig = Rig(local, tmp_path)
    limit = request(1, OrderSide.BUY, 0.01, order_type=OrderType.LIMIT, limit_price=18810.0)
    rig.venue.submit(limit)
    local.advance(1)
    monkeypatch.setattr(rig.venue, "poll", lambda: None)  # the fill races the modification
    rig.venue.modify("s-000001", None, 18805.0, None)
    assert rig.kinds() == ["OrderAccepted", "OrderFilled", "OrderModifyRejected"]
    fill, rejected = rig.events[1], rig.events[2]
    assert (fill.quantity, fill.price, fill.leaves_quantity) == (0.01, 18810.0, 0.0)
    assert (
        rejected.reason == "modification refused (the cancel of the old one): Unknown order sent."
    )
    assert [o.status for o in local.venue.orders.values()] == ["FILLED"]  # nothing placed
    assert not rig.venue.working
