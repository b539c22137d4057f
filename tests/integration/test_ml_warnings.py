"""ML runs that are not what they look like say so on stderr, from the command line.

- A saved model backtested over bars it was trained on (``model.json``'s ``trained_until``
  at or after the run's first decision) is in-sample: +9.63 % (logistic) and +60.13 %
  (random forest) where the walk-forward run makes +5.52 %, with no word (an audit). So
  is a TF-IDF scorer trained on headlines of the run's own period. One ``warning:`` line;
  the run still runs (exit 0).
- A walk-forward run whose model never trained ends with 0 trades: one ``warning:`` line
  saying why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine import load_config, run_backtest
from engine.feeds import format_timestamp
from engine.runtime.backtest import load_frames
from strategies.ml_signal import MlSignal
from tests.integration.conftest import REPO, CliResult, CliRunner

ML_CONFIG = "configs/ml_signal_btc.toml"
SENTIMENT_CONFIG = "configs/sentiment_filter_btc.toml"
SHORT = ['data.0.end="2021-03-20"', "ml.retrain.every=240"]


def _sets(values: list[str] | tuple[str, ...]) -> list[str]:
    return [f"--set={value}" for value in values]


def _backtest(kestrel: CliRunner, config: str, out: Path, *sets: str) -> CliResult:
    result = kestrel("backtest", config, "--no-db", "--out", str(out), *_sets(sets))
    assert result.code == 0, result.err
    return result


def _ours(result: CliResult) -> list[str]:
    """The stderr lines other than the data file's own warnings (its gaps)."""
    return [line for line in result.err.splitlines() if "BTC/USDT:" not in line]


