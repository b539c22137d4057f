"""``kestrel warmup``: compile, once, the numba kernels that configs' backtests use.

In: config files (default: the project's ``configs/*.toml``, the project found from the
working directory as ``runs`` does). Out: one line per config on stdout, an ``error:``
line on stderr for each config that could not run (the others still run), and the exit
code of the first error (`engine.errors.exit_code`), else 0. The work is in
`engine.runtime.warmup`; ``make demo`` runs this after its backtest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import ConfigError, exit_code
from engine.paths import project_root

__all__ = ["register", "warmup"]


def warmup(
    configs: Annotated[
        list[Path] | None,
        typer.Argument(help="Run configs (TOML); default: the project's configs/*.toml."),
    ] = None,
) -> None:
    """Compile the numba kernels the configs' backtests use (cached on disk; writes no run)."""
    from engine.runtime.warmup import shipped_configs, warm_up

    if configs:
        chosen = list(configs)
    else:
        root = project_root(Path.cwd())
        chosen = shipped_configs(root)
        if not chosen:
            raise ConfigError(f"no configs under {root / 'configs'}; name the configs to warm")
    first_error: int | None = None
    total = 0.0
    done = 0
    for warmed in warm_up(chosen):
        total += warmed.seconds
        if warmed.error is not None:
            message = str(warmed.error)  # its config named once (a config error names it)
            if not any(str(name) in message for name in (warmed.config, _shown(warmed.config))):
                message = f"{_shown(warmed.config)}: {message}"
            print(f"error: {message}", file=sys.stderr)
            first_error = first_error or exit_code(warmed.error)
            continue
        done += 1
        print(f"warm: {_shown(warmed.config)} ({warmed.seconds:.2f} s)", flush=True)
    print(f"numba cache warmed for {done} of {len(chosen)} config(s) in {total:.1f} s")
    if first_error is not None:
        raise typer.Exit(first_error)


def _shown(config: Path) -> Path:
    """Return ``config`` relative to the working directory when it is under it."""
    try:
        return config.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return config


def register(app: typer.Typer) -> None:
    """Add ``warmup`` to ``app``."""
    app.command("warmup")(warmup)
