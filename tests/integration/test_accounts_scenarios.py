"""Hand-computed account scenarios through the whole kernel: borrow fees, funding, margin.

Same table style as ``test_execution_scenarios``: bars (daily unless ``step`` says
otherwise, bar k opening at ``T0 + offsets[k] × step``), orders placed by a scripted
strategy on given bars, settings, and what must happen: fills as (time, price, quantity)
(``"o3"``: open of bar 3, ``"c3"``: its close), the cash flows as (reason, amount), the
margin calls as (equity, maintenance margin, gross exposure), final position and cash.
Defaults: symbol X, lot 1, tick 0.01, cash 10,000, no fee, no slippage.

Hand arithmetic used below: ``borrow_rate = 0.0365`` charges 0.01% of a short's value per
day (0.0365 / 365), so 10 short at 100 pays 0.10 a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Context, Strategy, load_config, parse_config, run_backtest
from engine.cache import COLUMNS, SymbolHistory
from engine.clock import SimClock
from engine.errors import ConfigError, DataError
from engine.feeds import BarFrame
from engine.model import AccountLiquidated, Bar, Instrument, MarginCalled
from engine.portfolio.accounts import load_funding_rates
from engine.runtime.kernel import build_kernel

DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9
T0 = 1_600_000_000 * 10**9 // DAY * DAY  # a UTC midnight
Action = Callable[[Context], object]
FLAT = (100.0, 101.0, 99.0, 100.0)


@dataclass
class Scenario:
    bars: list[tuple[float, float, float, float]]
    actions: dict[int, list[Action]]
    fills: list[tuple[str, float, float]]
    flows: list[tuple[str, float]] = field(default_factory=list)
    margin_calls: list[tuple[float, float, float]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    position: float | None = None
    cash: float | None = None
    account: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    instrument: dict[str, Any] = field(default_factory=dict)
    funding: list[tuple[int, float]] | None = None  # (ns offset from T0, rate)
    step: int = DAY
    offsets: list[int] | None = None  # bar k opens at T0 + offsets[k] * step


class Scripted(Strategy):
    def __init__(self, actions: dict[int, list[Action]]) -> None:
        super().__init__()
        self.actions = actions
        self.bar_index = -1

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        self.bar_index += 1
        for action in self.actions.get(self.bar_index, ()):
            action(ctx)


def run(scenario: Scenario, folder: Path) -> Any:
    n = len(scenario.bars)
    o, h, low, c = (np.array(column, dtype=float) for column in zip(*scenario.bars, strict=True))
    offsets = np.arange(n) if scenario.offsets is None else np.array(scenario.offsets)
    ts = T0 + offsets * scenario.step
    frame = BarFrame("X", scenario.step, ts, o, h, low, c, np.full(n, 1_000_000.0))
    source: dict[str, Any] = {"path": "<memory>", "symbol": "X"}
    if scenario.funding is not None:
        path = folder / "funding.csv"
        lines = [f"{T0 + offset},{rate}" for offset, rate in scenario.funding]
        path.write_text("timestamp,rate\n" + "\n".join(lines) + "\n")
        source["funding"] = str(path)
    config = parse_config(
        {
            "account": {"initial_cash": 10_000.0, **scenario.account},
            "data": [source],
            "instruments": [{"symbol": "X", "lot_size": 1.0, **scenario.instrument}],
            "strategy": {"path": "scripted"},
            "execution": {"fee_rate": 0.0, **scenario.execution},
        }
    )
    return run_backtest(config, frames=[frame], strategy=Scripted(scenario.actions))


def buy(qty: float, **kw: Any) -> Action:
    return lambda ctx: ctx.buy("X", qty, **kw)


def sell(qty: float, **kw: Any) -> Action:
    return lambda ctx: ctx.sell("X", qty, **kw)


BORROW = {"borrow_rate": 0.0365}
MARGIN_5X = {"leverage": 5.0, "maintenance_margin": 0.1}
CRASH = [FLAT, FLAT, (100, 100, 79, 80), (78, 79, 77, 78)]  # long 400 on 5x is called at c2
S = Scenario
SCENARIOS: dict[str, Scenario] = {
    # --- borrow fees: once per UTC day, on shorts held over midnight ---------------------
    "borrow_fee_per_day_held": S(
        [FLAT, FLAT, FLAT, FLAT],
        {0: [sell(10)]},
        [("o1", 100.0, 10)],
        [("borrow_fee", -0.1)] * 3,  # at c1, c2, c3 (midnights T0+2d, +3d, +4d)
        position=-10,
        cash=10_000 + 1_000 - 0.3,
        account=BORROW,
    ),
    "borrow_fee_stops_when_covered": S(
        [FLAT, FLAT, FLAT, FLAT],
        {0: [sell(10)], 2: [buy(10)]},
        [("o1", 100.0, 10), ("o3", 100.0, 10)],
        [("borrow_fee", -0.1)] * 2,  # held over two midnights (c1, c2)
        position=0,
        cash=10_000 - 0.2,
        account=BORROW,
    ),
    "borrow_fee_on_the_value_at_the_close": S(
        [FLAT, (100, 121, 99, 120), FLAT],
        {0: [sell(10)]},
        [("o1", 100.0, 10)],
        [("borrow_fee", -0.12), ("borrow_fee", -0.1)],  # 10 x 120 x 0.0001, then 10 x 100
        position=-10,
        cash=11_000 - 0.22,
        account=BORROW,
    ),
    "borrow_fee_counts_calendar_days_over_gaps": S(
        [FLAT, FLAT, FLAT],
        {0: [sell(10)]},
        [("o1", 100.0, 10)],
        [("borrow_fee", -0.1), ("borrow_fee", -0.3)],  # c1; then 3 midnights to c2
        position=-10,
        cash=11_000 - 0.4,
        account=BORROW,
        offsets=[0, 1, 4],  # bar 2 opens 3 days after bar 1 (a weekend)
    ),
    "borrow_fee_not_charged_intraday": S(
        [FLAT] * 5,
        {0: [sell(10)], 2: [buy(10)]},
        [("o1", 100.0, 10), ("o3", 100.0, 10)],
        [],  # short from 01:00 to 03:00: no midnight in between
        position=0,
        cash=10_000,
        account=BORROW,
        step=HOUR,
    ),
    "borrow_fee_overnight_on_hourly_bars": S(
        [FLAT] * 4,
        {0: [sell(10)]},
        [("o1", 100.0, 10)],
        [("borrow_fee", -0.1)],  # 22:00 .. 02:00: the bar closing at midnight pays a day
        position=-10,
        cash=11_000 - 0.1,
        account=BORROW,
        step=HOUR,
        offsets=[22, 23, 24, 25],
    ),
    "longs_pay_no_borrow_fee": S(
        [FLAT, FLAT, FLAT],
        {0: [buy(10)]},
        [("o1", 100.0, 10)],
        [],
        position=10,
        cash=9_000,
        account=BORROW,
    ),
    "no_borrow_rate_no_fee": S(
        [FLAT, FLAT, FLAT], {0: [sell(10)]}, [("o1", 100.0, 10)], [], position=-10, cash=11_000
    ),
    # --- perpetual funding ---------------------------------------------------------------
    "funding_long_pays_positive_rate_receives_negative": S(
        [FLAT, FLAT, (100, 111, 99, 110)],
        {0: [buy(10)]},
        [("o1", 100.0, 10)],
        # t=T0+1d (c0): flat, nothing; T0+2d (c1): 10 x 100 x 0.001 paid;
        # T0+3d (c2): 10 x 110 x -0.0005 received
        [("funding", -1.0), ("funding", 0.55)],
        position=10,
        cash=9_000 - 1.0 + 0.55,
        funding=[(DAY, 0.002), (2 * DAY, 0.001), (3 * DAY, -0.0005)],
    ),
    "funding_short_receives_and_pays_no_borrow_fee": S(
        [FLAT, FLAT, FLAT],
        {0: [sell(10)]},
        [("o1", 100.0, 10)],
        [("funding", 1.0)],  # a perpetual: funding only, no borrow fee despite the rate
        position=-10,
        cash=11_000 + 1.0,
        account=BORROW,
        funding=[(2 * DAY, 0.001)],
    ),
    "funding_every_time_within_a_long_bar": S(
        [FLAT, FLAT],
        {0: [buy(10)]},
        [("o1", 100.0, 10)],
        # 08:00, 16:00 and 24:00 of day 1 settle at bar 1's close (100)
        [("funding", -0.1)] * 3,
        position=10,
        cash=9_000 - 0.3,
        funding=[(DAY + 8 * HOUR, 0.0001), (DAY + 16 * HOUR, 0.0001), (2 * DAY, 0.0001)],
    ),
    "funding_on_hourly_bars_at_its_hour": S(
        [FLAT] * 10,
        {0: [buy(10)], 5: [sell(10)]},
        [("o1", 100.0, 10), ("o6", 100.0, 10)],
        [("funding", -0.5)],  # 04:00 (close of bar 3) paid; 08:00 flat again, nothing
        position=0,
        cash=10_000 - 0.5,
        funding=[(4 * HOUR, 0.0005), (8 * HOUR, 0.0005)],
        step=HOUR,
    ),
    # --- maintenance margin and liquidation ----------------------------------------------
    "margin_long_liquidated_next_open": S(
        CRASH,
        {0: [buy(400)]},
        # c2: equity -30,000 + 400 x 80 = 2,000 < 0.1 x 32,000: sold at bar 3's open (78)
        [("o1", 100.0, 400), ("o3", 78.0, 400)],
        margin_calls=[(2_000.0, 3_200.0, 32_000.0)],
        statuses=["filled", "filled"],
        position=0,
        cash=-30_000 + 31_200,
        account=MARGIN_5X,
    ),
    "margin_without_maintenance_never_liquidates": S(
        CRASH,
        {0: [buy(400)]},
        [("o1", 100.0, 400)],
        position=400,
        cash=-30_000,
        account={"leverage": 5.0},
    ),
    "margin_above_maintenance_is_not_called": S(
        [FLAT, FLAT, (100, 100, 89, 90), (90, 91, 89, 90)],
        {0: [buy(400)]},
        [("o1", 100.0, 400)],  # c2: equity 6,000 >= 0.1 x 36,000
        position=400,
        cash=-30_000,
        account=MARGIN_5X,
    ),
    "margin_liquidation_cancels_working_orders": S(
        CRASH,
        {0: [buy(400), sell(400, limit_price=120)]},
        [("o1", 100.0, 400), ("o3", 78.0, 400)],
        margin_calls=[(2_000.0, 3_200.0, 32_000.0)],
        statuses=["filled", "canceled", "filled"],
        position=0,
        cash=1_200,
        account=MARGIN_5X,
    ),
    "margin_liquidation_pays_fees": S(
        CRASH,
        {0: [buy(400)]},
        # buy fee 40: c2 equity 1,960; sale 31,200 pays 31.2
        [("o1", 100.0, 400), ("o3", 78.0, 400)],
        margin_calls=[(1_960.0, 3_200.0, 32_000.0)],
        position=0,
        cash=-30_040 + 31_200 - 31.2,
        account=MARGIN_5X,
        execution={"fee_rate": 0.001},
    ),
    "margin_liquidation_below_the_minimum_notional_fills": S(
        CRASH,
        {0: [buy(400)]},
        # 400 x 80 = 32,000 is below the 35,000 minimum notional: the venue's forced close
        # is not the strategy's order, and fills (an audit: it was denied, the account stayed
        # long with "every position closed", and no call came again)
        [("o1", 100.0, 400), ("o3", 78.0, 400)],
        margin_calls=[(2_000.0, 3_200.0, 32_000.0)],
        statuses=["filled", "filled"],
        position=0,
        cash=1_200,
        account=MARGIN_5X,
        instrument={"min_notional": 35_000.0},
    ),
    "margin_short_squeezed": S(
        [FLAT, FLAT, (100, 141, 99, 140), (150, 151, 149, 150)],
        {0: [sell(150)]},
        # c2: equity 25,000 - 150 x 140 = 4,000 < 0.25 x 21,000: bought back at 150
        [("o1", 100.0, 150), ("o3", 150.0, 150)],
        margin_calls=[(4_000.0, 5_250.0, 21_000.0)],
        position=0,
        cash=2_500,
        account={"leverage": 2.0, "maintenance_margin": 0.25},
    ),
    "margin_liquidation_same_close": S(
        CRASH,
        {0: [buy(400)]},
        [("c0", 100.0, 400), ("c2", 80.0, 400)],  # market_fill = same_close: at the close
        margin_calls=[(2_000.0, 3_200.0, 32_000.0)],
        position=0,
        cash=2_000,
        account=MARGIN_5X,
        execution={"market_fill": "same_close"},
    ),
    "margin_short_pays_borrow_fees_until_liquidated": S(
        [FLAT, FLAT, (100, 141, 99, 139.9), (141, 142, 140, 141)],
        {0: [sell(150)]},
        # c1: fee 150 x 100 x 0.01 = 150; c2: fee 150 x 139.9 x 0.01 = 209.85, then equity
        # 25,000 - 359.85 - 20,985 = 3,655.15 < 0.25 x 20,985 = 5,246.25
        [("o1", 100.0, 150), ("o3", 141.0, 150)],
        [("borrow_fee", -150.0), ("borrow_fee", -209.85)],
        [(3_655.15, 5_246.25, 20_985.0)],
        position=0,
        cash=25_000 - 359.85 - 21_150,
        account={"leverage": 2.0, "maintenance_margin": 0.25, "borrow_rate": 3.65},
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_account_scenario(name: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    result = run(scenario, tmp_path)
    got = [
        (_when(fill, scenario), round(fill.price, 6), fill.quantity)
        for fill in result.recorder.fills
    ]
    assert got == scenario.fills
    flows = [(a.reason, round(a.amount, 9)) for a in result.recorder.cash_adjustments]
    assert flows == [(reason, pytest.approx(amount)) for reason, amount in scenario.flows]
    calls = [e for e in result.recorder.account_events if isinstance(e, MarginCalled)]
    expected_calls = [pytest.approx(call) for call in scenario.margin_calls]
    assert [(c.equity, c.maintenance_margin, c.gross_exposure) for c in calls] == expected_calls
    liquidated = [e for e in result.recorder.account_events if isinstance(e, AccountLiquidated)]
    assert len(liquidated) == len(calls)
    if scenario.statuses:
        assert [row["status"] for row in result.recorder.orders.values()] == scenario.statuses
    portfolio = result.portfolio
    position = portfolio.position_quantity("X")
    if scenario.position is not None:
        assert position == pytest.approx(scenario.position)
    if scenario.cash is not None:
        assert portfolio.cash == pytest.approx(scenario.cash, abs=1e-6)
    # the rebuilt curve counts the cash flows: it ends at cash + position x last close
    last_close = scenario.bars[-1][3]
    assert result.equity_curve.cash[-1] == pytest.approx(portfolio.cash, abs=1e-6)
    assert result.equity_curve.equity[-1] == pytest.approx(
        portfolio.cash + position * last_close, abs=1e-6
    )
    assert portfolio.cash_flows == pytest.approx(sum(amount for _, amount in scenario.flows))


def _when(fill: Any, scenario: Scenario) -> str:
    """Label a fill ``oN`` (at bar N's open) or ``cN`` (at bar N's close)."""
    n = len(scenario.bars)
    offsets = list(range(n)) if scenario.offsets is None else scenario.offsets
    opens = [T0 + k * scenario.step for k in offsets]
    closes = [t + scenario.step for t in opens]
    processing = closes.index(fill.ts_init)  # the bar being processed when it filled
    if fill.ts_event == opens[processing]:
        return f"o{processing}"
    return f"c{closes.index(fill.ts_event)}"


def test_liquidation_orders_are_tagged_and_owned_by_the_account(tmp_path: Path) -> None:
    result = run(SCENARIOS["margin_long_liquidated_next_open"], tmp_path)
    rows = list(result.recorder.orders.values())
    assert [(row["strategy_id"], row["tag"], row["side"]) for row in rows] == [
        ("S1", "", "buy"),
        ("LIQ", "liquidation", "sell"),
    ]
    liquidated = result.recorder.account_events[-1]
    assert isinstance(liquidated, AccountLiquidated)
    assert liquidated.symbols == ("X",)
    assert liquidated.equity == pytest.approx(1_200.0)


def test_a_cash_account_subscribes_no_account_rules(tmp_path: Path) -> None:
    result = run(S([FLAT, FLAT], {0: [sell(1)]}, [("o1", 100.0, 1)]), tmp_path)
    # the same cash account, wired as the backtest wires it (a result holds no kernel)
    empty = np.empty(0)
    kernel = build_kernel(
        clock=SimClock(T0),
        strategy=Scripted({}),
        strategy_id="S1",
        histories={"X": SymbolHistory("X", empty.astype(np.int64), dict.fromkeys(COLUMNS, empty))},
        instruments={"X": Instrument("X", lot_size=1.0)},
        account=result.config.account,
        execution=result.config.execution,
    )
    assert kernel.account_rules is None
    assert result.recorder.cash_adjustments == []


@pytest.mark.parametrize(
    ("account", "fragment"),
    [
        ({"leverage": 4.0, "maintenance_margin": 0.25}, "below the initial margin"),
        ({"maintenance_margin": -0.1}, "maintenance_margin"),
        ({"borrow_rate": -0.01}, "borrow_rate"),
    ],
)
def test_account_settings_are_validated(account: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_config(
            {
                "account": account,
                "data": [{"path": "x.csv", "symbol": "X"}],
                "strategy": {"path": "s"},
            }
        )


def test_funding_applies_to_bar_sources_only() -> None:
    with pytest.raises(ConfigError, match="funding applies to bars"):
        parse_config(
            {
                "data": [{"path": "t.csv", "symbol": "X", "kind": "trades", "funding": "f.csv"}],
                "strategy": {"path": "s"},
            }
        )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("timestamp,rate\n2021-01-01,0.001\n2021-01-01 08:00,x\n", "not a number"),
        ("timestamp,rate\n2021-01-01 08:00,0.001\n2021-01-01,0.001\n", "strictly increasing"),
        ("timestamp\n2021-01-01\n", "a timestamp and a rate column"),
    ],
)
def test_bad_funding_files_are_data_errors(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=fragment):
        load_funding_rates(path)
    with pytest.raises(DataError, match="does not exist"):
        load_funding_rates(tmp_path / "missing.csv")


def test_funding_file_with_iso_times_and_funding_rate_column(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("time,funding_rate\n2021-01-01T00:00:00Z,0.0001\n2021-01-01 08:00,-0.0002\n")
    rates = load_funding_rates(path)
    assert rates.ts.tolist() == [1_609_459_200 * 10**9, 1_609_488_000 * 10**9]
    assert rates.rate.tolist() == [0.0001, -0.0002]


def test_funding_path_in_a_toml_config_is_resolved_beside_it(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "bars.csv").write_text(
        "timestamp,open,high,low,close,volume\n"
        "2021-01-01 00:00,100,101,99,100,1000\n"
        "2021-01-01 08:00,100,101,99,100,1000\n"
        "2021-01-01 16:00,100,201,99,200,1000\n"
    )
    (folder / "funding.csv").write_text(
        "timestamp,rate\n2021-01-01 16:00,0.01\n2021-01-02 00:00,0.01\n"
    )
    (folder / "run.toml").write_text(
        '[[data]]\npath = "bars.csv"\nsymbol = "PERP"\nfunding = "funding.csv"\n\n'
        '[strategy]\npath = "scripted"\n\n[execution]\nfee_rate = 0.0\n'
    )
    config = load_config(folder / "run.toml")
    buy_perp: Action = lambda ctx: ctx.buy("PERP", 10)  # noqa: E731
    result = run_backtest(config, strategy=Scripted({0: [buy_perp]}))
    # bought 10 at 100 (08:00 open); 16:00 funding settles at the 08:00 bar's close (100),
    # 24:00 at the 16:00 bar's close (200)
    flows = [(a.ts_event, a.amount) for a in result.recorder.cash_adjustments]
    assert flows == [
        (1_609_488_000 * 10**9 + 8 * 3_600 * 10**9, pytest.approx(-10.0)),
        (1_609_545_600 * 10**9, pytest.approx(-20.0)),
    ]
    assert result.equity_curve.equity[-1] == pytest.approx(10_000 - 1_000 - 30 + 2_000)


def test_a_funding_file_that_stops_before_the_data_is_named_in_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fx rates' coverage rule (53b17e7) for funding: a file ending early charges
    nothing after it, silently. Funding every 8 hours until T0 + 2d; daily bars to T0 + 10d
    (a warning, not an error: a sparse file may be meant; the run goes on)."""
    funding = [(k * 8 * HOUR, 0.0001) for k in range(1, 7)]
    scenario = S([FLAT] * 10, {0: [buy(10)]}, [("o1", 100.0, 10)], funding=funding)
    run(scenario, tmp_path)
    assert capsys.readouterr().err.splitlines() == [
        "warning: X: the funding file ends at 2020-09-15T00:00:00Z, 8d before the last bar "
        "closes at 2020-09-23T00:00:00Z (its funding times are at most 8h apart): no "
        "funding is charged after it"
    ]
    every_8h = [(k * 8 * HOUR, 0.0001) for k in range(1, 10)]  # to T0 + 3d: the last close
    covered = S([FLAT] * 3, {0: [buy(10)]}, [("o1", 100.0, 10)], funding=every_8h)
    run(covered, tmp_path)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("market_fill", ["next_open", "same_close"])
