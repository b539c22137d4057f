"""The local exchange's USDⓈ-M websockets against ccxt.pro 4.5.90: the perpetual's klines
(``/fapi/v1/klines``, then ``/market/ws``) through the live feed, and the futures user-data
stream (``/fapi/v1/listenKey``, ``/private/ws?listenKey=``: ``ORDER_TRADE_UPDATE``,
``ACCOUNT_UPDATE``, funding as ``ACCOUNT_UPDATE`` reason ``FUNDING_FEE``) through
`UserStream` (issue 15: `kestrel live` trades perpetuals).

Replay state: 100 closed hourly BTC/USDT bars, row 100 in progress (open 18818.05);
10,000 USDT; fee 0.04 %.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import aiohttp
import numpy as np
import pytest

from engine.adapters.ccxt.feed import open_feed
from engine.adapters.ccxt.user import OrderEvent, UserStream, open_user_exchange
from engine.adapters.ccxt.venue import Credentials, OrderSpec
from engine.adapters.local import LocalExchange, payloads
from engine.feeds import load_bars
from engine.model import Bar
from engine.persistence import RunStore
from engine.portfolio.accounts import FundingRates
from engine.runtime.live import LiveLedger, OrderManager, perpetuals
from engine.runtime.live.stream import StreamOptions
from tests.contract.conftest import SECRET, btc_rows
from tests.contract.test_live_stream_faults import Node, run_monitor, stall_then_fill
from tests.contract.test_local_fapi import FEE, OPEN, perpetual_exchange, venue

HOUR_MS = 3_600_000


@pytest.fixture
def local() -> Any:
    exchange = perpetual_exchange()
    yield exchange
    exchange.stop()


def served(local: LocalExchange, row: int) -> Bar:
    """Return row ``row`` as the exchange serves it once closed (8-decimal wire values)."""
    market = local.replay.markets["BTC/USDT"]
    kline = market.kline(row, market.open_ms[-1] + 10 * HOUR_MS)
    values = [float(v) for v in payloads.kline_row(kline)[1:6]]
    return kline.as_bar("BTC/USDT")._replace(
        open=values[0], high=values[1], low=values[2], close=values[3], volume=values[4]
    )


def test_the_feed_reads_a_perpetuals_bars_over_fapi_then_its_kline_websocket(
    local: LocalExchange,
) -> None:
    since = int(local.replay.markets["BTC/USDT"].open_ms[96] + HOUR_MS) * 1_000_000

    async def main() -> tuple[list[Any], Any]:
        feed = open_feed("binance", ["BTC/USDT"], "1h", local_url=local.urls["http"],
                         perpetuals=["BTC/USDT"])  # fmt: skip
        stream = feed.stream(since)
        try:
            bars = [await asyncio.wait_for(anext(stream), 10) for _ in range(3)]  # REST
            await asyncio.to_thread(local.wait_for_listener, "btcusdt@kline_1h")
            await asyncio.to_thread(local.advance, 2)  # row 100 closes, row 101 too
            bars += [await asyncio.wait_for(anext(stream), 10) for _ in range(2)]
            return bars, feed.stats
        finally:
            await stream.aclose()
            await feed.close()

    bars, stats = asyncio.run(main())
    assert bars == [served(local, row) for row in range(97, 102)]
    assert {b.symbol for b in bars} == {"BTC/USDT"}  # the engine's symbol, not BTC/USDT:USDT
    assert stats.rest_bars == 3
    assert stats.stream_bars == 2


def user_stream(local: LocalExchange) -> UserStream:
    client = open_user_exchange("binance", Credentials("any-key", SECRET), sandbox=True,
                                local_url=local.urls["http"], perpetual=True)  # fmt: skip
    client.enableRateLimit = False
    return UserStream(client, perpetuals=["BTC/USDT"])


def test_a_perpetuals_fill_and_close_come_on_the_futures_user_stream(local: LocalExchange) -> None:
    exchange = venue(local)

    async def main() -> list[OrderEvent]:
        stream = user_stream(local)
        try:
            await stream.subscribe()
            assert local.listening(user=True)  # the listenKey's websocket is open
            events: list[OrderEvent] = []
            for client_id, side, reduce in (
                ("kst-open", "sell", False),
                ("kst-close", "buy", True),
            ):
                spec = OrderSpec(client_id, "BTC/USDT", side, "market", 0.1, reduce_only=reduce)
                await asyncio.to_thread(exchange.create, spec)
                while not any(e.order.client_id == client_id and e.order.status == "closed"
                              for e in events):  # fmt: skip
                    events += await asyncio.wait_for(stream.next(), 10)
            return events
        finally:
            await stream.close()

    events = asyncio.run(main())
    final = {e.order.client_id: e for e in events if e.order.status == "closed"}
    assert set(final) == {"kst-open", "kst-close"}
    for client_id, side in (("kst-open", "sell"), ("kst-close", "buy")):
        event = final[client_id]
        assert (event.order.symbol, event.order.side, event.order.filled) == ("BTC/USDT", side, 0.1)
        (trade,) = event.trades
        assert (trade.symbol, trade.side, trade.quantity, trade.price) == (
            "BTC/USDT", side, 0.1, OPEN
        )  # fmt: skip
        assert trade.fee == pytest.approx(0.1 * OPEN * FEE, abs=1e-8)
        assert trade.fee_asset == "USDT"
    trade_ids = sorted(t.trade_id for e in final.values() for t in e.trades)
    assert trade_ids == sorted(str(t["id"]) for t in local.venue.trades)
    assert exchange.positions(["BTC/USDT"])["BTC/USDT"].quantity == 0.0


async def _private_events(local: LocalExchange, count: int, after: Any) -> list[dict[str, Any]]:
    """Open the listenKey's websocket as Binance documents it, run ``after``; return the
    first ``count`` events."""
    headers = {"X-MBX-APIKEY": "any-key"}
    http = local.urls["http"]
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{http}/fapi/v1/listenKey", headers=headers) as answer:
            key = (await answer.json())["listenKey"]
        async with session.put(f"{http}/fapi/v1/listenKey", headers=headers) as answer:
            assert (await answer.json()) == {"listenKey": key}  # kept alive, the same key
        url = f"{local.urls['ws']}/private/ws?listenKey={key}"
        async with session.ws_connect(url) as socket:
            await asyncio.to_thread(local.wait_for_listener, user=True)
            await asyncio.to_thread(after)
            events = [json.loads((await socket.receive(timeout=10)).data) for _ in range(count)]
        async with session.delete(f"{http}/fapi/v1/listenKey", headers=headers) as answer:
            assert answer.status == 200
        async with session.put(f"{http}/fapi/v1/listenKey", headers=headers) as answer:
            assert (await answer.json())["code"] == -1125  # closed: no key to keep alive
    return events


def test_the_wire_events_of_a_fill_and_a_funding_payment() -> None:
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    funding_ns = int(frame.ts_close_ns[100])  # row 100's close: its funding time
    local = perpetual_exchange(FundingRates(np.array([funding_ns]), np.array([0.0001])))
    exchange = venue(local)
    try:

        def trade_then_fund() -> None:
            exchange.create(OrderSpec("kst-long", "BTC/USDT", "buy", "market", 0.1))
            local.advance(1)  # row 100 closes: the long pays its funding

        events = asyncio.run(_private_events(local, 4, trade_then_fund))
    finally:
        local.stop()
    kinds = [(e["e"], e.get("o", {}).get("x") or e["a"]["m"]) for e in events]
    assert kinds == [("ORDER_TRADE_UPDATE", "NEW"), ("ORDER_TRADE_UPDATE", "TRADE"),
                     ("ACCOUNT_UPDATE", "ORDER"), ("ACCOUNT_UPDATE", "FUNDING_FEE")]  # fmt: skip
    fill = events[1]["o"]
    assert (fill["s"], fill["c"], fill["S"], fill["X"], fill["ps"], fill["R"]) == (
        "BTCUSDT", "kst-long", "BUY", "FILLED", "BOTH", False
    )  # fmt: skip
    assert (float(fill["l"]), float(fill["L"]), float(fill["z"])) == (0.1, OPEN, 0.1)
    assert float(fill["n"]) == pytest.approx(0.1 * OPEN * FEE, abs=1e-8)
    assert fill["t"] == local.venue.trades[0]["id"]
    order_update = events[2]["a"]
    wallet = 10_000.0 - 0.1 * OPEN * FEE
    assert float(order_update["B"][0]["wb"]) == pytest.approx(wallet, abs=1e-8)
    (position,) = order_update["P"]
    assert (position["s"], float(position["pa"]), float(position["ep"])) == ("BTCUSDT", 0.1, OPEN)
    funding = events[3]["a"]
    assert funding["P"] == []  # a cross position's funding: the wallet alone, as Binance sends
    paid = 0.1 * float(frame.close[100]) * 0.0001
    assert float(funding["B"][0]["wb"]) == pytest.approx(wallet - paid, abs=1e-8)
    income = local.venue.income  # type: ignore[attr-defined]
    assert float(income[0]["income"]) == pytest.approx(-paid, abs=1e-8)


def test_funding_paid_reads_the_exchanges_funding_in_a_window_page_by_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    times = frame.ts_close_ns[100:106]  # six hourly funding times, one per bar close
    rates = np.array([0.0001, -0.0002, 0.0003, -0.0001, 0.0002, 0.0001])
    local = perpetual_exchange(FundingRates(np.asarray(times), rates))
    exchange = venue(local)
    monkeypatch.setattr(perpetuals, "FUNDING_PAGE", 2)  # three pages of two
    try:
        exchange.create(OrderSpec("kst-short", "BTC/USDT", "sell", "market", 0.1))
        local.advance(6)  # the short pays or receives at each of the six closes
        first_ms = int(times[0]) // 1_000_000
        paid = perpetuals.funding_paid(exchange, "BTC/USDT", first_ms, first_ms + 4 * HOUR_MS)
    finally:
        local.stop()
    assert [p.ts_ms for p in paid] == [first_ms + k * HOUR_MS for k in (1, 2, 3, 4)]  # after, to
    expected = [0.1 * float(frame.close[100 + k]) * float(rates[k]) for k in (1, 2, 3, 4)]
    assert [p.amount for p in paid] == pytest.approx(expected, abs=1e-8)  # a short receives
    assert len({p.payment_id for p in paid}) == 4


def test_a_perpetuals_fill_during_a_silent_stall_is_caught_resubscribed_and_counted_once(
    local: LocalExchange, tmp_path: Any
) -> None:
    """The spot stream's stall test (`tests/contract/test_live_stream_faults.py`) on the
    USDⓈ-M listenKey stream: the REST cross-check catches the swallowed fill, the stream
    is subscribed again (a new listenKey websocket) and the account reconciled once."""
    manager = OrderManager(venue(local), LiveLedger(RunStore(f"sqlite:///{tmp_path}/l.db"), "a"))
    node = Node()
    limit = OrderSpec("", "BTC/USDT", "buy", "limit", 0.01, 18810.0)  # fills as row 100 closes
    options = StreamOptions(check_every_s=0.2, grace_s=0.2, backoff_s=0.05)

    rig = SimpleNamespace(manager=manager)
    close = OrderSpec("", "BTC/USDT", "sell", "market", 0.01)
    scenario = stall_then_fill(local, manager, limit, close)
    monitor = run_monitor(local, rig, node, options, scenario, user_stream(local))
    assert (monitor.stats.stale, monitor.stats.subscriptions, monitor.stats.reconciles) == (1, 2, 1)
    limit_id = manager.client_id("s-000001")
    filled = [u for u in node.published if u.kind == "filled" and u.order.client_id == limit_id]
    assert len(filled) == 1  # through the reconciliation after resubscribing, once
    trades = sorted(str(t["id"]) for t in local.venue.trades)
    assert sorted(f.trade_id for f in manager.ledger.fills() if f.client_id != "baseline") == trades
    assert manager.exchange.positions(["BTC/USDT"])["BTC/USDT"].quantity == 0.0


def test_the_node_asks_for_funding_only_once_a_funding_time_has_passed() -> None:
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    times = np.asarray(frame.ts_close_ns[[101, 104]])  # at the closes of rows 101 and 104
    local = perpetual_exchange(FundingRates(times, np.array([0.0001, -0.0002])))
    exchange = venue(local)
    asked: list[int] = []
    history = exchange.exchange.fetch_funding_history

    def spy(*args: Any, **kw: Any) -> Any:
        asked.append(local.replay.now_ms)
        return history(*args, **kw)

    exchange.exchange.fetch_funding_history = spy
    try:
        exchange.create(OrderSpec("kst-long", "BTC/USDT", "buy", "market", 0.1))
        funding = perpetuals.ExchangeFunding(exchange, ["BTC/USDT"], local.replay.now_ms)
        first, second = (int(t) // 1_000_000 for t in times)
        assert funding.next_ms == first
        booked = []
        for _ in range(5):  # rows 100..104 close
            now = local.advance(1)
            booked.append(funding.due(now))
    finally:
        local.stop()
    assert asked == [first, second]  # two looks, at the two funding times, no others
    assert [[p.ts_ms for p in b] for b in booked] == [[], [first], [], [], [second]]
    paid = [-0.1 * float(frame.close[101]) * 0.0001, 0.1 * float(frame.close[104]) * 0.0002]
    assert [p.amount for b in booked for p in b] == pytest.approx(paid, abs=1e-8)
    assert (funding.payments, funding.booked) == (2, pytest.approx(sum(paid), abs=1e-8))
    assert funding.next_ms == 0  # the rates have no later time
