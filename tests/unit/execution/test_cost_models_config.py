"""Cost-model config paths: TOML text → `engine.typed.build` → `build_cost_models` → numbers."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

import pytest

from engine.errors import ConfigError
from engine.execution.costs_config import (
    FeeConfig,
    FeeTier,
    SlippageConfig,
    build_cost_models,
)
from engine.execution.models import (
    FeeModel,
    FixedBpsSlippage,
    HalfSpreadSlippage,
    PercentFeeModel,
    PerUnitFeeModel,
    SlippageModel,
    TieredFeeModel,
    VolumeShareSlippage,
)
from engine.model import OrderSide
from engine.typed import build, to_plain

BUY, SELL = OrderSide.BUY, OrderSide.SELL
DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Execution:
    """The fields proposed for ``engine.config.ExecutionConfig`` (flat keys + tables)."""

    fee_rate: float = 0.001
    slippage_bps: float = 0.0
    fees: FeeConfig | None = None
    slippage: SlippageConfig | None = None


class FakeClock:
    def __init__(self, now: int) -> None:
        self.now = now

    def timestamp_ns(self) -> int:
        return self.now


def parse(text: str) -> Execution:
    return build(Execution, tomllib.loads(text)["execution"], "execution")


def models(text: str, clock: FakeClock | None = None) -> tuple[FeeModel, SlippageModel]:
    execution = parse(text)
    return build_cost_models(
        execution.fees,
        execution.slippage,
        fee_rate=execution.fee_rate,
        slippage_bps=execution.slippage_bps,
        clock=clock,
    )


# --- flat keys and defaults --------------------------------------------------------------


def test_without_tables_the_flat_keys_decide() -> None:
    fee, slip = models("[execution]\nfee_rate = 0.002\nslippage_bps = 5.0\n")
    assert isinstance(fee, PercentFeeModel)
    assert isinstance(slip, FixedBpsSlippage)
    # 10 × 50 = 500 × 0.2% = 1.0 on both sides; 5 bps of 100 = 0.05
    assert fee.fee(10.0, 50.0, "maker") == pytest.approx(1.0)
    assert fee.fee(10.0, 50.0, "taker") == pytest.approx(1.0)
    assert slip.adjust(100.0, BUY) == pytest.approx(100.05)
    assert fee.sizing_rate == 0.002
    assert slip.sizing_rate == pytest.approx(0.0005)


def test_empty_document_gives_the_historical_defaults() -> None:
    fee, slip = build_cost_models()
    assert isinstance(fee, PercentFeeModel)
    assert fee.fee(10.0, 50.0, "taker") == pytest.approx(0.5)  # 0.1% of 500
    assert slip.adjust(100.0, BUY) == 100.0


def test_percent_table_inherits_the_flat_rate_for_sides_not_given() -> None:
    fee, _ = models(
        """
        [execution]
        fee_rate = 0.001
        [execution.fees]
        maker_rate = 0.0002
        """
    )
    # notional 500: maker 0.02% = 0.1; taker from fee_rate 0.1% = 0.5
    assert fee.fee(10.0, 50.0, "maker") == pytest.approx(0.1)
    assert fee.fee(10.0, 50.0, "taker") == pytest.approx(0.5)


def test_percent_table_rate_and_sides() -> None:
    fee, _ = models(
        """
        [execution.fees]
        model = "percent"
        rate = 0.0004
        taker_rate = 0.0006
        sizing_rate = 0.001
        """
    )
    assert isinstance(fee, PercentFeeModel)
    # notional 2 × 30 000 = 60 000: maker 0.04% = 24, taker 0.06% = 36
    assert fee.fee(2.0, 30_000.0, "maker") == pytest.approx(24.0)
    assert fee.fee(2.0, 30_000.0, "taker") == pytest.approx(36.0)
    assert fee.sizing_rate == 0.001


# --- per unit ----------------------------------------------------------------------------


def test_per_unit_table_ibkr_fixed() -> None:
    fee, _ = models(
        """
        [execution]
        fee_rate = 0.5  # ignored by per_unit
        [execution.fees]
        model = "per_unit"
        per_unit = 0.005
        minimum = 1.0
        maximum_rate = 0.01
        """
    )
    assert isinstance(fee, PerUnitFeeModel)
    assert fee.fee(100.0, 50.0, "taker") == pytest.approx(1.0)  # $0.50 → minimum $1
    assert fee.fee(1_000.0, 50.0, "taker") == pytest.approx(5.0)  # $5.00
    assert fee.fee(10.0, 1.0, "taker") == pytest.approx(0.1)  # 1% of $10 caps the minimum
    assert fee.sizing_rate == 0.01


def test_per_unit_table_minimum_defaults_to_zero() -> None:
    fee, _ = models('[execution.fees]\nmodel = "per_unit"\nper_unit = 2.25\n')
    # 3 contracts × 2.25 = 6.75; 1 × 2.25 = 2.25 (no minimum)
    assert fee.fee(3.0, 4_500.0, "taker") == pytest.approx(6.75)
    assert fee.fee(1.0, 4_500.0, "taker") == pytest.approx(2.25)
    assert fee.sizing_rate == 0.001


# --- tiered ------------------------------------------------------------------------------

TIERED = """
[execution.fees]
model = "tiered"
{window}
[[execution.fees.tiers]]
up_to_volume = 1_000_000.0
maker = 0.0010
taker = 0.0010
[[execution.fees.tiers]]
up_to_volume = 5_000_000.0
maker = 0.0009
taker = 0.0010
[[execution.fees.tiers]]
maker = 0.0008
taker = 0.0009
"""


def test_tiered_table_cumulative() -> None:
    fee, _ = models(TIERED.format(window=""))
    assert isinstance(fee, TieredFeeModel)
    assert fee.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)  # tier 0: 0.10%
    fee.record(1_000_000.0, 0)
    assert fee.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)  # tier 1: 0.09%
    fee.record(4_000_000.0, 0)
    assert fee.fee(1.0, 20_000.0, "taker") == pytest.approx(18.0)  # tier 2: 0.09% taker
    assert fee.sizing_rate == 0.001


def test_tiered_table_rolling_window() -> None:
    clock = FakeClock(0)
    fee, _ = models(TIERED.format(window="window_days = 30"), clock)
    assert isinstance(fee, TieredFeeModel)
    fee.record(2_000_000.0, 0)
    clock.now = 29 * DAY
    assert fee.fee(1.0, 20_000.0, "maker") == pytest.approx(18.0)
    clock.now = 30 * DAY
    assert fee.fee(1.0, 20_000.0, "maker") == pytest.approx(20.0)


# --- slippage tables ---------------------------------------------------------------------


def test_fixed_bps_table_defaults_to_the_flat_key_and_can_override_it() -> None:
    _, slip = models('[execution]\nslippage_bps = 3.0\n[execution.slippage]\nmodel = "fixed_bps"\n')
    assert slip.adjust(100.0, BUY) == pytest.approx(100.03)
    _, slip = models("[execution]\nslippage_bps = 3.0\n[execution.slippage]\nbps = 7.0\n")
    assert slip.adjust(100.0, SELL) == pytest.approx(99.93)


def test_half_spread_table() -> None:
    _, slip = models(
        '[execution]\nslippage_bps = 50.0\n[execution.slippage]\nmodel = "half_spread"\n'
        "spread_bps = 4.0\n"
    )
    assert isinstance(slip, HalfSpreadSlippage)
    assert slip.adjust(100.0, BUY) == pytest.approx(100.02)  # slippage_bps is ignored
    assert slip.adjust(100.0, SELL, spread=0.1) == pytest.approx(99.95)
    assert slip.sizing_rate == pytest.approx(0.0002)


def test_volume_share_table_defaults() -> None:
    _, slip = models('[execution.slippage]\nmodel = "volume_share"\n')
    assert isinstance(slip, VolumeShareSlippage)
    # 0.1 × 0.05² = 0.00025 → 100.025
    assert slip.adjust(100.0, BUY, quantity=50.0, bar_volume=1_000.0) == pytest.approx(100.025)
    assert slip.adjust(100.0, BUY) == pytest.approx(110.0)  # size unknown: the cap, 10%
    assert slip.sizing_rate == pytest.approx(0.001)  # 0.1 × 0.1²


def test_volume_share_table_square_root() -> None:
    _, slip = models(
        """
        [execution.slippage]
        model = "volume_share"
        impact_coefficient = 0.1
        exponent = 0.5
        max_impact = 0.03
        sizing_participation = 0.04
        """
    )
    # 0.1 × √(40 / 1000) = 0.02 → 98 for a sell; 0.1 × √0.25 = 0.05 → capped at 0.03
    assert slip.adjust(100.0, SELL, quantity=40.0, bar_volume=1_000.0) == pytest.approx(98.0)
    assert slip.adjust(100.0, BUY, quantity=250.0, bar_volume=1_000.0) == pytest.approx(103.0)
    assert slip.sizing_rate == pytest.approx(0.02)


def test_tables_round_trip_through_to_plain() -> None:
    execution = parse(TIERED.format(window="window_days = 30"))
    plain = to_plain(execution)
    assert build(Execution, plain, "execution") == execution
    assert plain["fees"]["tiers"][2] == {"maker": 0.0008, "taker": 0.0009}


# --- bad values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[execution.fees]\nrate = -0.001", "rate must be in [0, 1), got -0.001"),
        ("[execution.fees]\nmaker_rate = 1.5", "maker_rate must be in [0, 1), got 1.5"),
        ("[execution.fees]\ntaker_rate = -1e-05", "taker_rate must be in [0, 1)"),
        ("[execution.fees]\nsizing_rate = -0.1", "sizing_rate must be in [0, 1)"),
        ('[execution.fees]\nmodel = "per_unit"', "needs per_unit, the fee per share"),
        (
            '[execution.fees]\nmodel = "per_unit"\nper_unit = -0.005',
            "per_unit must be >= 0, got -0.005",
        ),
        (
            '[execution.fees]\nmodel = "per_unit"\nper_unit = 0.005\nminimum = -1.0',
            "minimum must be >= 0, got -1.0",
        ),
        (
            '[execution.fees]\nmodel = "per_unit"\nper_unit = 0.005\nmaximum_rate = 0.0',
            "maximum_rate must be in (0, 1), got 0.0",
        ),
        (
            '[execution.fees]\nmodel = "per_unit"\nper_unit = 0.005\nrate = 0.001',
            "rate applies only to model = 'percent', not model = 'per_unit'",
        ),
        (
            "[execution.fees]\nper_unit = 0.005\nminimum = 1.0",
            "per_unit, minimum apply only to model = 'per_unit', not model = 'percent'",
        ),
        (
            '[execution.fees]\nmodel = "tiered"',
            "model = 'tiered' needs at least one [[execution.fees.tiers]] entry",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\ntiers = []',
            "needs at least one [[execution.fees.tiers]] entry",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\nwindow_days = 0\n'
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "window_days must be in (0, 3650] days (ten years), got 0",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\nwindow_days = 1e300\n'
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "window_days must be in (0, 3650] days (ten years), got 1e+300",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n'
            "[[execution.fees.tiers]]\nup_to_volume = 5e6\nmaker = 0.001\ntaker = 0.001\n"
            "[[execution.fees.tiers]]\nup_to_volume = 1e6\nmaker = 0.001\ntaker = 0.001\n"
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "fee tiers must be sorted by up_to_volume, strictly increasing: tier 1 has "
            "1000000.0 after 5000000.0",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n'
            "[[execution.fees.tiers]]\nup_to_volume = 1e6\nmaker = 0.001\ntaker = 0.001\n"
            "[[execution.fees.tiers]]\nup_to_volume = 1e6\nmaker = 0.001\ntaker = 0.001\n"
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "strictly increasing: tier 1 has 1000000.0 after 1000000.0",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n'
            "[[execution.fees.tiers]]\nup_to_volume = 1e6\nmaker = 0.001\ntaker = 0.001",
            "the last fee tier must omit up_to_volume",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n'
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001\n"
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "fee tier 0 has no up_to_volume; only the last tier may omit it",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n'
            "[[execution.fees.tiers]]\nmaker = -0.0001\ntaker = 0.001",
            "maker must be in [0, 1), got -0.0001",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n'
            "[[execution.fees.tiers]]\nup_to_volume = -1.0\nmaker = 0.001\ntaker = 0.001\n"
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "up_to_volume must be > 0, got -1.0",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\nrate = 0.001\n'
            "[[execution.fees.tiers]]\nmaker = 0.001\ntaker = 0.001",
            "rate applies only to model = 'percent', not model = 'tiered'",
        ),
        ("[execution.slippage]\nbps = -1.0", "bps must be in [0, 10000), got -1.0"),
        (
            '[execution.slippage]\nmodel = "half_spread"',
            "model = 'half_spread' needs spread_bps",
        ),
        (
            '[execution.slippage]\nmodel = "half_spread"\nspread_bps = -2.0',
            "spread_bps must be in [0, 20000), got -2.0",
        ),
        (
            '[execution.slippage]\nmodel = "half_spread"\nspread_bps = 2.0\nbps = 1.0',
            "bps applies only to model = 'fixed_bps', not model = 'half_spread'",
        ),
        (
            "[execution.slippage]\nexponent = 2.0",
            "exponent applies only to model = 'volume_share', not model = 'fixed_bps'",
        ),
        (
            '[execution.slippage]\nmodel = "volume_share"\nimpact_coefficient = -0.1',
            "impact_coefficient must be >= 0, got -0.1",
        ),
        (
            '[execution.slippage]\nmodel = "volume_share"\nexponent = 0',
            "exponent must be > 0, got 0.0",
        ),
        (
            '[execution.slippage]\nmodel = "volume_share"\nmax_impact = 1.0',
            "max_impact must be in [0, 1), got 1.0",
        ),
        (
            '[execution.slippage]\nmodel = "volume_share"\nsizing_participation = 0',
            "sizing_participation must be in (0, 1], got 0.0",
        ),
        (
            '[execution.slippage]\nmodel = "volume_share"\nspread_bps = 3.0',
            "spread_bps applies only to model = 'half_spread', not model = 'volume_share'",
        ),
    ],
)
def test_bad_values_are_config_errors_with_a_clear_sentence(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert message in str(info.value)
    assert str(info.value).startswith("execution.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[execution.fees]\nmodel = "tierd"',
            "execution.fees.model: 'tierd' is not one of 'percent', 'per_unit', 'tiered'",
        ),
        ('[execution.slippage]\nmodel = "spread"', "execution.slippage.model: 'spread'"),
        ("[execution.fees]\nper_share = 0.005", "unknown key 'execution.fees.per_share'"),
        ('[execution.fees]\nrate = "0.1%"', "execution.fees.rate: expected a number"),
        (
            '[execution.fees]\nmodel = "tiered"\n[[execution.fees.tiers]]\nmaker = 0.001',
            "missing required key 'execution.fees.tiers.0.taker'",
        ),
        (
            '[execution.fees]\nmodel = "tiered"\n[[execution.fees.tiers]]\n'
            "maker = 0.001\ntaker = 0.001\nup_to = 5.0",
            "unknown key 'execution.fees.tiers.0.up_to'",
        ),
    ],
)
def test_bad_keys_and_types_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert message in str(info.value)


def test_dataclasses_validate_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="taker must be in"):
        FeeTier(maker=0.0, taker=1.0)
    with pytest.raises(ValueError, match="needs per_unit"):
        FeeConfig(model="per_unit")
    with pytest.raises(ValueError, match="needs spread_bps"):
        SlippageConfig(model="half_spread")
