"""Fees in the asset received, as Binance spot charges them (``fee_asset="received"``).

By default the local exchange charges every fee in the quote asset (the backtest's
arithmetic). With ``fee_asset="received"`` a buy pays its fee in the base asset it receives
and a sell in the quote asset, as Binance does without BNB: the node's base-asset fee path
(`engine.runtime.live.wallet.kernel_fill`, the kill switch's sellable position) then meets
a real exchange's fills.

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05; it then
trades 18800..18932); 10,000 USDT; fee 0.1 %.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.adapters.ccxt.errors import RetryPolicy
from engine.adapters.ccxt.venue import (
    CcxtExchange,
    Credentials,
    OrderSpec,
    open_trading_exchange,
    wall_clock_ms,
)
from engine.errors import ConfigError
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger, OrderManager
from engine.runtime.live.reconcile import reconcile
from tests.contract.conftest import BTC, SECRET, btc_rows, ccxt_client, make_exchange

INSTRUMENTS = {"BTC/USDT": BTC}


@pytest.fixture
def local(exchange_factory: Any) -> Any:
    return exchange_factory(btc_rows(300), paused=True, history=100, fee_asset="received")


def test_a_buy_pays_its_fee_in_the_base_asset_a_sell_in_the_quote(local: Any) -> None:
    client = ccxt_client(local)
    client.load_markets()
    bought = client.create_order("BTC/USDT", "market", "buy", 0.01)
    assert bought["fee"] == {"cost": pytest.approx(0.00001), "currency": "BTC"}
    (trade,) = client.fetch_my_trades("BTC/USDT")
    assert (trade["info"]["commission"], trade["info"]["commissionAsset"]) == ("0.00001000", "BTC")
    balance = client.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.00999)  # 0.01 less its fee
    assert balance["USDT"]["free"] == pytest.approx(10000 - 188.1805)  # no fee in USDT
    sold = client.create_order("BTC/USDT", "market", "sell", 0.00999)
    assert sold["fee"]["currency"] == "USDT"
    assert sold["fee"]["cost"] == pytest.approx(0.00999 * 18818.05 * 0.001)
    balance = client.fetch_balance()
    assert balance["BTC"]["free"] == pytest.approx(0.0)
    assert balance["USDT"]["free"] == pytest.approx(10000 - 188.1805 + 187.99232 * 0.999)


def test_a_resting_buy_locks_its_cost_without_the_fee(local: Any) -> None:
    client = ccxt_client(local)
    client.load_markets()
    client.create_order("BTC/USDT", "limit", "buy", 0.01, 18810.0)
    assert client.fetch_balance()["USDT"]["used"] == pytest.approx(188.1)
    local.advance(1)  # row 100 trades through 18810: filled as a maker
    balance = client.fetch_balance()
    assert (balance["USDT"]["used"], balance["USDT"]["free"]) == (0.0, pytest.approx(9811.9))
    assert balance["BTC"]["free"] == pytest.approx(0.00999)
    (trade,) = client.fetch_my_trades("BTC/USDT")
    assert (trade["takerOrMaker"], trade["fee"]["currency"]) == ("maker", "BTC")


def test_the_fee_asset_is_quote_or_received_and_spot_only() -> None:
    with pytest.raises(ConfigError, match="fee_asset must be 'quote' or 'received', got 'bnb'"):
        make_exchange(btc_rows(300), fee_asset="bnb")
    with pytest.raises(ConfigError, match="fee_asset='received' is for spot"):
        make_exchange(btc_rows(300), fee_asset="received", perpetual=True)


def test_the_nodes_base_asset_fee_path_matches_the_wallet(local: Any, tmp_path: Path) -> None:
    from engine.runtime.live.kill import flatten_and_halt, node_positions

    store = RunStore(f"sqlite:///{tmp_path / 'live.db'}")

    def start() -> OrderManager:
        client = open_trading_exchange(
            "binance", Credentials("k", SECRET), sandbox=True, local_url=local.urls["http"]
        )
        client.enableRateLimit = False
        exchange = CcxtExchange(client, RetryPolicy(attempts=3, backoff_s=0.0), wall_clock_ms)
        exchange.load()
        lookup = RetryPolicy(attempts=3, backoff_s=0.0, sleep=lambda _: None)
        return OrderManager(exchange, LiveLedger(store, "acct"), lookup)

    node = start()
    reconcile(node, INSTRUMENTS)
    updates = node.submit("s-000001", "s", OrderSpec("", "BTC/USDT", "buy", "market", 0.01))
    fill = updates[-1].fill
    assert (fill.quantity, fill.fee, fill.fee_asset) == (0.01, pytest.approx(0.00001), "BTC")
    assert node_positions(node.ledger, INSTRUMENTS) == {"BTC/USDT": pytest.approx(0.00999)}
    result = reconcile(start(), INSTRUMENTS)  # a restart: the wallet is what the fills say
    assert result.expected == pytest.approx({"BTC": 0.00999, "USDT": 10000 - 188.1805})
    assert result.actual == pytest.approx(result.expected)
    updates = flatten_and_halt(node, INSTRUMENTS)  # sells what the node holds, fee gone
    assert [u.kind for u in updates] == ["accepted", "filled"]
    assert updates[-1].fill.quantity == pytest.approx(0.00999)
    assert local.venue.free["BTC"] == pytest.approx(0.0)
    assert node_positions(node.ledger, INSTRUMENTS) == {"BTC/USDT": pytest.approx(0.0)}
