"""``kestrel ml train|evaluate CONFIG``: fit and save the ``[ml]`` model, or test it out of sample.

In: a run config with an ``[ml]`` section (and ``--set key=value`` overrides). Out:

- ``ml train``: the pipeline fitted on every labelled sample of the data, saved as the next
  version under ``--out`` (default ``<project root>/models/<run name>``; the run name made
  one safe folder name, `engine.paths.folder_name`: ``BTC/USDT 1h`` → ``BTC-USDT-1h``,
  ``../x`` → ``x``) with its feature list, parameters and training-data hash
  (`engine.ml.registry`); the version folder, sample count and hashes are printed. A
  strategy loads it with ``params.model``.
- ``ml evaluate``: the out-of-sample figures of ``[ml] splits`` (`engine.ml.evaluate`) in the
  terminal, and ``evaluation.html`` plus ``evaluation.json`` in ``--out`` (default
  ``<project root>/backtests/ml/<run name>``, the same safe name). The terminal states
  plainly whether the accuracy beats always predicting the more frequent label, and names
  the folds skipped below ``retrain.min_samples`` (``max_samples`` caps each walk-forward
  fold's training window, not the data).

A command that fails leaves no folder it made behind (`engine.paths.new_folder`).

Registered on the main app by `register` (called from `engine.cli`). Errors are
`KestrelError`s: one line, exit 2 for input to fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from engine.cli_console import Stdout
from engine.config import RunConfig, load_config
from engine.paths import folder_name, new_folder, project_root

__all__ = ["register"]

EVALUATION_FILES = ("evaluation.html", "evaluation.json")  # what `ml evaluate` writes

console = Stdout()
# help texts go through rich markup, where "[ml]" is a style tag that vanishes: "\\[ml]"
ml_app = typer.Typer(help="Machine-learning signals: train and evaluate the \\[ml] model.")

ConfigArg = Annotated[Path, typer.Argument(help="Run config (TOML) with an \\[ml] section.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config value: key=value (repeatable)."),
]


def _load(config: Path, overrides: list[str] | None) -> RunConfig:
    return load_config(config, overrides or [])


@ml_app.command(
    "train", help="Fit the \\[ml] model on all labelled samples and save it as a new version."
)
def train(
    config: ConfigArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Model folder (default: <project root>/models/<run name>)."),
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Fit the [ml] model on all labelled samples and save it as a new version."""
    from engine.feeds import format_timestamp
    from engine.ml.dataset import load_dataset
    from engine.ml.model import fit_pipeline
    from engine.ml.registry import save_model

    run = _load(config, overrides)
    data, ml = load_dataset(run)
    pipeline = fit_pipeline(ml.model, run.run.seed, data.x, data.y, data.weight)
    folder = out or project_root(run.base_dir) / "models" / folder_name(run.run.name)
    until = format_timestamp(int(data.ts_close[int(data.end.max())]))
    saved = save_model(
        folder, pipeline, ml, run.run.seed, (data.x, data.y, data.weight), trained_until=until
    )
    meta = json.loads((saved / "model.json").read_text())
    # markup off: a feature named rsi(timeperiod=14)[open] would lose its "[open]"
    console.print(f"saved model version {meta['version']} to {saved}", markup=False)
    console.print(
        f"{meta['samples']} samples ({data.y.mean():.1%} up), labels known until {until}; "
        f"{ml.model.kind}, features: {', '.join(ml.feature_names)}",
        markup=False,
    )
    console.print(f"model sha256 {meta['model_sha256']}", markup=False)
    console.print(f"training data sha256 {meta['training_data_sha256']}", markup=False)


@ml_app.command("evaluate")
def evaluate_command(
    config: ConfigArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder of evaluation.html/.json (default: backtests/ml/<run name>)."
        ),
    ] = None,
    overrides: SetOption = None,
) -> None:
    """Out-of-sample accuracy, precision/recall, ROC AUC, log loss, calibration, importances."""
    from engine.ml.dataset import load_dataset
    from engine.ml.evaluate import evaluate
    from engine.ml.page import render_evaluation
    from engine.report.ownership import check_output_folder, is_kestrel_json

    run = _load(config, overrides)
    folder = out or project_root(run.base_dir) / "backtests" / "ml" / folder_name(run.run.name)
    # an earlier evaluation's folder is replaced; a folder holding anything else is refused
    ours = is_kestrel_json(("folds", "calibration", "importances"))
    check_output_folder(folder, EVALUATION_FILES, "evaluation.json", ours, "--out")
    data, ml = load_dataset(run, window=False)  # every sample; each fold is capped instead
    ev = evaluate(data, ml, run.run.seed)
    majority = max(ev.base_rate, 1.0 - ev.base_rate)
    verdict = (
        f"accuracy {ev.accuracy:.1%} vs {majority:.1%} for always predicting the more "
        f"frequent label: {'an edge' if ev.accuracy > majority else 'no edge'} out of sample"
    )
    notes = [
        f"config {config}, symbol {ml.symbol or run.symbols[0]}, {ml.model.kind}, label "
        f"{ml.label.kind} (horizon {ml.label.horizon}), seed {run.run.seed}",
        verdict,
        *ev.notes,
    ]
    page = render_evaluation(ev, f"ML evaluation: {run.run.name}", notes)
    payload = {
        **ev.as_dict(),
        "folds": [vars(f) for f in ev.folds],
        "calibration": [vars(b) for b in ev.calibration],
        "importances": [{"feature": n, "mean": m, "std": s} for n, m, s in ev.importances],
        "skipped_folds": [vars(s) for s in ev.skipped],
        "notes": ev.notes,
    }
    text = json.dumps(payload, indent=2, sort_keys=True).replace("NaN", "null")
    with new_folder(folder) as written:  # a failed write leaves no folder behind
        (written / "evaluation.html").write_text(page, encoding="utf-8")
        (written / "evaluation.json").write_text(text + "\n")
    _print(ev)
    for note in ev.notes:
        console.print(f"note: {note}", markup=False)
    console.print(verdict, markup=False)
    console.print(f"wrote {written / 'evaluation.html'} and evaluation.json", markup=False)


def _print(ev: object) -> None:
    from engine.ml.evaluate import Evaluation

    assert isinstance(ev, Evaluation)
    table = Table(title=f"out of sample: {ev.method}, {len(ev.folds)} folds", min_width=48)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in ev.as_dict().items():
        if name != "method":
            table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)
    cal = Table(title="calibration")
    for column in ("P(up)", "count", "mean predicted", "observed"):
        cal.add_column(column, justify="right")
    for b in ev.calibration:
        cal.add_row(
            f"{b.low:.1f}-{b.high:.1f}",
            str(b.count),
            f"{b.mean_predicted:.3f}",
            f"{b.observed:.3f}",
        )
    console.print(cal)
    imp = Table(title="permutation importance (rise in log loss, test folds)", min_width=60)
    for column in ("feature", "mean", "std"):
        imp.add_column(column, justify="right")
    for name, mean, std in ev.importances:
        imp.add_row(Text(name), f"{mean:.5f}", f"{std:.5f}")  # Text: no markup, "[open]" stays
    console.print(imp)


def register(app: typer.Typer) -> None:
    """Add ``ml train|evaluate`` to ``app``."""
    app.add_typer(ml_app, name="ml")
