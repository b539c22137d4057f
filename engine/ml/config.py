"""The ``[ml]`` section of a run config: features, label, model, splits, retraining.

In: the ``[ml]`` TOML table (built strictly by `engine.typed.build`, so unknown keys are
rejected with "did you mean"). Out: a frozen `MlConfig`. Range and cross-field rules live
in the ``__post_init__`` methods here; the computations live in `engine.ml.features`
(features), `engine.ml.labels` (labels, uniqueness weights), `engine.ml.splits` (purged
k-fold, walk-forward) and `engine.ml.model` (the scikit-learn pipeline).

Example (``configs/ml_signal_btc.toml``)::

    [ml]
    features = [
        { name = "rocp", params = { timeperiod = 1 } },
        { name = "rsi", params = { timeperiod = 14 } },
        { name = "sma", params = { timeperiod = 50 }, scale = "close" },
    ]
    [ml.label]
    kind = "triple_barrier"
    horizon = 24
    [ml.model]
    kind = "logistic"
    [ml.splits]
    folds = 5
    embargo = 24
    [ml.retrain]
    every = 168
    min_samples = 500
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.errors import IndicatorError

__all__ = ["FeatureSpec", "LabelConfig", "MlConfig", "ModelConfig", "RetrainConfig", "SplitConfig"]

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


MAX_BARS = 100_000  # the longest window in bars (the indicator kernels' longest timeperiod)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: an indicator of the library, as a strategy declares it.

    Attributes:
        name: TA-Lib function name (``"rocp"``, ``"rsi"``, ``"natr"``, ``"sma"``, ...).
            Returns are ``rocp`` (``close[t] / close[t - n] - 1``): every feature comes
            from the indicator kernels, the same ones ``ctx.indicator`` runs.
        params: TA-Lib parameters; omitted ones take TA-Lib's defaults.
        source: Bar column of the ``real`` input (single-series indicators such as
            ``rsi``, and ``obv``/``vwma``'s price); refused on indicators that read fixed
            columns (``natr``: high, low, close), where it would change nothing.
        output: Which output of a multi-output indicator (``"macdhist"``); default first.
        scale: ``"raw"`` (default) the value as is; ``"close"``: ``value / close - 1``,
            for price-level indicators (moving averages, bands) so the feature does not
            drift with the price level.
    """

    name: str
    params: dict[str, int | float] = field(default_factory=dict)
    source: str = "close"
    output: str | None = None
    scale: Literal["raw", "close"] = "raw"

    def __post_init__(self) -> None:
        from engine.indicators import registry

        _require(
            self.source in PRICE_COLUMNS,
            f"feature {self.name}: source must be one of {', '.join(PRICE_COLUMNS)}, "
            f"got {self.source!r}",
        )
        try:
            spec, _ = registry.resolve(self.name, self.params)
        except IndicatorError as exc:
            raise ValueError(f"feature {self.name!r}: {exc}") from None
        if self.output is not None:
            _require(
                self.output in spec.outputs,
                f"feature {self.name}: no output {self.output!r} (outputs: "
                f"{', '.join(spec.outputs)})",
            )
        _check_inputs(spec.name, spec.inputs, self.source)

    @property
    def label(self) -> str:
        """Return the column name, e.g. ``rsi(timeperiod=14)`` or ``sma(timeperiod=50)/close``."""
        from engine.indicators import registry

        spec, resolved = registry.resolve(self.name, self.params)
        text = f"{spec.name}({', '.join(f'{k}={v}' for k, v in resolved.items())})"
        if self.source != "close" and "real" in spec.inputs:
            text += f"[{self.source}]"
        if self.output is not None:
            text += f".{self.output}"
        return text + ("/close" if self.scale == "close" else "")


def _check_inputs(name: str, inputs: tuple[str, ...], source: str) -> None:
    """Refuse a ``source`` that feeds nothing and an input no bar column can fill.

    ``source`` picks the column of the input ``real`` only (`input_columns`); the other
    inputs read fixed columns. An ``[ml]`` feature has no ``inputs`` key, so an input
    without a default column (mavp's ``periods``) cannot be filled.
    """
    from engine.strategy.context import input_columns

    try:
        columns = input_columns(name, inputs, source, {})
    except IndicatorError:
        free = next(key for key in inputs if key not in PRICE_COLUMNS and key != "real")
        raise ValueError(
            f"feature {name}: its input {free!r} has no default bar column and an [ml] "
            "feature names only source (the column of 'real'); use another indicator"
        ) from None
    if "real" not in inputs and source != "close":
        read = ", ".join(
            key if key == column else f"{key} = {column}" for key, column in columns.items()
        )
        raise ValueError(
            f"feature {name}: source {source!r} is not used: {name} reads the bar columns "
            f"{read}; remove source (it picks the column of indicators with a 'real' input, "
            "such as rsi)"
        )


