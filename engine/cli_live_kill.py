"""``kestrel live-kill ACCOUNT``: ask a running live node to flatten and halt.

In: the account's name and its folder (``--log-dir``, else ``live/<account>`` under the
project root ``--config`` is in, or the working directory's). Out: the request ``KILL``
in that folder, and one line. The node (`engine.cli_live`) looks for the request before
every bar and every second while none comes; then it cancels its orders, sells what it
bought (`engine.runtime.live.kill`), writes the account after the sale as its last equity
row (`engine.runtime.live.checkpoint.Checkpoint.killed`), halts and exits 0.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from engine.config import load_config
from engine.errors import ConfigError
from engine.paths import account_name, project_root

__all__ = ["KILL_FILE", "live_kill"]

KILL_FILE = "KILL"


def live_kill(
    account: Annotated[str, typer.Argument(help="The live account to flatten and halt.")],
    config: Annotated[
        Path | None, typer.Option("--config", help="Its config (finds the project root).")
    ] = None,
    log_dir: Annotated[
        Path | None, typer.Option("--log-dir", help="Its folder, if the node was given one.")
    ] = None,
) -> None:
    """Ask a running live node to cancel its orders, sell its positions and halt."""
    account = account_name(account, True, "live-kill's ACCOUNT argument")
    base = load_config(config).base_dir if config is not None else "."
    folder = log_dir if log_dir is not None else project_root(base) / "live" / account
    if not (folder / "events.jsonl").exists():
        raise ConfigError(f"no live account {account!r} in {folder} (see --log-dir)")
    (folder / KILL_FILE).write_text(f"requested at {time.time()}\n", encoding="utf-8")
    print(f"kill requested for live account {account}: it flattens and halts within a second")