def test_funding_is_settled_on_the_position_before_the_trades_at_its_close(
    market_fill: str, tmp_path: Path
) -> None:
    """Funding times t at bar 2's and bar 5's closes; a buy of 10 placed on bar 2 and a
    sale placed on bar 5. Under ``same_close`` those trades happen at those very closes,
    after the funding settled: the buy pays nothing for t1, the sale still pays t2
    (10 × 100 × 1 % = 10), as under ``next_open`` (fills at the next opens). Pinned
    because it was only implied by the README (the margin audit's note)."""
    from engine.testing import fills_of, make_bars, run_strategy

    class BuyThenSell(Strategy):
        def on_start(self, ctx: Any) -> None:
            self.bars = 0

        def on_bar(self, ctx: Any, bar: Any) -> None:
            self.bars += 1
            if self.bars == 3:
                ctx.order_target_quantity(bar.symbol, 10)
            elif self.bars == 6:
                ctx.order_target_quantity(bar.symbol, 0)

    bars = make_bars([100.0] * 8)
    funding = tmp_path / "funding.csv"  # bar i closes at bars.index[i + 1]
    funding.write_text(
        f"timestamp,rate\n{bars.index[3].isoformat()},0.01\n{bars.index[6].isoformat()},0.01\n"
    )
    result = run_strategy(
        BuyThenSell,
        bars,
        config={
            "execution": {"market_fill": market_fill},
            "data": [{"symbol": "X", "funding": str(funding)}],
        },
    )
    assert [(f.time, f.side) for f in fills_of(result)] == [
        (bars.index[3], "buy"),
        (bars.index[6], "sell"),
    ]
    assert result.portfolio.cash_flows == pytest.approx(-10.0)
    assert result.portfolio.cash == pytest.approx(9_990.0)
