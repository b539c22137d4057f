"""Live accounts as rows of ``kestrel runs list`` and ``runs show``, measured from the store.

In: a `RunStore`. Out: one row per live account (``live_accounts``), shaped as the decoded
``runs`` rows `RunStore.query_runs` filters and sorts (``run_id`` ``live-<account>``,
``name`` ``live:<account>``, strategy, symbols, creation time, bars, return, Sharpe, max
drawdown, trades, ``metrics`` with ``mode = "live"``, ``params``), so ``runs list`` lists,
filters and sorts live accounts beside backtests and paper accounts.

Why computed here and not a ``runs`` row the node writes (as a paper account's
`PaperSession.run_row` is): the live tables are the account's record — its fills, equity
rows and bars, appended across restarts — and a restarted node holds only its portfolio,
not the account's history, so a row it wrote would have to re-read the store on a schedule,
would lag behind it between writes, and would add metrics to the per-bar transaction the
node must keep cheap. Measured when listed, a live account is always current and costs the
node nothing; the cost is a read of each account's rows per ``runs list`` (linear in its
bars; a few live accounts at most). The metrics are those of ``kestrel live-report``
(`engine.runtime.live.report.live_report_data`, the backtest's code), with the config the
account's latest session ran with (``live_accounts.config_toml``, schema 11). An account no
session has started since the upgrade has no stored config: its row shows its bars and last
equity, the rest "—". A live account is not a run: ``runs compare/export/delete`` and
``report`` do not take it; ``kestrel live-report CONFIG --account NAME`` writes its files.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from sqlalchemy import select

from engine.config import parse_config
from engine.errors import KestrelError, RunLookupError
from engine.persistence import RunStore
from engine.persistence.schema import live_accounts, params_json
from engine.runtime.live.ledger import LiveLedger
from engine.runtime.live.report import live_report_data

__all__ = ["LIVE_PREFIX", "live_account_row", "live_account_rows"]

LIVE_PREFIX = "live-"  # a live account's id in `runs list`: live-<account>


def live_account_rows(store: RunStore) -> list[dict[str, Any]]:
    """Return every live account of ``store`` as a decoded ``runs`` row (see the module)."""
    rows = store.read(select(live_accounts).order_by(live_accounts.c.account))
    return [_row(store, stored) for stored in rows]


def live_account_row(store: RunStore, run_id: str) -> dict[str, Any]:
    """Return the row of the live account ``run_id`` names (``live-<account>``).

    Raises:
        RunLookupError: No live account of that name (the message lists the known ones).
    """
    account = run_id.removeprefix(LIVE_PREFIX)
    rows = store.read(select(live_accounts).where(live_accounts.c.account == account))
    if not rows:
        known = ", ".join(LIVE_PREFIX + name for name in LiveLedger.account_names(store))
        raise RunLookupError(
            f"no live account {account!r} in {store.display_url} (live accounts: "
            f"{known or 'none'}); see `kestrel runs list`"
        )
    return _row(store, rows[0])


def _row(store: RunStore, stored: dict[str, Any]) -> dict[str, Any]:
    account = str(stored["account"])
    ledger = LiveLedger(store, account)
    text = stored.get("config_toml")
    config = None
    if text:
        try:
            config = parse_config(tomllib.loads(text))
        except (KestrelError, tomllib.TOMLDecodeError):
            config = None  # a config this release cannot read: shown as if none were stored
    metrics: dict[str, Any] = {}
    equity = ledger.equity_rows()
    if config is not None and equity:
        data = live_report_data(config, ledger)
        data.compute()
        metrics = dict(data.metrics)
    metrics |= {"mode": "live", "account": account, "sessions": int(stored["sessions"])}
    return {
        "run_id": LIVE_PREFIX + account,
        "name": f"live:{account}",
        "strategy": config.strategy.path if config is not None else "",
        "symbols": ",".join(config.symbols) if config is not None else "",
        "created_at": str(stored["created_at"]),
        "start_ns": metrics.get("start"),
        "end_ns": metrics.get("end", equity[-1].ts_ns if equity else None),
        "bars": len(equity),
        "initial_cash": config.account.initial_cash if config is not None else None,
        "final_equity": equity[-1].equity if equity else None,
        "total_return": metrics.get("total_return"),
        "sharpe": metrics.get("sharpe"),
        "max_drawdown": metrics.get("max_drawdown"),
        "num_trades": metrics.get("num_trades"),
        "artifacts_dir": None,
        "status": "complete",
        "writer": None,
        "metrics": metrics,
        "params": json.loads(params_json(text or "")),
    }
