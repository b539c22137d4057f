"""A live account's round trips, rebuilt from its stored fills with the backtest's trade builder
(issue 15): the same fills give the same trades, statistics and trades.csv bytes as the
recorder a backtest uses, across partial fills, fees in the base asset, a restart between two
sessions and a position still open at the end (marked at its symbol's last stored close).

Hand arithmetic (BTC/USDT, the node's orders only):

- session 1: buy 0.2 in two partial fills, 0.1 @ 30,000 and 0.1 @ 30,100, each paying a
  0.0001 BTC fee: the wallet gets 0.0999 twice (`kernel_fill`), fees valued at the fill
  price 3.0 and 3.01 USDT. Entry value 0.0999 × 30,000 + 0.0999 × 30,100 = 6,003.99.
- session 2 (the node restarted): sell the 0.1998 in two fills, 0.1 @ 31,000 (fee 3.1 USDT)
  and 0.0998 @ 31,050 (fee 3.09879 USDT): exit value 6,198.79, gross 194.8, fees
  12.20879, net 182.59121. Then buy 0.05 @ 31,200 paying 0.00005 BTC: 0.04995 held (fee
  1.56 USDT), still open at the end, marked at the last stored close 31,500:
  unrealized 0.04995 × 300 = 14.985, net 14.985 − 1.56 = 13.425.
- an external order's fill and a fill already in the baseline wallet are not the node's:
  left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import parse_config
from engine.model import Bar, OrderFilled, OrderRequested, OrderSide, OrderType, TimeInForce
from engine.persistence import RunStore
from engine.report.artifacts import write_trades
from engine.report.recorder import Mark, Recorder
from engine.report.trade_stats import trade_statistics
from engine.runtime.inputs import make_instruments
from engine.runtime.live import LiveFill, LiveLedger, LiveOrder, LiveStatus
from engine.runtime.live.ledger import BASELINE, Baseline, EquityRow
from engine.runtime.live.report import live_report_data, write_live_report
from engine.runtime.live.venue import kernel_fill

HOUR = 3_600 * 10**9
MS = 1_000_000
T0 = 1_700_000_000 * 10**9
SYMBOL = "BTC/USDT"
CONFIG = parse_config(
    {
        "run": {"name": "acct"},
        "account": {"initial_cash": 10_000.0, "currency": "USDT"},
        "data": [{"path": "unused.csv", "symbol": SYMBOL, "timeframe": "1h"}],
        "instruments": [{"symbol": SYMBOL, "tick_size": 0.01, "lot_size": 0.00001}],
        "strategy": {"path": "strategies.sma_cross:SmaCross", "id": "sma"},
    }
)
# (trade id, client id, side, quantity, price, fee, fee asset, hours after T0)
FILLS = [
    ("t1", "kst-1", "buy", 0.1, 30_000.0, 0.0001, "BTC", 1.5),
    ("t2", "kst-1", "buy", 0.1, 30_100.0, 0.0001, "BTC", 1.6),
    ("t3", "kst-2", "sell", 0.1, 31_000.0, 3.1, "USDT", 6.5),
    ("t4", "kst-2", "sell", 0.0998, 31_050.0, 3.09879, "USDT", 6.6),
    ("t5", "kst-3", "buy", 0.05, 31_200.0, 0.00005, "BTC", 7.5),
]
# what the node's kernel booked for each (`kernel_fill`): quantity the wallet moved, fee in USDT
BOOKED = [(0.0999, 3.0), (0.0999, 3.01), (0.1, 3.1), (0.0998, 3.09879), (0.04995, 1.56)]
CLOSES = {1: 30_050.0, 2: 30_150.0, 3: 30_500.0, 6: 31_000.0, 7: 31_100.0, 8: 31_500.0}


def _bar(hour: int) -> Bar:
    close = CLOSES[hour]
    ts = T0 + hour * HOUR
    return Bar(SYMBOL, ts, ts, close - 50.0, close + 100.0, close - 120.0, close, 5.0, HOUR)


def _order(client_id: str, side: str, quantity: float, origin: str = "node") -> LiveOrder:
    number = client_id.rsplit("-", 1)[1]
    return LiveOrder(client_id, f"sma-{number}", "sma", SYMBOL, side, "market", quantity, None,
                     "GTC", LiveStatus.FILLED, origin=origin, filled_quantity=quantity,
                     ts_created=T0 // MS, ts_last=T0 // MS)  # fmt: skip


def _fill(row: tuple[str, str, str, float, float, float, str, float]) -> LiveFill:
    trade_id, client_id, side, quantity, price, fee, asset, hours = row
    return LiveFill(trade_id, client_id, "x" + trade_id, SYMBOL, side, quantity, price, fee,
                    asset, "taker", int(T0 + hours * HOUR) // MS)  # fmt: skip


def _equity(hour: int, session: int, cash: float, position: float) -> EquityRow:
    value = position * CLOSES[hour]
    return EquityRow(T0 + hour * HOUR, session, cash, cash + value, value)


@pytest.fixture
def ledger(tmp_path: Path) -> LiveLedger:
    """The account over two sessions, written through the ledger as the node writes it."""
    ledger = LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "acct")
    known = LiveFill("t0", BASELINE, "x0", SYMBOL, "buy", 1.0, 20_000.0, 0.0, "USDT", "taker", 1)
    ledger.create_account(Baseline("binance", T0 // MS, {"USDT": 10_000.0}), [known])
    for order in [
        _order("kst-1", "buy", 0.2),
        _order("kst-2", "sell", 0.1998),
        _order("kst-3", "buy", 0.05),
        _order("ext-9", "buy", 1.0, "external"),
    ]:
        ledger.insert(order)  # fmt: skip
    assert ledger.begin_session() == 1
    ledger.add_fills([_fill(row) for row in FILLS[:2]])
    cash = 10_000.0 - 6_003.99 - 6.01
    for hour in (1, 2, 3):
        position = 0.0 if hour == 1 else 0.1998
        ledger.checkpoint("sma", bars=[_bar(hour)], equity=_equity(hour, 1, 10_000.0 if hour == 1
                          else cash, position), session=1)  # fmt: skip
    assert ledger.begin_session() == 2  # the node restarted
    ledger.add_fills([_fill(row) for row in FILLS[2:]])
    ledger.add_fills([LiveFill("t9", "ext-9", "x9", SYMBOL, "buy", 1.0, 31_000.0, 0.0, "USDT",
                               "taker", int(T0 + 7 * HOUR) // MS)])  # fmt: skip
    cash = cash + 6_198.79 - 6.19879
    ledger.checkpoint("sma", bars=[_bar(6)], equity=_equity(6, 2, cash, 0.0), session=2)
    cash = cash - 0.04995 * 31_200.0 - 1.56
    for hour in (7, 8):
        ledger.checkpoint("sma", bars=[_bar(hour)], equity=_equity(hour, 2, cash, 0.04995),
                          session=2)  # fmt: skip
    return ledger


def _recorder() -> Recorder:
    """The backtest's recorder, fed the same fills as the node's kernel booked them (the live
    venue publishes each exchange fill as `kernel_fill` says)."""
    recorder = Recorder([SYMBOL])
    instrument = make_instruments(CONFIG)[SYMBOL]
    for row in FILLS:
        trade_id, client_id, side, _, price, _, _, _ = row
        quantity, fee, _ = kernel_fill(_fill(row), instrument)
        order_id = "sma-" + client_id.rsplit("-", 1)[1]
        ts = _fill(row).ts_event * MS
        if order_id not in recorder.orders:
            recorder.on_order_requested(
                OrderRequested(order_id, "sma", SYMBOL, OrderSide(side), 1.0, OrderType.MARKET,
                               None, None, TimeInForce.GTC, ts, ts)
            )  # fmt: skip
        recorder.on_order_filled(
            OrderFilled(order_id, "sma", trade_id, SYMBOL, OrderSide(side), quantity, price, fee,
                        "taker", 0.0, ts, ts)
        )  # fmt: skip
    return recorder


def test_trades_from_the_stored_fills_are_the_recorders(ledger: LiveLedger) -> None:
    data = live_report_data(CONFIG, ledger)
    recorder = _recorder()
    assert len(data.trades) == 1
    assert data.trades == recorder.trades  # field by field: the same builder, the same fills
    trade = data.trades[0]
    assert (trade.side, trade.entry_ts, trade.exit_ts) == ("long", T0 + 5_400 * 10**9,
                                                           T0 + 23_760 * 10**9)  # fmt: skip
    assert trade.fill_ids == ["t1", "t2", "t3", "t4"]
    assert trade.entry_quantity == pytest.approx(0.1998, rel=1e-12)
    assert trade.gross_pnl == pytest.approx(194.8, rel=1e-9)
    assert trade.fees == pytest.approx(12.20879, rel=1e-12)
    assert trade.net_pnl == pytest.approx(182.59121, rel=1e-9)
    # the open position, marked at the last stored close (hour 8) with the portfolio's PnL
    mark = Mark(T0 + 8 * HOUR, 31_500.0, 1.0, 0.04995 * (31_500.0 - 31_200.0))
    assert data.open_trades == recorder.marked_open_trades({SYMBOL: mark})
    (still,) = data.open_trades
    assert still.unrealized_pnl == pytest.approx(14.985, rel=1e-12)
    assert still.net_pnl == pytest.approx(13.425, rel=1e-9)
    # the fills the page and the metrics use: the node's, as booked
    assert [(f.fill_id, f.quantity, f.fee) for f in data.fills] == [
        (f.fill_id, f.quantity, f.fee) for f in recorder.fills
    ]
    for fill, (quantity, fee) in zip(data.fills, BOOKED, strict=True):
        assert (fill.quantity, fill.fee) == (pytest.approx(quantity), pytest.approx(fee))
    assert [f.order_id for f in data.fills] == ["sma-1", "sma-1", "sma-2", "sma-2", "sma-3"]


def test_the_metrics_and_trades_csv_are_the_backtests_for_the_same_fills(
    ledger: LiveLedger, tmp_path: Path
) -> None:
    write_live_report(CONFIG, ledger, tmp_path / "out")
    data = live_report_data(CONFIG, ledger)
    data.compute()
    recorder = _recorder()
    expected = trade_statistics(recorder.trades, data.frames)
    assert {key: data.metrics[key] for key in expected} == expected
    assert (data.metrics["num_trades"], data.metrics["win_rate"]) == (1, 1.0)
    assert data.metrics["open_positions"] == 1
    assert data.metrics["unrealized_pnl"] == pytest.approx(14.985, rel=1e-12)
    assert data.metrics["average_mae"] is not None  # the stored bars give the excursions
    mark = Mark(T0 + 8 * HOUR, 31_500.0, 1.0, 0.04995 * (31_500.0 - 31_200.0))
    write_trades(tmp_path / "backtest.csv", recorder.trades,
                 recorder.marked_open_trades({SYMBOL: mark}))  # fmt: skip
    assert (tmp_path / "out" / "trades.csv").read_bytes() == (
        tmp_path / "backtest.csv"
    ).read_bytes()


def test_the_stored_bars_are_the_price_chart_and_the_benchmark(ledger: LiveLedger) -> None:
    data = live_report_data(CONFIG, ledger)
    (frame,) = data.frames
    assert frame.symbol == SYMBOL
    assert frame.ts_close_ns.tolist() == [T0 + h * HOUR for h in CLOSES]
    assert frame.close.tolist() == list(CLOSES.values())
    data.compute()
    # buy and hold: bought at the first stored bar's open, valued at the last close
    assert data.metrics["benchmark_total_return"] == pytest.approx(31_500.0 / 30_000.0 - 1.0)


def test_the_report_is_byte_identical_when_written_twice(
    ledger: LiveLedger, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        write_live_report(CONFIG, ledger, tmp_path / name)
    for name in ("equity.csv", "trades.csv", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_an_account_without_stored_bars_leaves_its_open_position_unmarked(
    tmp_path: Path,
) -> None:
    """An account whose bars predate schema 11: no chart, no benchmark, the position noted."""
    ledger = LiveLedger(RunStore(f"sqlite:///{tmp_path / 'k.db'}"), "acct")
    ledger.create_account(Baseline("binance", T0 // MS, {"USDT": 10_000.0}), [])
    ledger.insert(_order("kst-3", "buy", 0.05))
    ledger.add_fills([_fill(FILLS[4])])
    ledger.checkpoint("sma", equity=_equity(8, 1, 8_439.0, 0.04995))
    data = live_report_data(CONFIG, ledger)
    assert (data.trades, data.open_trades, data.frames) == ([], [], [])
    assert any("no stored bar to mark" in note for note in data.notes)
