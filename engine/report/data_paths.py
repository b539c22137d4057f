"""Where a run folder's data files are now: the paths run.json and config.toml name.

In: the paths a run recorded for one input (run.json's ``source``, the config's ``path``),
the run folder and run.json. Out: the places to look, in order. run.json records each file
resolved (absolute) since the audit of the HTML reports (finding 2); an older run.json
stored a data file relative to the folder the backtest ran in, and the config's path is
relative to the config's folder. Neither folder is stored, so a relative path is tried
under the config folders run.json lets us infer (an fx, news, funding, risk-check or
strategy file recorded with both its config path and its resolved source), then under the
run folder's project root (`engine.paths.project_root`: the folder holding
``backtests/``, where a backtest usually runs), then as the working directory reads it,
then inside the run folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.paths import project_root

__all__ = ["recorded_places"]


def _config_folders(info: dict[str, Any]) -> list[Path]:
    """Return the config folders implied by run.json's entries (relative path + source)."""
    entries: list[dict[str, Any]] = []
    for key in ("fx", "news", "funding", "risk_checks"):
        entries += [item for item in info.get(key, []) if isinstance(item, dict)]
    strategy = info.get("strategy")
    if isinstance(strategy, dict):
        reference = str(strategy.get("reference", "")).split(":")[0]
        if reference.endswith(".py"):
            entries.append({"path": reference, "source": strategy.get("source")})
    folders: list[Path] = []
    for item in entries:
        written, source = item.get("path"), item.get("source")
        if not written or not source or Path(written).is_absolute():
            continue
        parts, read = Path(written).parts, Path(source)
        if read.is_absolute() and read.parts[-len(parts) :] == parts:
            folder = Path(*read.parts[: -len(parts)])
            if folder not in folders:
                folders.append(folder)
    return folders


def recorded_places(
    recorded: Iterable[str | None], folder: Path, info: dict[str, Any]
) -> list[Path]:
    """Return where the files ``recorded`` (run.json's source, the config's path) may be.

    Synthetic or in-memory sources (``<…>``) and empty ones are skipped.
    """
    given = [Path(text) for text in recorded if text and not str(text).startswith("<")]
    relative = [path for path in given if not path.is_absolute()]
    bases = [*_config_folders(info), project_root(folder.parent)] if relative else []
    places: list[Path] = []
    for path in given:
        if path.is_absolute():
            tried = [path]
        else:
            tried = [*(base / path for base in bases), path, folder / path]
        places += [place for place in tried if place not in places]
    return places