@dataclass(frozen=True)
class LabelConfig:
    """How a sample at bar t is labelled (1 = up, 0 = not up), and when its label ends.

    Attributes:
        kind: ``"forward_return"``: 1 when ``close[t + horizon] / close[t] - 1 >
            threshold``; the label ends at bar ``t + horizon``. ``"triple_barrier"``: the
            first of three barriers the closes after t touch: the upper one
            (``close[t] × (1 + profit_take × σ_t)``) gives 1, the lower one
            (``close[t] × (1 − stop_loss × σ_t)``) gives 0, the time barrier at
            ``t + horizon`` gives 1 if the return then is above ``threshold``; the label
            ends at the touching bar. σ_t is the volatility over the horizon:
            the population standard deviation of the last ``vol_window`` one-bar returns
            (``stddev`` of ``rocp(1)``, the indicator kernels) times sqrt(horizon).
        horizon: Bars to the time barrier (1 to `MAX_BARS`, 100,000).
        threshold: Return above which a time-barrier or forward-return label is 1.
        profit_take: Upper barrier in σ units (> 0).
        stop_loss: Lower barrier in σ units (> 0).
        vol_window: Bars of one-bar returns in σ (2 to `MAX_BARS`).
    """

    kind: Literal["forward_return", "triple_barrier"] = "triple_barrier"
    horizon: int = 24
    threshold: float = 0.0
    profit_take: float = 1.0
    stop_loss: float = 1.0
    vol_window: int = 100

    def __post_init__(self) -> None:
        for name, low in (("horizon", 1), ("vol_window", 2)):  # vol_window: stddev's period
            value = getattr(self, name)
            _require(
                low <= value <= MAX_BARS,
                f"label.{name} must be in [{low}, {MAX_BARS}], got {value}",
            )
        _require(self.profit_take > 0, f"label.profit_take must be > 0, got {self.profit_take}")
        _require(self.stop_loss > 0, f"label.stop_loss must be > 0, got {self.stop_loss}")
        _require(
            -1 < self.threshold < 10, f"label.threshold must be in (-1, 10), got {self.threshold}"
        )


@dataclass(frozen=True)
class ModelConfig:
    """The classifier behind a `sklearn.preprocessing.StandardScaler`.

    Attributes:
        kind: ``"logistic"`` (LogisticRegression), ``"gradient_boosting"``
            (GradientBoostingClassifier) or ``"random_forest"`` (RandomForestClassifier).
        params: Keyword arguments of that class (``{ C = 0.1 }``, ``{ max_depth = 3 }``);
            ``random_state`` is always the run's ``seed`` and may not be set here.
    """

    kind: Literal["logistic", "gradient_boosting", "random_forest"] = "logistic"
    params: dict[str, int | float | str | bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(
            "random_state" not in self.params,
            "model.params: random_state comes from [run] seed; remove it here",
        )


@dataclass(frozen=True)
class SplitConfig:
    """Out-of-sample evaluation splits (`engine.ml.splits`).

    Attributes:
        method: ``"purged_kfold"`` or ``"walk_forward"``.
        folds: Number of test folds (>= 2).
        embargo: Bars after a test fold whose samples are left out of training too
            (serial correlation leaks across the fold's end), 0 to `MAX_BARS`.
    """

    method: Literal["purged_kfold", "walk_forward"] = "walk_forward"
    folds: int = 5
    embargo: int = 24

    def __post_init__(self) -> None:
        _require(self.folds >= 2, f"splits.folds must be >= 2, got {self.folds}")
        _require(
            0 <= self.embargo <= MAX_BARS,
            f"splits.embargo must be in [0, {MAX_BARS}], got {self.embargo}",
        )


@dataclass(frozen=True)
class RetrainConfig:
    """Walk-forward retraining inside a backtest (`engine.ml.online`).

    ``kestrel ml evaluate`` applies the same rules to its folds (`engine.ml.evaluate`) and
    ``kestrel ml train`` fits on the latest ``max_samples`` labels.

    Attributes:
        every: Bars between refits (>= 1).
        min_samples: Labelled samples needed before the first fit (>= 10); no position
            is taken before it (an evaluation fold with fewer is skipped).
        max_samples: Train on the latest ``max_samples`` known labels only (0: all): each
            refit, each walk-forward evaluation fold.
    """

    every: int = 168
    min_samples: int = 500
    max_samples: int = 0

    def __post_init__(self) -> None:
        _require(self.every >= 1, f"retrain.every must be >= 1, got {self.every}")
        _require(
            self.min_samples >= 10, f"retrain.min_samples must be >= 10, got {self.min_samples}"
        )
        _require(
            self.max_samples == 0 or self.max_samples >= self.min_samples,
            f"retrain.max_samples must be 0 or >= min_samples ({self.min_samples}), "
            f"got {self.max_samples}",
        )


@dataclass(frozen=True)
class MlConfig:
    """The ``[ml]`` section: what the model sees, predicts, and how it is trained.

    Attributes:
        symbol: The symbol whose bars give features and labels (default: the first
            ``[[data]]`` symbol).
        features: Feature columns, in model order (at least one, no duplicates).
        label: `LabelConfig`.
        model: `ModelConfig`.
        splits: `SplitConfig` (``kestrel ml evaluate``).
        retrain: `RetrainConfig` (in-backtest walk-forward).
        weights: ``"uniqueness"`` (default): each sample weighted by the average
            uniqueness of its label (López de Prado); ``"none"``: equal weights.
    """

    features: list[FeatureSpec]
    symbol: str = ""
    label: LabelConfig = field(default_factory=LabelConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    weights: Literal["uniqueness", "none"] = "uniqueness"

    def __post_init__(self) -> None:
        _require(len(self.features) > 0, "ml.features: at least one feature is required")
        labels = [feature.label for feature in self.features]
        twice = sorted({name for name in labels if labels.count(name) > 1})
        _require(not twice, f"ml.features: {twice} appears more than once")

    @property
    def feature_names(self) -> list[str]:
        """Return the feature column names in model order."""
        return [feature.label for feature in self.features]
