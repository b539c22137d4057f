"""Reports share one copy of plotly.js (``<runs>/_assets/``); ``--self-contained`` embeds it.

The rule and its reasons are in `engine.report.assets`. The pages are drawn in a real
browser by tests/integration/test_report_browser.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest

import engine.report.assets as assets
import engine.report.html as report_html
from engine.errors import OutputPathError
from engine.report.assets import INLINE, PlotlyLink, asset_name, plotly_js
from engine.report.compare import render_compare, run_series_from_dir
from engine.report.export import export_run
from engine.report.html import render_report
from engine.report.run_folder import prepare_output
from engine.runtime import finish_run
from engine.runtime.backtest import BacktestResult
from tests.unit.report.test_html_report import EDGE_CASES, scripted_run

SHARED_SRC = re.compile(r'<script src="([^"]+)"></script>')
# the first line of plotly.min.js's own source after its licence comment
PLOTLY_SOURCE_MARK = "plotly.js v"


def installed() -> str:
    js = plotly_js()
    if js is None:
        pytest.skip("the plotly package is not installed")
    return js


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BacktestResult:
    return scripted_run(tmp_path_factory.mktemp("strategy"), "one", EDGE_CASES["one"])


def test_a_run_page_refers_to_the_shared_copy_and_a_self_contained_one_embeds_it(
    tmp_path: Path, result: BacktestResult
) -> None:
    js = installed()
    name = asset_name(js)
    assert re.fullmatch(r"plotly-\d+\.\d+\.\d+-[0-9a-f]{12}\.min\.js", name)
    assert name.endswith(f"-{hashlib.sha256(js.encode()).hexdigest()[:12]}.min.js")
    _, shared = finish_run(result, out_dir=tmp_path / "runs" / "a", store=None)
    _, alone = finish_run(result, out_dir=tmp_path / "runs" / "b", store=None, plotly=INLINE)
    page = (shared / "report.html").read_text()
    assert SHARED_SRC.findall(page) == [f"../_assets/{name}"]
    assert PLOTLY_SOURCE_MARK not in page
    assert (tmp_path / "runs" / "_assets" / name).read_bytes() == js.encode()
    full = (alone / "report.html").read_text()
    assert PLOTLY_SOURCE_MARK in full
    assert "_assets" not in full
    # the difference is plotly.js itself: the shared page is under 5 % of the embedded one
    assert len(full) - len(page) >= len(js) - 100  # minus the script tags' lengths
    assert len(page) < len(full) / 20
    # the asset is not one of the run's files: its manifest lists what it wrote
    manifest = json.loads((shared / "run-manifest.json").read_text())
    assert "_assets" not in " ".join(manifest["files"])
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["_assets", "a", "b"]


def test_three_runs_write_the_asset_once(tmp_path: Path, result: BacktestResult) -> None:
    name = asset_name(installed())
    runs = tmp_path / "runs"
    finish_run(result, out_dir=runs / "first", store=None)
    asset = runs / "_assets" / name
    before = asset.stat()
    pages = []
    for folder in ("second", "third"):
        _, written = finish_run(result, out_dir=runs / folder, store=None)
        pages.append((written / "report.html").read_text())
    after = asset.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in (runs / "_assets").iterdir()] == [name]  # no temporary left
    assert SHARED_SRC.findall(pages[0]) == SHARED_SRC.findall(pages[1])


def test_a_damaged_copy_is_rewritten_and_two_versions_coexist(
    tmp_path: Path, result: BacktestResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    js = installed()
    runs = tmp_path / "runs"
    finish_run(result, out_dir=runs / "a", store=None)
    asset = runs / "_assets" / asset_name(js)
    asset.write_bytes(js.encode()[:1000])  # a truncated copy under the right name
    finish_run(result, out_dir=runs / "b", store=None)
    assert asset.read_bytes() == js.encode()

    other = "/**\n* plotly.js v9.8.7\n*/\nwindow.Plotly={newPlot:function(){}};\n"
    monkeypatch.setattr(report_html, "plotly_js", lambda: other)
    _, folder = finish_run(result, out_dir=runs / "c", store=None)
    assert SHARED_SRC.findall((folder / "report.html").read_text()) == [
        f"../_assets/{asset_name(other)}"
    ]
    assert asset_name(other).startswith("plotly-9.8.7-")
    assert sorted(p.name for p in (runs / "_assets").iterdir()) == sorted(
        [asset_name(js), asset_name(other)]
    )


def test_the_link_follows_where_the_page_is(tmp_path: Path, result: BacktestResult) -> None:
    name = asset_name(installed())
    _, folder = finish_run(result, out_dir=tmp_path / "runs" / "a", store=None)
    # a second run into the same folder is written in a .partial folder inside it: the
    # link is made for where the page ends up, not where it was written
    _, same = finish_run(result, out_dir=folder, store=None)
    assert same == folder
    assert SHARED_SRC.findall((folder / "report.html").read_text()) == [f"../_assets/{name}"]
    assert not (folder / "_assets").exists()
    again = render_report(folder)  # `kestrel report RUN`: in the run folder
    assert SHARED_SRC.findall(again.read_text()) == [f"../_assets/{name}"]
    elsewhere = render_report(folder, tmp_path / "pages" / "a.html")  # --out FILE elsewhere
    assert SHARED_SRC.findall(elsewhere.read_text()) == [f"_assets/{name}"]
    assert (tmp_path / "pages" / "_assets" / name).is_file()
    from_result = render_report(result, tmp_path / "nb" / "r.html")  # result.report(FILE)
    assert SHARED_SRC.findall(from_result.read_text()) == [f"_assets/{name}"]
    assert (tmp_path / "nb" / "_assets" / name).is_file()
    # a relative run folder: the link is made from its absolute path
    link = PlotlyLink.for_run(Path("."))
    assert link.folder == Path.cwd().parent / "_assets"
    assert link.href == "../_assets"


def test_a_copy_that_cannot_be_written_is_embedded(
    tmp_path: Path, result: BacktestResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed()

    def refuse(folder: Path, name: str, data: bytes) -> bool:
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(assets, "write_asset", refuse)
    _, folder = finish_run(result, out_dir=tmp_path / "runs" / "a", store=None)
    page = (folder / "report.html").read_text()
    assert PLOTLY_SOURCE_MARK in page
    assert "_assets" not in page
    assert not (tmp_path / "runs" / "_assets").exists()


def test_the_comparison_page_shares_or_embeds(tmp_path: Path, result: BacktestResult) -> None:
    name = asset_name(installed())
    folders = [finish_run(result, out_dir=tmp_path / "runs" / n, store=None)[1] for n in ("a", "b")]
    series = [run_series_from_dir(f) for f in folders]
    shared = render_compare(series, tmp_path / "runs" / "compare.html").read_text()
    assert SHARED_SRC.findall(shared) == [f"_assets/{name}"]
    alone = render_compare(series, tmp_path / "c.html", INLINE).read_text()
    assert PLOTLY_SOURCE_MARK in alone
    assert "_assets" not in alone


def test_an_exported_page_embeds_the_library_it_used(
    tmp_path: Path, result: BacktestResult
) -> None:
    js = installed()
    _, folder = finish_run(result, out_dir=tmp_path / "runs" / "a", store=None)
    zipped = export_run(folder, tmp_path / "a.zip")
    with zipfile.ZipFile(zipped) as archive:
        run_id = archive.namelist()[0].split("/")[0]
        page = archive.read(f"{run_id}/report.html")
        manifest = json.loads(archive.read(f"{run_id}/manifest.json"))
    assert b"_assets" not in page
    assert f"<script>{js}</script>".encode() in page
    assert manifest["files"][f"{run_id}/report.html"] == hashlib.sha256(page).hexdigest()
    # the run folder's own page is left as it was
    assert SHARED_SRC.findall((folder / "report.html").read_text()) == [
        f"../_assets/{asset_name(js)}"
    ]


def test_export_uses_the_copy_the_page_names(tmp_path: Path, result: BacktestResult) -> None:
    js = installed()
    _, folder = finish_run(result, out_dir=tmp_path / "runs" / "a", store=None)
    shared = tmp_path / "runs" / "_assets" / asset_name(js)
    # the page names an older plotly whose copy is still there (plotly was upgraded since)
    old = "/**\n* plotly.js v1.2.3\n*/\nwindow.Plotly={newPlot:function(){}};\n"
    old_name = asset_name(old)
    (shared.parent / old_name).write_text(old)
    page = folder / "report.html"
    page.write_text(page.read_text().replace(shared.name, old_name))
    with zipfile.ZipFile(export_run(folder, tmp_path / "a.zip")) as archive:
        text = next(archive.read(n) for n in archive.namelist() if n.endswith("report.html"))
    assert f"<script>{old}</script>".encode() in text
    # its copy gone or damaged: the installed plotly.js is the best there is
    (shared.parent / old_name).write_text(old + "tampered")
    with zipfile.ZipFile(export_run(folder, tmp_path / "b.zip")) as archive:
        text = next(archive.read(n) for n in archive.namelist() if n.endswith("report.html"))
    assert f"<script>{js}</script>".encode() in text


def test_no_run_folder_may_be_named_like_the_shared_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match=r"shared plotly\.js"):
        prepare_output(tmp_path / "_assets")
