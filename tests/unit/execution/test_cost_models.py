"""Cost models by hand: every fee and slippage formula with numbers worked out in comments."""

from __future__ import annotations

import math

import pytest

from engine.execution.models import (
    FeeTierRates,
    FixedBpsSlippage,
    HalfSpreadSlippage,
    PercentFeeModel,
    PerUnitFeeModel,
    SlippageModel,
    TieredFeeModel,
    VolumeShareSlippage,
)
from engine.model import OrderFilled, OrderSide

BUY, SELL = OrderSide.BUY, OrderSide.SELL
DAY = 86_400 * 1_000_000_000
T0 = 1_600_000_000 * 1_000_000_000


class FakeClock:
    """A settable clock."""

    def __init__(self, now: int) -> None:
        self.now = now

    def timestamp_ns(self) -> int:
        return self.now


# --- PercentFeeModel ---------------------------------------------------------------------


def test_percent_single_rate_charges_both_sides_alike() -> None:
    model = PercentFeeModel(0.001)
    # 2 × 30 000 = 60 000 notional; 0.1% = 60
    assert model.fee(2.0, 30_000.0, "maker") == pytest.approx(60.0)
    assert model.fee(2.0, 30_000.0, "taker") == pytest.approx(60.0)
    assert model.rate == 0.001
    assert model.sizing_rate == 0.001


def test_percent_maker_taker_by_liquidity() -> None:
    model = PercentFeeModel(maker_rate=0.0002, taker_rate=0.0005)
    # notional 60 000: maker 0.02% = 12, taker 0.05% = 30
    assert model.fee(2.0, 30_000.0, "maker") == pytest.approx(12.0)
    assert model.fee(2.0, 30_000.0, "taker") == pytest.approx(30.0)
    # an unknown liquidity pays the taker rate (the conservative side)
    assert model.fee(2.0, 30_000.0, "") == pytest.approx(30.0)
    # sizing does not know the liquidity: the higher rate
    assert model.sizing_rate == 0.0005


def test_percent_rate_is_the_default_of_the_side_not_given() -> None:
    model = PercentFeeModel(0.001, maker_rate=0.0)
    # 10 × 50 = 500: maker free, taker 0.5
    assert model.fee(10.0, 50.0, "maker") == 0.0
    assert model.fee(10.0, 50.0, "taker") == pytest.approx(0.5)
    assert PercentFeeModel(0.001, sizing_rate=0.003).sizing_rate == 0.003


# --- PerUnitFeeModel ---------------------------------------------------------------------


IBKR = PerUnitFeeModel(0.005, minimum=1.0, maximum_rate=0.01)


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        # 100 sh × $0.005 = $0.50 < $1 minimum → $1.00 (max 1% × $5 000 = $50 not binding)
        (100.0, 50.0, 1.0),
        # 1 000 sh × $0.005 = $5.00 (> minimum, < 1% × $50 000 = $500)
        (1_000.0, 50.0, 5.0),
        # 10 sh at $1: $0.05 → minimum $1.00 → max 1% × $10 = $0.10 wins
        (10.0, 1.0, 0.10),
        # 300 sh at $0.40: $1.50; max 1% × $120 = $1.20 wins
        (300.0, 0.40, 1.20),
        # nothing filled, nothing charged
        (0.0, 50.0, 0.0),
    ],
)
def test_per_unit_ibkr_fixed(quantity: float, price: float, expected: float) -> None:
    for liquidity in ("maker", "taker"):
        assert IBKR.fee(quantity, price, liquidity) == pytest.approx(expected, abs=1e-12)


def test_per_unit_without_maximum_and_per_contract() -> None:
    no_max = PerUnitFeeModel(0.005, minimum=1.0)
    # 10 sh at $1: $0.05 → minimum $1.00, nothing caps it
    assert no_max.fee(10.0, 1.0, "taker") == pytest.approx(1.0)
    # futures: $2.25 per contract, no minimum: 3 contracts at 4 500 → 6.75
    contracts = PerUnitFeeModel(2.25)
    assert contracts.fee(3.0, 4_500.0, "taker") == pytest.approx(6.75)


def test_per_unit_sizing_rate() -> None:
    assert IBKR.sizing_rate == 0.01  # the maximum bounds fee / notional
    assert PerUnitFeeModel(0.005, minimum=1.0).sizing_rate == 0.001  # documented default
    assert PerUnitFeeModel(0.005, sizing_rate=0.002).sizing_rate == 0.002


