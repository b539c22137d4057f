"""Accounting invariants hold after every event of randomized runs (hypothesis).

After each event delivered on the bus:
- equity = cash + Σ position × last close (computed here from the positions, not by the
  portfolio's own ``equity()``);
- realized PnL + unrealized PnL − fees + other cash flows (borrow fees, funding) = equity −
  initial cash, i.e. position accounting (average prices) and cash accounting agree to the
  cent.
Orders are random in type, side, size and price, including ones risk must deny. Accounts
are random too: cash or margin, with or without a borrow fee, a maintenance margin (and
so liquidations) and a funding-rate series that makes the symbol a perpetual. The symbol
may be quoted in a foreign currency (EUR, account USD) with a moving hourly rate: then
values are ``position × last close × rate now`` and unrealized PnL is ``position × (last
close × rate now − average cost in USD)``, so FX revaluation is part of unrealized PnL and
the same identity holds (`engine.portfolio.fx`).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Context, Strategy, parse_config, run_backtest
from engine.feeds import BarFrame
from engine.model import Bar, OrderSide
from engine.portfolio.fx import FxPortfolio

HOUR = 3_600 * 10**9
INITIAL = 10_000.0


class RandomTrader(Strategy):
    def __init__(self, plan: list[tuple[int, int, float, float]], check: Any) -> None:
        super().__init__()
        self.plan = plan
        self.check = check
        self.step = 0

    def on_start(self, ctx: Context) -> None:
        ctx._bus.subscribe_all(lambda event: self.check(ctx))  # every event, in order

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        kind, side, size, offset = self.plan[self.step % len(self.plan)]
        self.step += 1
        direction = OrderSide.BUY if side else OrderSide.SELL
        price = bar.close * (1 + offset)
        if kind == 0:
            ctx.submit_order(bar.symbol, direction, size)
        elif kind == 1:
            ctx.submit_order(bar.symbol, direction, size, limit_price=price)
        elif kind == 2:
            ctx.submit_order(bar.symbol, direction, size, stop_price=price)
        elif kind == 3:
            ctx.order_target_percent(bar.symbol, offset * 20)
        elif kind == 4:
            ctx.close_position(bar.symbol)
        else:
            ctx.cancel_all(bar.symbol)


def bars(draw: st.DrawFn, n: int) -> BarFrame:
    steps = draw(st.lists(st.floats(-0.03, 0.03), min_size=n, max_size=n))
    close = 100 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([100.0], close[:-1]))
    wiggle = np.array(draw(st.lists(st.floats(0, 0.02), min_size=n, max_size=n)))
    high = np.maximum(open_, close) * (1 + wiggle)
    low = np.minimum(open_, close) * (1 - wiggle)
    ts = 1_700_000_000 * 10**9 + np.arange(n) * HOUR
    return BarFrame("X", HOUR, ts, open_, high, low, close, np.full(n, 1_000.0))


@st.composite
def scenario(draw: st.DrawFn) -> tuple[BarFrame, list[tuple[int, int, float, float]], dict]:
    n = draw(st.integers(10, 60))
    plan = draw(
        st.lists(
            st.tuples(
                st.integers(0, 5),
                st.integers(0, 1),
                st.floats(0.5, 80.0),
                st.floats(-0.05, 0.05),
            ),
            min_size=1,
            max_size=20,
        )
    )
    execution = {
        "fee_rate": draw(st.sampled_from([0.0, 0.001, 0.0025])),
        "slippage_bps": draw(st.sampled_from([0.0, 5.0])),
        "volume_participation": draw(st.sampled_from([None, 0.05])),
    }
    leverage = draw(st.sampled_from([1.0, 2.0, 5.0]))
    account = {
        "leverage": leverage,
        "allow_short": draw(st.booleans()),
        "borrow_rate": draw(st.sampled_from([0.0, 0.05, 3.0])),
        # 0, or close to the initial margin 1 / leverage so that liquidations happen
        "maintenance_margin": draw(st.sampled_from([0.0, 0.9 / leverage])),
    }
    funding = draw(st.one_of(st.none(), st.lists(st.floats(-0.01, 0.01), min_size=1, max_size=20)))
    fx = draw(
        st.one_of(st.none(), st.lists(st.floats(-0.02, 0.02), min_size=n + 1, max_size=n + 1))
    )
    return (
        bars(draw, n),
        plan,
        {"execution": execution, "account": account, "funding": funding, "fx": fx},
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_accounting_identities_after_every_event(case: tuple[BarFrame, list, dict]) -> None:
    frame, plan, settings_ = case
    checked = [0]

    def check(ctx: Context) -> None:
        portfolio = ctx._portfolio  # type: ignore[attr-defined]
        cash = portfolio.cash
        value = realized = unrealized = 0.0
        foreign = isinstance(portfolio, FxPortfolio)
        for symbol, position in portfolio.positions.items():
            last = portfolio.last_price(symbol)
            realized += position.realized_pnl
            if position.quantity:
                assert math.isfinite(last)
                rate = portfolio.fx_rate(symbol) if foreign else 1.0
                assert math.isfinite(rate)
                assert rate > 0
                value += position.quantity * last * rate
                cost = position.average_cost if foreign else position.average_price
                unrealized += position.quantity * (last * rate - cost)
        equity = cash + value
        assert portfolio.equity() == pytest.approx(equity, abs=1e-6)
        flows = portfolio.cash_flows
        assert flows == pytest.approx(sum(p.cash_flows for p in portfolio.positions.values()))
        assert realized + unrealized - portfolio.fees_paid + flows == pytest.approx(
            equity - INITIAL, abs=1e-6
        )
        checked[0] += 1

    source: dict[str, Any] = {"path": "<memory>", "symbol": "X"}
    with tempfile.TemporaryDirectory() as folder:
        if settings_["funding"] is not None:  # one funding time every 3 hours from the start
            path = Path(folder) / "funding.csv"
            start = int(frame.ts_open_ns[0])
            rows = [f"{start + k * 3 * HOUR},{r}" for k, r in enumerate(settings_["funding"])]
            path.write_text("timestamp,rate\n" + "\n".join(rows) + "\n")
            source["funding"] = str(path)
        instrument: dict[str, Any] = {"symbol": "X", "lot_size": 0.5, "tick_size": 0.01}
        fx_tables = []
        if settings_["fx"] is not None:  # EUR rate bars closing at each bar's open and close
            instrument["quote_currency"] = "EUR"
            rates = 1.1 * np.exp(np.cumsum(settings_["fx"]))
            first = int(frame.ts_open_ns[0]) - HOUR
            rows = [f"{first + k * HOUR},{r},{r},{r},{r}" for k, r in enumerate(rates)]
            path = Path(folder) / "eur.csv"
            path.write_text("timestamp,open,high,low,close\n" + "\n".join(rows) + "\n")
            fx_tables.append({"currency": "EUR", "path": str(path)})
        config = parse_config(
            {
                "account": {"initial_cash": INITIAL, "currency": "USD", **settings_["account"]},
                "data": [source],
                "instruments": [instrument],
                "fx": fx_tables,
                "strategy": {"path": "random"},
                "execution": settings_["execution"],
            }
        )
        result = run_backtest(config, frames=[frame], strategy=RandomTrader(plan, check))
    assert checked[0] >= len(frame)
    # the rebuilt equity curve ends where the live accounting ends
    assert result.equity_curve.equity[-1] == pytest.approx(result.portfolio.equity, abs=1e-6)
