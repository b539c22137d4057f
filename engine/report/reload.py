"""A run folder's bars, read again the way the run read them.

In: the run's config (config.toml as a dict), run.json and the run folder. Out: one
`BarFrame` per ``[[data]]`` bar source, read with the config's timeframe (a
``catalog://`` file's from its path), resample, window and calendar, as
`engine.runtime.inputs.load_frames` read them for the backtest (the report cannot import
the runtime, which imports the report); a file gone or unreadable becomes a note. Tick and
headline sources give no frame: the backtest's page draws bars only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import KestrelError
from engine.feeds import BarFrame, load_bars
from engine.feeds.catalog import CATALOG_SCHEME, parse_catalog_uri
from engine.report.data_paths import recorded_places
from engine.report.run_notes import benchmark_left_out

__all__ = ["reload_frames"]


def reload_frames(
    config: dict[str, Any], info: dict[str, Any], folder: Path, notes: list[str]
) -> list[BarFrame]:
    """Re-read the run's bars; a missing or unreadable file becomes a note, not an error."""
    sources = {item.get("symbol"): item.get("source") for item in info.get("data", [])}
    frames = []
    missing: list[str] = []
    for source in config.get("data", []):
        if source.get("kind", "bars") != "bars":
            # a headline file has no bars to chart; trade or quote ticks have none either,
            # and the backtest's page draws bars only (`RunOutputs.frames`): read as bars,
            # a tick file gave a false "missing column 'open'" note (audit finding 3)
            continue
        symbol = source.get("symbol", "")
        places = recorded_places([sources.get(symbol), source.get("path")], folder, info)
        path = next((p for p in places if p.is_file()), None)
        if path is None:
            missing.append(symbol)
            tried = ", ".join(str(p) for p in places[:3]) or "no path recorded"
            notes.append(
                f"{symbol}: data file not found (looked for {tried}); its price chart, "
                "fill and trade markers and MAE/MFE are left out"
            )
            continue
        try:
            frames.append(
                load_bars(  # as `engine.runtime.inputs.load_frames` read them for the run
                    path,
                    symbol=symbol,
                    timeframe=_timeframe(source),
                    resample=source.get("resample"),
                    start=source.get("start"),
                    end=source.get("end"),
                    calendar=source.get("calendar"),
                )
            )
        except KestrelError as exc:
            missing.append(symbol)
            notes.append(f"{symbol}: cannot re-read {path}: {exc}")
    if missing:
        notes.append(benchmark_left_out(missing, [frame.symbol for frame in frames]))
    return frames


def _timeframe(source: dict[str, Any]) -> str | None:
    """Return the timeframe the run read a source with: a ``catalog://`` file's is in its
    path (a sparse file would otherwise be inferred as longer bars), else the config's."""
    written = str(source.get("path", ""))
    given = source.get("timeframe")
    if given is None and written.startswith(CATALOG_SCHEME):
        return parse_catalog_uri(written)[2]
    return None if given is None else str(given)