# --- TieredFeeModel ----------------------------------------------------------------------


def _tiers() -> list[FeeTierRates]:
    return [
        FeeTierRates(1_000_000.0, maker=0.0010, taker=0.0010),
        FeeTierRates(5_000_000.0, maker=0.0009, taker=0.0010),
        FeeTierRates(None, maker=0.0008, taker=0.0009),
    ]


def test_tiered_rate_follows_cumulative_volume() -> None:
    model = TieredFeeModel(_tiers())
    # V = 0 → tier 0: 1 × 20 000 × 0.1% = 20
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)
    model.record(999_999.0, T0)
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)  # still below 1e6
    model.record(1.0, T0)
    # V = 1 000 000 is not below 1e6 → tier 1: maker 0.09% = 18, taker 0.1% = 20
    assert model.volume == pytest.approx(1_000_000.0)
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)
    assert model.fee(1.0, 20_000.0, "taker") == pytest.approx(20.0)
    model.record(4_000_000.0, T0)
    # V = 5e6 → last tier: maker 0.08% = 16, taker 0.09% = 18
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(16.0)
    assert model.fee(1.0, 20_000.0, "taker") == pytest.approx(18.0)
    model.record(1e12, T0)  # the last tier has no bound
    assert model.fee(1.0, 20_000.0, "taker") == pytest.approx(18.0)


def test_tiered_fee_does_not_add_volume_and_a_fill_is_charged_at_one_tier() -> None:
    model = TieredFeeModel(_tiers())
    model.record(900_000.0, T0)
    # a 200 000 fill crosses 1e6 but is charged wholly at tier 0: 0.1% × 200 000 = 200
    assert model.fee(10.0, 20_000.0, "maker") == pytest.approx(200.0)
    assert model.fee(10.0, 20_000.0, "maker") == pytest.approx(200.0)  # asking twice is pure
    assert model.volume == pytest.approx(900_000.0)


def test_tiered_learns_volume_from_fill_events() -> None:
    model = TieredFeeModel(_tiers())
    fill = OrderFilled(
        order_id="O-1",
        strategy_id="S1",
        fill_id="F-1",
        symbol="BTC/USDT",
        side=BUY,
        quantity=50.0,
        price=20_000.0,
        fee=1_000.0,
        liquidity="taker",
        leaves_quantity=0.0,
        ts_event=T0,
        ts_init=T0,
    )
    model.on_fill(fill)  # 50 × 20 000 = 1 000 000 → tier 1
    assert model.volume == pytest.approx(1_000_000.0)
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)


def test_tiered_rolling_window_with_a_clock() -> None:
    clock = FakeClock(T0)
    model = TieredFeeModel(_tiers(), window_days=30, clock=clock)
    model.record(1_000_000.0, T0)
    model.record(100.0, T0 + 10 * DAY)
    clock.now = T0 + 29 * DAY
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)  # V = 1 000 100
    clock.now = T0 + 30 * DAY  # the first fill is 30 days old: it leaves the window
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)  # V = 100
    assert model.volume == pytest.approx(100.0)
    clock.now = T0 + 41 * DAY
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)
    assert model.volume == 0.0


def test_tiered_rolling_window_without_a_clock_ends_at_the_latest_fill() -> None:
    model = TieredFeeModel(_tiers(), window_days=30)
    model.record(1_000_000.0, T0)
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)
    model.record(100.0, T0 + 31 * DAY)  # expires the first fill
    assert model.volume == pytest.approx(100.0)
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)


def test_tiered_cumulative_never_forgets() -> None:
    model = TieredFeeModel(_tiers(), clock=FakeClock(T0 + 365 * DAY))
    model.record(1_000_000.0, T0)
    assert model.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)


def test_tiered_sizing_rate_is_the_dearest_rate() -> None:
    assert TieredFeeModel(_tiers()).sizing_rate == 0.0010
    assert TieredFeeModel(_tiers(), sizing_rate=0.002).sizing_rate == 0.002
    with pytest.raises(ValueError, match="at least one tier"):
        TieredFeeModel([])


# --- slippage ----------------------------------------------------------------------------


