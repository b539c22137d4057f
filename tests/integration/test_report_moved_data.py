"""A run's data files are found again from wherever the report is rendered.

Audit of the HTML reports, finding 2: ``cd src; kestrel backtest edge/goog_local.toml``
(the data beside the config) stored run.json ``"source": "edge/GOOG_local.csv"``, relative
to where the backtest ran (the strategy and the fx, news and funding files were absolute),
so ``kestrel report <id>`` from ``backtests/`` noted "data file not found" and left out the
price chart, the buy & hold line, every benchmark figure (unmentioned) and the provenance
hash, and ``runs export --include-data`` failed. Now the source is stored resolved; an
older run.json's relative source is looked up under the run's config folder and project
root; a file that is gone is a note naming all that is left out.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner

CONFIG = """
[run]
name = "goog_local"
[[data]]
path = "GOOG_local.csv"
symbol = "GOOG"
[strategy]
path = "strategies.sma_cross:SmaCross"
params = { fast = 10, slow = 30 }
"""


@pytest.fixture
def project_run(kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Back-test a config whose data lies beside it, from the project's root."""
    project = tmp_path / "src"
    (project / "edge").mkdir(parents=True)
    (project / "backtests").mkdir()
    (project / "edge" / "goog_local.toml").write_text(CONFIG)
    shutil.copy(REPO / "data" / "GOOG.csv", project / "edge" / "GOOG_local.csv")
    monkeypatch.chdir(project)
    run = project / "backtests" / "run1"
    done = kestrel("backtest", "edge/goog_local.toml", "--no-db", "--out", "backtests/run1")
    assert done.code == 0, done.err
    monkeypatch.chdir(project / "backtests")
    return run


def _notes(page: Path) -> str:
    return page.read_text()


def test_run_json_records_the_data_file_resolved(project_run: Path) -> None:
    info = json.loads((project_run / "run.json").read_text())
    source = Path(info["data"][0]["source"])
    assert source.is_absolute()
    assert source == (project_run.parent.parent / "edge" / "GOOG_local.csv").resolve()


def test_a_report_from_another_folder_reads_the_data(
    kestrel: CliRunner, project_run: Path, tmp_path: Path
) -> None:
    page = tmp_path / "page.html"
    result = kestrel("report", "run1", "--out", str(page), "--db", f"sqlite:///{tmp_path / 'k.db'}")
    assert result.code == 0, result.err
    assert "data file not found" not in page.read_text()


def test_an_older_relative_source_is_found_under_the_project_root(
    kestrel: CliRunner, project_run: Path, tmp_path: Path
) -> None:
    info_path = project_run / "run.json"
    info = json.loads(info_path.read_text())
    info["data"][0]["source"] = "edge/GOOG_local.csv"  # as the backtest used to store it
    info_path.write_text(json.dumps(info))
    page = tmp_path / "page.html"
    result = kestrel("report", "run1", "--out", str(page), "--db", f"sqlite:///{tmp_path / 'k.db'}")
    assert result.code == 0, result.err
    assert "data file not found" not in page.read_text()
    target = tmp_path / "run1.zip"
    exported = kestrel(
        "runs", "export", "run1", "--out", str(target), "--include-data",
        "--db", f"sqlite:///{tmp_path / 'k.db'}",
    )  # fmt: skip
    assert exported.code == 0, exported.err
    names = zipfile.ZipFile(target).namelist()
    assert any(name.endswith("data/GOOG_local.csv") for name in names), names


def test_a_missing_data_file_note_names_the_benchmark_figures(
    kestrel: CliRunner, project_run: Path, tmp_path: Path
) -> None:
    (project_run.parent.parent / "edge" / "GOOG_local.csv").unlink()
    page = tmp_path / "page.html"
    result = kestrel("report", "run1", "--out", str(page), "--db", f"sqlite:///{tmp_path / 'k.db'}")
    assert result.code == 0, result.err
    text = page.read_text()
    assert "GOOG: data file not found" in text
    assert "the benchmark figures (benchmark return and CAGR, alpha, beta" in text