def test_a_model_backtested_over_its_own_training_bars_is_a_warning(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    assert kestrel("ml", "train", ML_CONFIG, "--out", str(models), *_sets(SHORT)).code == 0
    until = json.loads((models / "v1" / "model.json").read_text())["trained_until"]
    uses = f'strategy.params.model="{models}"'
    result = _backtest(kestrel, ML_CONFIG, tmp_path / "in", *SHORT, uses)
    run = run_backtest(load_config(REPO / ML_CONFIG, [*SHORT, uses]))
    assert isinstance(run.strategy, MlSignal)
    first = format_timestamp(run.strategy.predictions[0][0])
    assert _ours(result) == [
        f"warning: model {str(models)!r} (v1) was trained on labels known until {until}, and "
        f"this run decides from {first}: its results up to {until} are in-sample (the model "
        "saw those bars' outcomes), not a test; backtest a model trained on bars before the "
        "run (ml train --set 'data.0.end=\"...\"') or without params.model (walk-forward)"
    ]
    # trained on the bars before the run: nothing to say
    before = kestrel(
        "ml", "train", ML_CONFIG, "--out", str(models), '--set=data.0.end="2021-01-10"'
    )
    assert before.code == 0, before.err
    later = ['data.0.start="2021-01-20"', 'data.0.end="2021-03-20"']
    assert _ours(_backtest(kestrel, ML_CONFIG, tmp_path / "out", *later, uses)) == []


def test_a_tfidf_scorer_trained_on_the_runs_own_headlines_is_a_warning(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    labelled = (REPO / "data" / "sample_headlines_labelled.csv").read_text()
    training = tmp_path / "december.csv"  # the same headlines, dated a month later
    training.write_text(labelled.replace("2020-11-", "2020-12-"))
    tfidf = ('strategy.params.scorer="tfidf"', f'strategy.params.training="{training}"')
    result = _backtest(kestrel, SENTIMENT_CONFIG, tmp_path / "in", *tfidf)
    last = labelled.strip().splitlines()[-1].split(",")[0].replace("2020-11-", "2020-12-")
    assert _ours(result) == [
        f"warning: the tfidf scorer's training file {str(training)!r} holds labelled headlines "
        f"until {last}, and this run decides from 2020-12-01T01:00:00Z: its results up to "
        f"{last} are in-sample (the scorer learned those headlines' labels), not a test; "
        "train it on headlines from before the run"
    ]
    shipped = "data/sample_headlines_labelled.csv"  # November 2020, before the run
    november = (tfidf[0], f'strategy.params.training="{shipped}"')
    assert _ours(_backtest(kestrel, SENTIMENT_CONFIG, tmp_path / "out", *november)) == []


def _bars(*sets: str) -> int:
    (frame,) = load_frames(load_config(REPO / ML_CONFIG, list(sets)))
    return len(frame)


def test_a_walk_forward_model_that_never_trains_is_a_warning(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """216 bars, or retrain.min_samples = 100000: 0 trades, exit 0, no word (an audit)."""
    advice = "lower [ml] retrain.min_samples or give the run more bars"
    for name, sets in (
        ("few", ['data.0.end="2020-12-10"']),
        ("high", ["ml.retrain.min_samples=100000"]),
    ):
        result = _backtest(kestrel, ML_CONFIG, tmp_path / name, *sets)
        minimum = 100000 if name == "high" else 1000
        assert _ours(result) == [
            f"warning: MlSignal's model never trained in this run ({_bars(*sets)} bars of "
            f"BTC/USDT, and a fit needs more than [ml] retrain.min_samples = {minimum}): it "
            f"predicted nothing and made no trade; {advice}"
        ]
        assert json.loads((tmp_path / name / "metrics.json").read_text())["num_trades"] == 0
    one_class = ['ml.label.kind="forward_return"', "ml.label.threshold=0.9"]  # all 0
    result = _backtest(kestrel, ML_CONFIG, tmp_path / "one", *SHORT, *one_class)
    assert _ours(result) == [
        "warning: MlSignal's model never trained in this run (the labels known by its last "
        "bar are all one class): it predicted nothing and made no trade; change [ml] label "
        "(threshold, horizon, barriers) so that both outcomes occur"
    ]
    assert _ours(_backtest(kestrel, ML_CONFIG, tmp_path / "trains", *SHORT)) == []


def test_too_few_labelled_samples_by_the_last_bar_is_named_with_their_count(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    result = _backtest(kestrel, ML_CONFIG, tmp_path / "r", *SHORT, "ml.retrain.min_samples=2500")
    (line,) = _ours(result)
    found = re.fullmatch(
        r"warning: MlSignal's model never trained in this run \((\d+) labelled samples by its "
        r"last bar, fewer than \[ml\] retrain.min_samples = 2500\): it predicted nothing and "
        r"made no trade; lower \[ml\] retrain.min_samples or give the run more bars",
        line,
    )
    assert found is not None, line
    # every bar but the warm-up (168-bar features and volatility) and the last horizon's
    assert _bars(*SHORT) - 168 - 24 - 1 <= int(found.group(1)) < 2500 < _bars(*SHORT)


UNCONVERGED = "ml.model.params.max_iter=1"
CONVERGE_LINE = re.compile(
    r"warning: the logistic model did not converge \(scikit-learn: lbfgs failed to converge "
    r"after 1 iteration\(s\) \(status=1\)\); raise ml\.model\.params\.max_iter \(now 1\)"
)


def test_a_model_that_does_not_converge_is_one_warning_line_for_the_whole_run(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """scikit-learn's ConvergenceWarning printed 9 raw lines (its file path, the solver's
    text, two URLs) at each of the walk-forward run's refits (an audit)."""
    result = _backtest(kestrel, ML_CONFIG, tmp_path / "run", *SHORT, UNCONVERGED)
    run = run_backtest(load_config(REPO / ML_CONFIG, [*SHORT, UNCONVERGED]))
    assert isinstance(run.strategy, MlSignal)
    fits = len(run.strategy.learner.fits)
    assert fits > 1
    lines = _ours(result)
    assert len(lines) == 1, lines
    assert CONVERGE_LINE.fullmatch(lines[0].removesuffix(f" (in {fits} of {fits} fits)"))
    assert lines[0].endswith(f" (in {fits} of {fits} fits)")
    assert "ConvergenceWarning" not in result.err


def test_evaluate_and_train_say_it_in_one_line_too(kestrel: CliRunner, tmp_path: Path) -> None:
    evaluated = kestrel(
        "ml", "evaluate", ML_CONFIG, "--out", str(tmp_path / "ev"), *_sets([UNCONVERGED])
    )
    assert evaluated.code == 0, evaluated.err
    lines = [line for line in _ours(evaluated) if line.startswith("warning: the logistic")]
    assert len(lines) == 1, evaluated.err
    folds = len(json.loads((tmp_path / "ev" / "evaluation.json").read_text())["folds"])
    assert CONVERGE_LINE.fullmatch(lines[0].removesuffix(f" (in {folds} of {folds} fits)"))
    assert lines[0].endswith(f" (in {folds} of {folds} fits)")
    assert "ConvergenceWarning" not in evaluated.err
    trained = kestrel("ml", "train", ML_CONFIG, "--out", str(tmp_path / "m"), *_sets([UNCONVERGED]))
    assert trained.code == 0, trained.err
    warned = [line for line in _ours(trained) if line.startswith("warning:")]
    assert len(warned) == 1, trained.err  # one fit: no count
    assert CONVERGE_LINE.fullmatch(warned[0])
    assert "ConvergenceWarning" not in trained.err


def test_zero_iterations_is_refused_in_one_line(kestrel: CliRunner, tmp_path: Path) -> None:
    result = kestrel(
        "backtest",
        ML_CONFIG,
        "--no-db",
        "--out",
        str(tmp_path / "r"),
        "--set=ml.model.params.max_iter=0",
    )
    assert result.code == 2
    assert result.err.strip().splitlines()[-1] == (
        "error: ml.model.params.max_iter = 0: the solver needs at least 1 iteration"
    )


def test_a_sweep_says_each_trials_warning_once_not_once_per_trial(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """Each trial of a sweep printed its own copy of a run warning: 3 identical in-sample
    lines for a 3-trial sweep, 100 for 100 trials (noticed in stop 31)."""
    labelled = (REPO / "data" / "sample_headlines_labelled.csv").read_text()
    training = tmp_path / "december.csv"  # the run's own period: the in-sample warning
    training.write_text(labelled.replace("2020-11-", "2020-12-"))
    sets = ['strategy.params.scorer="tfidf"', f'strategy.params.training="{training}"']
    for workers in ("1", "2"):  # in this process, and in a pool of worker processes
        result = kestrel(
            "optimize", SENTIMENT_CONFIG, "--param", "trend_period=20:60:20",
            "--workers", workers, "--db", f"sqlite:///{tmp_path}/k{workers}.db", *_sets(sets),
        )  # fmt: skip
        assert result.code == 0, result.err
        warned = [line for line in _ours(result) if line.startswith("warning:")]
        assert len(warned) == 1, result.err
        assert warned[0].startswith(f"warning: the tfidf scorer's training file {str(training)!r}")