def test_fixed_bps_ignores_the_optional_facts() -> None:
    model = FixedBpsSlippage(10.0)
    # 10 bps of 100 = 0.1
    assert model.adjust(100.0, BUY, quantity=1e9, bar_volume=1.0, spread=5.0) == pytest.approx(
        100.1
    )
    assert model.adjust(100.0, SELL) == pytest.approx(99.9)
    assert model.sizing_rate == pytest.approx(0.001)


def test_half_spread_from_configured_bps() -> None:
    model = HalfSpreadSlippage(4.0)
    # half of 4 bps = 2 bps of 100 = 0.02
    assert model.adjust(100.0, BUY) == pytest.approx(100.02)
    assert model.adjust(100.0, SELL) == pytest.approx(99.98)
    assert model.sizing_rate == pytest.approx(0.0002)


def test_half_spread_from_the_quoted_spread() -> None:
    model = HalfSpreadSlippage(4.0)
    # quoted ask − bid = 0.10 → half = 0.05, whatever spread_bps says
    assert model.adjust(100.0, BUY, spread=0.10) == pytest.approx(100.05)
    assert model.adjust(100.0, SELL, spread=0.10) == pytest.approx(99.95)
    assert model.adjust(100.0, BUY, spread=0.0) == 100.0
    # an unusable quote falls back to spread_bps
    assert model.adjust(100.0, BUY, spread=math.nan) == pytest.approx(100.02)
    assert model.adjust(100.0, BUY, spread=-1.0) == pytest.approx(100.02)


@pytest.mark.parametrize(
    ("model", "quantity", "bar_volume", "buy", "sell"),
    [
        # zipline defaults: 5% of volume → 0.1 × 0.05² = 0.00025 → ±0.025 on 100
        (VolumeShareSlippage(0.1, 2.0), 50.0, 1_000.0, 100.025, 99.975),
        # square-root law: 0.1 × √0.04 = 0.02 → ±2 on 100
        (VolumeShareSlippage(0.1, 0.5), 40.0, 1_000.0, 102.0, 98.0),
        # linear: 0.5 × 0.08 = 0.04 → ±4
        (VolumeShareSlippage(0.5, 1.0, max_impact=0.05), 80.0, 1_000.0, 104.0, 96.0),
        # linear at full participation: 0.5 × 1 = 0.5, capped at 0.05 → ±5
        (VolumeShareSlippage(0.5, 1.0, max_impact=0.05), 1_000.0, 1_000.0, 105.0, 95.0),
        # a bar without volume: the cap (0.1 → ±10)
        (VolumeShareSlippage(), 10.0, 0.0, 110.0, 90.0),
        # nothing filled: no impact
        (VolumeShareSlippage(), 0.0, 1_000.0, 100.0, 100.0),
    ],
)
def test_volume_share_impact(
    model: VolumeShareSlippage, quantity: float, bar_volume: float, buy: float, sell: float
) -> None:
    kwargs = {"quantity": quantity, "bar_volume": bar_volume}
    assert model.adjust(100.0, BUY, **kwargs) == pytest.approx(buy, abs=1e-9)
    assert model.adjust(100.0, SELL, **kwargs) == pytest.approx(sell, abs=1e-9)


def test_volume_share_unknown_size_is_charged_the_cap() -> None:
    model = VolumeShareSlippage(0.1, 2.0, max_impact=0.02)
    assert model.adjust(100.0, BUY) == pytest.approx(102.0)
    assert model.adjust(100.0, SELL, quantity=5.0) == pytest.approx(98.0)
    assert model.adjust(100.0, SELL, bar_volume=5.0) == pytest.approx(98.0)


def test_volume_share_sizing_rate() -> None:
    # default: 10% participation → 0.1 × 0.1² = 0.001
    assert VolumeShareSlippage().sizing_rate == pytest.approx(0.001)
    # 25% with the square-root law: 0.1 × 0.5 = 0.05, capped at 0.03
    model = VolumeShareSlippage(0.1, 0.5, max_impact=0.03, sizing_participation=0.25)
    assert model.sizing_rate == pytest.approx(0.03)


def test_every_slippage_model_keeps_the_two_argument_call() -> None:
    models: list[SlippageModel] = [
        FixedBpsSlippage(0.0),
        HalfSpreadSlippage(0.0),
        VolumeShareSlippage(max_impact=0.0),
    ]
    for model in models:
        assert model.adjust(100.0, BUY) == 100.0
        assert model.adjust(100.0, SELL) == 100.0
