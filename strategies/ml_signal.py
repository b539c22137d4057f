"""ML signal: a classifier's probability of "up" turned into a position, retrained walk-forward.

The idea: let a scikit-learn model (``[ml] model``) learn, from indicator features
(``[ml] features``), whether the label of a bar (``[ml] label``: forward return or
triple-barrier event) is "up", and hold a position sized by its confidence.

Data and timing (no look-ahead): on each closed bar t of the ML symbol (``[ml] symbol``,
default the first ``[[data]]`` symbol) the strategy reads the features of bar t through
``ctx.indicator`` (the kernels `engine.ml.features.build_features` runs offline) and asks
its learner for P(up):

- In a backtest (``model`` empty) the learner is `engine.ml.online.WalkForwardLearner`:
  every ``[ml] retrain.every`` bars, from the first bar with ``retrain.min_samples``
  known labels, it refits on the samples whose labels ended strictly before bar t —
  labelled with the closes before t only — weighted by uniqueness. Until the first fit
  the strategy stays flat; a run that ends without one says why on stderr (``on_stop``).
  Its refits are kept in ``self.learner.fits`` (the leakage tests read them).
- With ``model`` set (paper/live, or a backtest of a frozen model) the registry file is
  loaded (`engine.ml.registry`; its feature list must equal ``[ml] features``) and never
  refitted. A model trained on labels known at the first decision bar (its
  ``trained_until``) makes the run in-sample up to then: one warning on stderr
  (`engine.ml.insample`), the run goes on.

Sizing (López de Prado's bet sizing, *AFML* ch. 10): with ``z = (p - 0.5) /
sqrt(p (1 - p))`` the signal is ``m = 2 Φ(z) - 1`` in (-1, 1); ``|p - 0.5| <=
threshold`` gives 0 (no bet on a coin flip); without ``allow_short`` a negative m is 0.
The target is ``m × max_fraction`` of equity via ``order_target_percent`` (filled at the
next bar's open), sent only when it differs from the last target by more than
``tolerance`` (or goes to 0), so small probability moves do not churn fees.

Every prediction is kept in ``self.predictions`` as ``(bar close time ns, p)``.

Known failure modes: on hourly crypto bars simple indicator features carry little
information: out-of-sample accuracy near 50% is the expected result (``kestrel ml
evaluate`` reports it), and then the trades are mostly fees. Labels overlap heavily
(a 24-bar horizon on hourly bars), so the effective sample count is far below the bar
count (the uniqueness weights say by how much). A model refit on a schedule adapts
late to regime changes; ``retrain.max_samples`` trades adaptation for noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.ml.config import MlConfig
from engine.ml.features import FeatureReader
from engine.ml.insample import check_in_sample, warn
from engine.model import Bar
from engine.strategy import Context, Strategy

__all__ = ["MlSignal", "MlSignalParams", "bet_size"]


@dataclass(frozen=True)
class MlSignalParams:
    """Parameters of `MlSignal`.

    Attributes:
        threshold: No position while ``|p - 0.5| <= threshold``, in [0, 0.5).
        max_fraction: Equity fraction of a full-conviction bet, in (0, 1].
        allow_short: Short when the model says down (else flat).
        tolerance: Re-target only when the target moved by more than this (fraction of
            equity), in [0, 1).
        model: Path of a saved model (``kestrel ml train``), resolved beside the config
            then under the project root; empty: walk-forward training in the run.
    """

    threshold: float = 0.05
    max_fraction: float = 1.0
    allow_short: bool = False
    tolerance: float = 0.1
    model: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.threshold < 0.5:
            raise ValueError(f"threshold must be in [0, 0.5), got {self.threshold}")
        if not 0 < self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be in (0, 1], got {self.max_fraction}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance}")


def bet_size(p: float, threshold: float, allow_short: bool) -> float:
    """Return the signal in (-1, 1) for probability ``p`` of up (see the module doc)."""
    if abs(p - 0.5) <= threshold:
        return 0.0
    q = min(max(p, 1e-12), 1.0 - 1e-12)  # p of exactly 0 or 1: a full bet, not a division by 0
    z = (q - 0.5) / math.sqrt(q * (1.0 - q))
    m = math.erf(z / math.sqrt(2.0))  # 2 Φ(z) - 1
    return m if allow_short or m > 0 else 0.0


class MlSignal(Strategy):
    """Hold ``bet_size(P(up)) × max_fraction`` of equity in the ``[ml]`` symbol."""

    Params = MlSignalParams
    params: MlSignalParams

    def configure_ml(self, ml: MlConfig, seed: int, base_dir: str) -> None:
        """Receive the run's ``[ml]`` section (called by the engine before ``on_start``).

        A ``model`` is resolved here, once (a name folder: its latest version now), so the
        file the run hashes (`input_files`) is the one ``on_start`` loads.

        Raises:
            ConfigError: The model is not found.
        """
        self.ml = ml
        self.seed = seed
        self.base_dir = base_dir
        self.model_folder: Path | None = None
        if self.params.model:
            from engine.ml.registry import resolve_model

            self.model_folder = resolve_model(self.params.model, base_dir)

    def input_files(self) -> dict[str, Path]:
        """Return the saved model's file the run loads (none when it trains walk-forward)."""
        from engine.ml.registry import MODEL_FILE

        folder = getattr(self, "model_folder", None)
        return {} if folder is None else {"model": folder / MODEL_FILE}

    def on_start(self, ctx: Context) -> None:
        """Declare the features; make the learner (walk-forward, or the saved model)."""
        from engine.ml.online import FrozenLearner, WalkForwardLearner

        if not hasattr(self, "ml"):
            raise ValueError("MlSignal needs the run's [ml] section (configure_ml)")
        self.symbol = self.ml.symbol or ctx.symbols[0]
        self.reader = FeatureReader(ctx, self.symbol, self.ml.features)
        self.learner: WalkForwardLearner | FrozenLearner
        if self.params.model:
            from engine.ml.registry import load_for_config

            pipeline, self.model_meta = load_for_config(
                self.params.model, self.ml, self.base_dir, self.model_folder
            )
            self.learner = FrozenLearner(pipeline)
        else:
            self.learner = WalkForwardLearner(self.ml, self.seed)
        self.predictions: list[tuple[int, float]] = []
        self.target = 0.0

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Predict bar t's label and move the position to the sized target."""
        if bar.symbol != self.symbol:
            return
        p = self.learner.update(self.reader.row(bar.close), bar.close)
        if p is None:
            return
        if not self.predictions and self.model_folder is not None:
            self._check_in_sample(bar.ts_event)
        self.predictions.append((bar.ts_event, p))
        p_ = self.params
        target = bet_size(p, p_.threshold, p_.allow_short) * p_.max_fraction
        if target == self.target or (abs(target - self.target) <= p_.tolerance and target != 0):
            return
        self.target = target
        ctx.order_target_percent(self.symbol, target, tag=f"p={p:.3f}")

    def on_stop(self, ctx: Context) -> None:
        """Say what scikit-learn warned of in the refits (once each, with its count), and
        warn if the walk-forward model never trained: the run predicted nothing."""
        from engine.ml.model import summarize_fit_warnings
        from engine.ml.online import WalkForwardLearner, training_set

        learner = self.learner
        if not isinstance(learner, WalkForwardLearner):
            return
        for line in summarize_fit_warnings(learner.fit_warnings, len(learner.fits)):
            warn(line)
        if learner.model is not None:
            return
        minimum = self.ml.retrain.min_samples
        bars = len(learner.closes)
        advice = "lower [ml] retrain.min_samples or give the run more bars"
        if bars <= minimum:  # a fit is tried from bar index min_samples on
            reason = (
                f"{bars} bars of {self.symbol}, and a fit needs more than [ml] "
                f"retrain.min_samples = {minimum}"
            )
        else:  # the last bar's try: the labels known before it
            rows, closes = np.vstack(learner.rows[:-1]), np.asarray(learner.closes[:-1])
            samples = len(training_set(rows, closes, self.ml)[0])
            if samples < minimum:
                reason = (
                    f"{samples} labelled samples by its last bar, fewer than [ml] "
                    f"retrain.min_samples = {minimum}"
                )
            else:
                reason = "the labels known by its last bar are all one class"
                advice = (
                    "change [ml] label (threshold, horizon, barriers) so that both outcomes occur"
                )
        warn(
            f"MlSignal's model never trained in this run ({reason}): it predicted nothing "
            f"and made no trade; {advice}"
        )

    def _check_in_sample(self, first_ns: int) -> None:
        """Warn if the saved model was trained on labels known at the first decision bar."""
        assert self.model_folder is not None
        check_in_sample(
            f"model {self.params.model!r} ({self.model_folder.name}) was trained on labels known",
            str(self.model_meta.get("trained_until", "")),
            first_ns,
            "the model saw those bars' outcomes",
            "backtest a model trained on bars before the run (ml train --set "
            "'data.0.end=\"...\"') or without params.model (walk-forward)",
        )
