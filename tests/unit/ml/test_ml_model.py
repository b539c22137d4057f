"""The configured pipeline: scaler + classifier, seeded, weights used, hash stable."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from engine.errors import ConfigError
from engine.ml.config import ModelConfig
from engine.ml.model import fit_pipeline, make_pipeline, model_hash, predict_up


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(float)
    return x, y


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("logistic", LogisticRegression),
        ("gradient_boosting", GradientBoostingClassifier),
        ("random_forest", RandomForestClassifier),
    ],
)
def test_pipeline_is_scaler_then_the_configured_classifier_seeded(kind: str, cls: type) -> None:
    pipeline = make_pipeline(ModelConfig(kind=kind), seed=42)  # type: ignore[arg-type]
    assert isinstance(pipeline.steps[0][1], StandardScaler)
    assert isinstance(pipeline.steps[1][1], cls)
    assert getattr(pipeline.steps[1][1], "random_state") == 42  # noqa: B009


@pytest.mark.parametrize("kind", ["logistic", "gradient_boosting", "random_forest"])
def test_same_seed_same_model_hash(kind: str) -> None:
    x, y = _data()
    cfg = ModelConfig(kind=kind, params={"n_estimators": 20} if kind != "logistic" else {})  # type: ignore[arg-type]
    first = fit_pipeline(cfg, 3, x, y, None)
    again = fit_pipeline(cfg, 3, x, y, None)
    assert model_hash(first) == model_hash(again)
    np.testing.assert_array_equal(predict_up(first, x), predict_up(again, x))
    if kind == "random_forest":
        assert model_hash(fit_pipeline(cfg, 4, x, y, None)) != model_hash(first)


@pytest.mark.parametrize("kind", ["logistic", "gradient_boosting", "random_forest"])
def test_model_hash_does_not_depend_on_which_dtype_object_the_labels_carry(kind: str) -> None:
    """Labels from a freshly compiled numba kernel carry a float64 dtype object of their own
    (with a warm cache, the shared one): the pickle memoised it differently, and model.json's
    model_sha256 of the same model was 4510a7dc... or 52d35c7e... (an audit)."""
    x, y = _data()
    own = y.view(np.dtype("f8", copy=True))  # equal values, an equal but distinct dtype object
    assert own.dtype == y.dtype
    assert own.dtype is not y.dtype
    cfg = ModelConfig(kind=kind, params={"n_estimators": 5} if kind != "logistic" else {})  # type: ignore[arg-type]
    assert model_hash(fit_pipeline(cfg, 3, x, own, None)) == model_hash(
        fit_pipeline(cfg, 3, x, y, None)
    )


def test_sample_weights_reach_the_classifier() -> None:
    x, y = _data()
    cfg = ModelConfig()
    plain = fit_pipeline(cfg, 0, x, y, np.ones(len(y)))
    weighted = fit_pipeline(cfg, 0, x, y, np.where(y == 1, 5.0, 1.0))
    # up-weighting the 1s raises every predicted probability of 1
    assert (predict_up(weighted, x) > predict_up(plain, x)).all()


def test_probability_is_of_the_up_class() -> None:
    x, y = _data()
    pipeline = fit_pipeline(ModelConfig(), 0, x, y, None)
    up = predict_up(pipeline, np.array([[3.0, 0, 0], [-3.0, 0, 0]]))
    assert up[0] > 0.9 > 0.1 > up[1]


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("logistic", {"depth": 3}, "unknown key 'ml.model.params.depth' for LogisticRegression"),
        ("logistic", {"Cee": 1.0}, "(valid: 'C', 'class_weight',"),
        ("random_forest", {"n_estimator": 5}, "did you mean 'n_estimators'"),
        ("gradient_boosting", {"max_dept": 2}, "did you mean 'max_depth'"),
    ],
)
def test_bad_model_params_are_a_config_error(
    kind: str, params: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_pipeline(ModelConfig(kind=kind, params=params), 0)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_one_class_cannot_be_learned() -> None:
    x, _ = _data()
    with pytest.raises(ValueError, match="one class"):
        fit_pipeline(ModelConfig(), 0, x, np.ones(len(x)), None)


def test_a_logistic_model_capped_at_zero_iterations_is_a_config_error() -> None:
    """scikit-learn accepts ``max_iter = 0`` and fits nothing: every coefficient stays 0,
    every prediction is 0.5, and a backtest ran on that (an audit: exit 0, 98 trades)."""
    with pytest.raises(ConfigError) as raised:
        make_pipeline(ModelConfig(kind="logistic", params={"max_iter": 0}), 0)
    assert str(raised.value) == (
        "ml.model.params.max_iter = 0: the solver needs at least 1 iteration"
    )


def _unconverged() -> tuple[ModelConfig, np.ndarray, np.ndarray]:
    x, y = _data()
    return ModelConfig(kind="logistic", params={"max_iter": 1}), x * 1e3, y


def test_scikit_learns_warnings_are_collected_as_one_line_each_not_printed_raw(
    capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
) -> None:
    cfg, x, y = _unconverged()
    caught: list[str] = []
    fit_pipeline(cfg, 0, x, y, None, caught=caught)
    assert caught == [
        "the logistic model did not converge (scikit-learn: lbfgs failed to converge after "
        "1 iteration(s) (status=1)); raise ml.model.params.max_iter (now 1)"
    ]
    assert capsys.readouterr().err == ""
    assert not [w for w in recwarn if "converge" in str(w.message)]  # none escaped


def test_without_a_list_the_fit_warns_on_stderr_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg, x, y = _unconverged()
    fit_pipeline(cfg, 0, x, y, None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("warning: the logistic model did not converge (scikit-learn: lbfgs")
    assert "ConvergenceWarning" not in err
