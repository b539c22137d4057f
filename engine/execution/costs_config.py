"""Cost-model settings: the ``[execution.fees]`` and ``[execution.slippage]`` tables.

In: frozen dataclasses parsed from TOML by `engine.typed.build` (unknown keys and wrong
types are a `ConfigError`; out-of-range values raise ``ValueError`` from
``__post_init__``, which ``build`` reports as a `ConfigError`). Out: a fee model and a
slippage model from `build_cost_models`.

How the tables and the flat keys interact:

- No ``[execution.fees]`` table: fees are ``PercentFeeModel(fee_rate)`` (the flat key,
  same rate for makers and takers), exactly as before the tables existed.
- With the table, ``model`` picks the fee model. For ``model = "percent"`` the rates
  not given in the table (``rate``, then ``maker_rate`` / ``taker_rate``) default to the
  flat ``fee_rate``; the other models ignore ``fee_rate``.
- Likewise ``slippage_bps`` is the slippage when ``[execution.slippage]`` is absent, and
  the default ``bps`` of ``model = "fixed_bps"``; the other slippage models ignore it.

Each table only accepts the keys of the model it selects: a key of another model
(``tiers`` with ``model = "percent"``, say) is an error rather than silently unused.

Examples::

    [execution.fees]                 # maker/taker percent
    model = "percent"
    maker_rate = 0.0002
    taker_rate = 0.0005

    [execution.fees]                 # Interactive Brokers fixed, US stocks
    model = "per_unit"
    per_unit = 0.005                 # quote currency per share
    minimum = 1.0                    # quote currency per fill
    maximum_rate = 0.01              # 1% of the fill's notional

    [execution.fees]                 # exchange VIP levels on rolling 30-day volume
    model = "tiered"
    window_days = 30
    [[execution.fees.tiers]]
    up_to_volume = 1_000_000.0
    maker = 0.0010
    taker = 0.0010
    [[execution.fees.tiers]]
    up_to_volume = 5_000_000.0
    maker = 0.0009
    taker = 0.0010
    [[execution.fees.tiers]]         # the last tier has no bound
    maker = 0.0008
    taker = 0.0009

    [execution.slippage]
    model = "half_spread"
    spread_bps = 4.0                 # full spread; a taker pays 2 bps

    [execution.slippage]
    model = "volume_share"
    impact_coefficient = 0.1
    exponent = 2.0                   # 0.5 for the square-root law
    max_impact = 0.05
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.clock import Clock
from engine.execution.models import (
    FeeModel,
    FeeTierRates,
    FixedBpsSlippage,
    HalfSpreadSlippage,
    PercentFeeModel,
    PerUnitFeeModel,
    SlippageModel,
    TieredFeeModel,
    VolumeShareSlippage,
)

__all__ = ["FeeConfig", "FeeTier", "SlippageConfig", "build_cost_models"]

FeeModelName = Literal["percent", "per_unit", "tiered"]
SlippageModelName = Literal["fixed_bps", "half_spread", "volume_share"]
MAX_WINDOW_DAYS = 3650  # a tiered fee window of ten years; longer overflows its int ns


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _rate(name: str, value: float | None) -> None:
    """Check a fee rate (fraction of notional) if given."""
    if value is not None:
        _require(0.0 <= value < 1.0, f"{name} must be in [0, 1), got {value}")


def _only_for(model: str, owner: str, values: Mapping[str, object]) -> None:
    """Reject keys that belong to another model."""
    stray = [name for name, value in values.items() if value is not None]
    _require(
        not stray,
        f"{', '.join(stray)} {'applies' if len(stray) == 1 else 'apply'} only to "
        f"model = {owner!r}, not model = {model!r}; remove "
        f"{'it' if len(stray) == 1 else 'them'} or change model",
    )


@dataclass(frozen=True)
class FeeTier:
    """One volume tier of ``model = "tiered"`` (a ``[[execution.fees.tiers]]`` entry).

    Attributes:
        up_to_volume: The tier applies while the account's traded notional (quote
            currency) is below this; omit it on the last tier, which has no bound.
        maker: Fee rate for fills that provide liquidity (fraction of notional).
        taker: Fee rate for fills that take liquidity (fraction of notional).
    """

    maker: float
    taker: float
    up_to_volume: float | None = None

    def __post_init__(self) -> None:
        _rate("maker", self.maker)
        _rate("taker", self.taker)
        if self.up_to_volume is not None:
            _require(
                self.up_to_volume > 0,
                f"up_to_volume must be > 0, got {self.up_to_volume}",
            )


@dataclass(frozen=True)
class FeeConfig:
    """The fee model (``[execution.fees]``); see the module docstring for examples.

    Attributes:
        model: ``"percent"`` (fraction of notional, maker/taker), ``"per_unit"`` (per
            share / per contract with minimum and maximum) or ``"tiered"`` (maker/taker by
            traded-volume tier).
        rate: percent: rate for both sides (default: the flat ``fee_rate``).
        maker_rate: percent: rate for maker fills (default: ``rate``).
        taker_rate: percent: rate for taker fills (default: ``rate``).
        per_unit: per_unit: fee per share / contract in quote currency (required).
        minimum: per_unit: least fee per fill in quote currency (default 0).
        maximum_rate: per_unit: most fee per fill as a fraction of its notional (default:
            no maximum). It wins over ``minimum``.
        tiers: tiered: the volume tiers, sorted by ``up_to_volume``, the last unbounded.
        window_days: tiered: rolling window of traded volume in days, at most
            `MAX_WINDOW_DAYS` (ten years; default: all volume since the run started).
        sizing_rate: Fraction of notional to reserve for fees when sizing an order
            (default: the model's own, see `engine.execution.models`).
    """

    model: FeeModelName = "percent"
    rate: float | None = None
    maker_rate: float | None = None
    taker_rate: float | None = None
    per_unit: float | None = None
    minimum: float | None = None
    maximum_rate: float | None = None
    tiers: list[FeeTier] | None = None
    window_days: float | None = None
    sizing_rate: float | None = None

    def __post_init__(self) -> None:
        percent = {"rate": self.rate, "maker_rate": self.maker_rate, "taker_rate": self.taker_rate}
        per_unit = {
            "per_unit": self.per_unit,
            "minimum": self.minimum,
            "maximum_rate": self.maximum_rate,
        }
        tiered = {"tiers": self.tiers, "window_days": self.window_days}
        _rate("sizing_rate", self.sizing_rate)
        if self.model == "percent":
            _only_for("percent", "per_unit", per_unit)
            _only_for("percent", "tiered", tiered)
            for name, value in percent.items():
                _rate(name, value)
        elif self.model == "per_unit":
            _only_for("per_unit", "percent", percent)
            _only_for("per_unit", "tiered", tiered)
            _require(
                self.per_unit is not None,
                "model = 'per_unit' needs per_unit, the fee per share or contract",
            )
            assert self.per_unit is not None
            _require(self.per_unit >= 0, f"per_unit must be >= 0, got {self.per_unit}")
            if self.minimum is not None:
                _require(self.minimum >= 0, f"minimum must be >= 0, got {self.minimum}")
            if self.maximum_rate is not None:
                _require(
                    0 < self.maximum_rate < 1,
                    f"maximum_rate must be in (0, 1), got {self.maximum_rate}",
                )
        else:
            _only_for("tiered", "percent", percent)
            _only_for("tiered", "per_unit", per_unit)
            self._check_tiers()

    def _check_tiers(self) -> None:
        tiers = self.tiers or []
        _require(
            len(tiers) > 0,
            "model = 'tiered' needs at least one [[execution.fees.tiers]] entry",
        )
        _require(
            tiers[-1].up_to_volume is None,
            "the last fee tier must omit up_to_volume: it covers all volume above the "
            f"previous tier (got up_to_volume = {tiers[-1].up_to_volume})",
        )
        bounds = [tier.up_to_volume for tier in tiers[:-1]]
        for index, bound in enumerate(bounds):
            _require(
                bound is not None,
                f"fee tier {index} has no up_to_volume; only the last tier may omit it",
            )
        previous = 0.0
        for index, bound in enumerate(bounds):
            assert bound is not None
            _require(
                bound > previous,
                f"fee tiers must be sorted by up_to_volume, strictly increasing: tier "
                f"{index} has {bound} after {previous}",
            )
            previous = bound
        if self.window_days is not None:
            _require(
                0 < self.window_days <= MAX_WINDOW_DAYS,
                f"window_days must be in (0, {MAX_WINDOW_DAYS}] days (ten years), "
                f"got {self.window_days:g}",
            )


@dataclass(frozen=True)
class SlippageConfig:
    """The slippage model (``[execution.slippage]``), applied to fills that take liquidity.

    Attributes:
        model: ``"fixed_bps"``, ``"half_spread"`` or ``"volume_share"``.
        bps: fixed_bps: adverse move in basis points (default: the flat
            ``slippage_bps``).
        spread_bps: half_spread: full bid/ask spread in basis points of price, used when
            the fill has no quoted spread; the taker pays half (required).
        impact_coefficient: volume_share: impact at 100% participation, as a fraction of
            price (default 0.1).
        exponent: volume_share: power of the participation (default 2.0 as in zipline;
            0.5 is the square-root law).
        max_impact: volume_share: cap on the impact, a fraction of price (default 0.1);
            also charged when the fill's quantity or the bar's volume is unknown.
        sizing_participation: volume_share: share of a bar's volume an order is assumed
            to take when sizing it (default 0.1; use the volume-participation cap).
    """

    model: SlippageModelName = "fixed_bps"
    bps: float | None = None
    spread_bps: float | None = None
    impact_coefficient: float | None = None
    exponent: float | None = None
    max_impact: float | None = None
    sizing_participation: float | None = None

    def __post_init__(self) -> None:
        fixed = {"bps": self.bps}
        half = {"spread_bps": self.spread_bps}
        volume = {
            "impact_coefficient": self.impact_coefficient,
            "exponent": self.exponent,
            "max_impact": self.max_impact,
            "sizing_participation": self.sizing_participation,
        }
        if self.model == "fixed_bps":
            _only_for("fixed_bps", "half_spread", half)
            _only_for("fixed_bps", "volume_share", volume)
            if self.bps is not None:
                _require(0 <= self.bps < 10_000, f"bps must be in [0, 10000), got {self.bps}")
        elif self.model == "half_spread":
            _only_for("half_spread", "fixed_bps", fixed)
            _only_for("half_spread", "volume_share", volume)
            _require(
                self.spread_bps is not None,
                "model = 'half_spread' needs spread_bps, the full bid/ask spread in bps",
            )
            assert self.spread_bps is not None
            _require(
                0 <= self.spread_bps < 20_000,
                f"spread_bps must be in [0, 20000), got {self.spread_bps}",
            )
        else:
            _only_for("volume_share", "fixed_bps", fixed)
            _only_for("volume_share", "half_spread", half)
            if self.impact_coefficient is not None:
                _require(
                    self.impact_coefficient >= 0,
                    f"impact_coefficient must be >= 0, got {self.impact_coefficient}",
                )
            if self.exponent is not None:
                _require(self.exponent > 0, f"exponent must be > 0, got {self.exponent}")
            if self.max_impact is not None:
                _require(
                    0 <= self.max_impact < 1,
                    f"max_impact must be in [0, 1), got {self.max_impact}",
                )
            if self.sizing_participation is not None:
                _require(
                    0 < self.sizing_participation <= 1,
                    f"sizing_participation must be in (0, 1], got {self.sizing_participation}",
                )


def build_fee_model(
    fees: FeeConfig | None, *, fee_rate: float = 0.001, clock: Clock | None = None
) -> FeeModel:
    """Return the fee model of ``fees``, or ``PercentFeeModel(fee_rate)`` without a table."""
    if fees is None:
        return PercentFeeModel(fee_rate)
    if fees.model == "percent":
        rate = fee_rate if fees.rate is None else fees.rate
        return PercentFeeModel(
            rate,
            maker_rate=fees.maker_rate,
            taker_rate=fees.taker_rate,
            sizing_rate=fees.sizing_rate,
        )
    if fees.model == "per_unit":
        assert fees.per_unit is not None  # checked by FeeConfig
        return PerUnitFeeModel(
            fees.per_unit,
            minimum=fees.minimum or 0.0,
            maximum_rate=fees.maximum_rate,
            sizing_rate=fees.sizing_rate,
        )
    tiers = [FeeTierRates(t.up_to_volume, t.maker, t.taker) for t in fees.tiers or []]
    return TieredFeeModel(
        tiers, window_days=fees.window_days, clock=clock, sizing_rate=fees.sizing_rate
    )


def build_slippage_model(
    slippage: SlippageConfig | None, *, slippage_bps: float = 0.0
) -> SlippageModel:
    """Return the slippage model of ``slippage``, or ``FixedBpsSlippage(slippage_bps)``."""
    if slippage is None:
        return FixedBpsSlippage(slippage_bps)
    if slippage.model == "fixed_bps":
        return FixedBpsSlippage(slippage_bps if slippage.bps is None else slippage.bps)
    if slippage.model == "half_spread":
        assert slippage.spread_bps is not None  # checked by SlippageConfig
        return HalfSpreadSlippage(slippage.spread_bps)
    defaults = VolumeShareSlippage()
    return VolumeShareSlippage(
        _or(slippage.impact_coefficient, defaults.impact_coefficient),
        _or(slippage.exponent, defaults.exponent),
        max_impact=_or(slippage.max_impact, defaults.max_impact),
        sizing_participation=_or(slippage.sizing_participation, defaults.sizing_participation),
    )


def build_cost_models(
    fees: FeeConfig | None = None,
    slippage: SlippageConfig | None = None,
    *,
    fee_rate: float = 0.001,
    slippage_bps: float = 0.0,
    clock: Clock | None = None,
) -> tuple[FeeModel, SlippageModel]:
    """Return ``(fee_model, slippage_model)`` for the ``[execution]`` settings.

    Args:
        fees: The ``[execution.fees]`` table, or ``None`` when absent.
        slippage: The ``[execution.slippage]`` table, or ``None`` when absent.
        fee_rate: The flat ``execution.fee_rate`` (see the module docstring).
        slippage_bps: The flat ``execution.slippage_bps``.
        clock: Time source for a rolling tier window (``window_days``); without it the
            window ends at the latest recorded fill.
    """
    return (
        build_fee_model(fees, fee_rate=fee_rate, clock=clock),
        build_slippage_model(slippage, slippage_bps=slippage_bps),
    )


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
