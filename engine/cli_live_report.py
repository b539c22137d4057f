"""``kestrel live-report``: a live account's equity curve, metrics and report page.

In: the account's config (the one ``kestrel live`` runs: its ``[account] initial_cash`` is
the curve's starting value), ``--account`` (default: the run name), the run store
(``--db``, else ``$KESTREL_DB_URL``, else the project's, as for ``kestrel live``). Out:
``equity.csv``, ``trades.csv``, ``metrics.json`` and ``report.html`` in ``--out`` (default
``live/<account>/report/`` under the project root), built from the stored rows of every
session — the curve (``live_equity``), round trips rebuilt from the node's fills
(``live_fills``) with the backtest's trade builder, price charts and buy & hold from the
bars the node handled (``live_bars``): `engine.runtime.live.report` —, and one line naming
the page. It only reads the store, so it can run beside a running node; run it again for a
fresh page. Same rows, same bytes (the page's creation time aside). A live account is not a
run: ``kestrel report`` does not take it; ``kestrel runs list`` lists it and ``kestrel runs
show live-<account>`` summarizes it (`engine.runtime.live.accounts`). An unknown account or
one without an equity row is one error line (exit 2).

The files are written into a hidden ``.<folder>.partial-<pid>`` beside ``--out`` and moved
in once all are written (`_write_then_move`): a step that fails (a full disk, a bug) leaves
the previous report as it was and no half-written folder, nor the parent folders it made.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from engine.cli_live import AccountOption, StoreOption, account_folder, store_url
from engine.cli_report_options import (
    BenchmarkOption,
    OpenOption,
    RiskFreeRateOption,
    SelfContainedOption,
    load_benchmark,
    open_page,
)
from engine.config import load_config
from engine.errors import StoreOpenError
from engine.paths import account_name

__all__ = ["live_report", "register"]


def live_report(
    config: Annotated[Path, typer.Argument(help="The live account's run config (TOML).")],
    account: AccountOption = None,
    db: StoreOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: <root>/live/<account>/report)."),
    ] = None,
    benchmark: BenchmarkOption = None,
    risk_free_rate: RiskFreeRateOption = 0.0,
    open_browser: OpenOption = False,
    self_contained: SelfContainedOption = False,
) -> None:
    """Write a live account's equity.csv, trades.csv, metrics.json and report.html."""
    from engine.persistence import RunStore
    from engine.persistence.store import sqlite_file
    from engine.report.assets import ASSETS_DIR, INLINE
    from engine.report.ownership import check_output_folder, is_kestrel_page
    from engine.report.series import bar_benchmark
    from engine.runtime.live import LiveLedger
    from engine.runtime.live.report import (
        LIVE_REPORT_FILES,
        check_account_config,
        write_live_report,
    )

    run_config = load_config(config)
    name = account_name(
        account if account is not None else run_config.run.name, account is not None
    )
    folder = out if out is not None else account_folder(run_config, name) / "report"
    writes = {*LIVE_REPORT_FILES, ASSETS_DIR}
    check_output_folder(folder, writes, "report.html", is_kestrel_page, "--out")
    bench = load_benchmark(benchmark)
    url = store_url(run_config, db)
    stored = sqlite_file(url)
    if stored is not None and not stored.is_file():  # a report never creates a store
        raise StoreOpenError(f"no run store at {stored}: the account has never run there")
    ledger = LiveLedger(RunStore(url), name)
    check_account_config(run_config, ledger)
    page = _write_then_move(
        folder,
        lambda partial: write_live_report(
            run_config,
            ledger,
            partial,
            benchmark=bar_benchmark(bench) if bench is not None else None,
            benchmark_label=benchmark.stem if benchmark is not None else None,
            risk_free_rate=risk_free_rate,
            plotly=INLINE if self_contained else None,
        ),
    )
    print(f"live report of account {name}: {page}", flush=True)
    if open_browser:
        open_page(page)


def _write_then_move(folder: Path, write: Callable[[Path], Path]) -> Path:
    """Call ``write(partial)`` on a new hidden folder beside ``folder``, then move its files in.

    The page links plotly.js as ``_assets/<file>`` beside itself, so the partial folder's
    ``_assets`` moves in with it (its files join those already there). On any failure the
    partial folder and the (empty) parent folders made for it are removed; ``folder`` keeps
    what it held. Returns the page's path in ``folder``.
    """
    final = folder.resolve()  # "." or "..": a name and a parent the partial can sit in
    made = [p for p in (final, *final.parents) if not p.exists()]
    partial = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)  # left by a killed run of this process id
    try:
        partial.mkdir(parents=True)
        page = write(partial)
        if not final.exists():
            os.rename(partial, final)  # atomic: the folder appears whole
        else:
            for path in sorted(partial.rglob("*")):
                if path.is_file():
                    target = final / path.relative_to(partial)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)
            shutil.rmtree(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        for parent in made[1:]:  # the folders made above ``folder``, innermost first
            try:
                parent.rmdir()
            except OSError:  # not empty (someone else's files) or gone: leave it
                break
        raise
    return folder / page.relative_to(partial)


def register(app: typer.Typer) -> None:
    """Add ``live-report`` to ``app`` (called from `engine.cli`)."""
    app.command("live-report")(live_report)
