"""Export a run as one zip: its artifacts, its config and the hashes of its data.

In: a complete run folder (`engine.report.run_folder.check_complete`). Out:
``<run_id>.zip`` holding the files the run wrote (its manifest's list; never other files a
user keeps in an ``--out`` folder) under ``<run_id>/``, plus ``<run_id>/manifest.json``:
the sha256 of every file in the zip and of every data file the config reads, and how to
reproduce the run. With ``include_data`` the data files go in too (under
``<run_id>/data/``) with ``reproduce.toml``, the run's config pointing at them, so
``kestrel backtest <run_id>/reproduce.toml`` re-runs it from the unzipped folder alone
(the runtime resolves data paths next to the config file). Headline files
(``[[data]] kind = "news"``, listed in run.json under ``news``), ``[[fx]]`` rate files and
``[[data]] funding`` files (run.json ``fx``, ``funding``) are data files too; two files of
one name are zipped as two (``X.csv``, ``X-2.csv``). ``[[risk.checks]]`` plugins given as
files (run.json ``risk_checks``) go in under ``<run_id>/checks/``, re-pointed likewise. A
run whose strategy reads files of its own (run.json ``strategy_files``: a saved model, a
training file) is refused with ``include_data``: the strategy's own parameters name them,
and the export cannot re-point those.

``report.html`` goes in with plotly.js embedded (a run's page loads the copy shared in
``<runs>/_assets/``, which is outside the run folder; `engine.report.assets`), so the
unzipped page draws its charts on its own; its sha256 in the manifest is of the page as
zipped.

The run id names the zip and prefixes its entries, so it is only taken from a manifest or
``run.json`` when it is a safe path component (`is_safe_run_id`: no ``/``, ``\\``, ``..``);
a hostile id is refused, never used to build a path.

The strategy's source file (the module file run.json names under ``strategy``; its
sha256 is part of the run's inputs hash) goes in as ``<run_id>/strategy/<file>.py`` when it
is still the file that ran (same sha256), and ``reproduce.toml`` names it as a file plugin
(``"strategy/<file>.py:Class"``). With ``include_data`` a strategy file that is missing or
was edited since the run is an error (the zip would not reproduce the run); without it,
the manifest says so and the file is left out. A strategy module that imports sibling
modules of its own needs them on the Python path when re-run (only its file is exported).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import tomli_w

from engine.errors import DataError, InternalError, PluginError
from engine.report.assets import embed_shared_plotly
from engine.report.data import file_sha256
from engine.report.data_paths import recorded_places
from engine.report.ownership import check_replaceable, is_kestrel_zip
from engine.report.run_folder import check_complete, is_safe_name, is_safe_run_id

__all__ = ["export_run"]


# Where a file input is named in the config: (table, index, key), e.g. ("fx", 0, "path").
_Key = tuple[str, int, str]


def _data_files(folder: Path, config: dict[str, Any]) -> list[tuple[dict[str, Any], _Key]]:
    """Return the manifest's ``data`` entries, each with where the config names its file.

    Bars and headline files (``[[data]] path``), funding files (``[[data]] funding``) and
    ``[[fx]]`` rate files; each read from where run.json says the run read it, else from
    the config's path as written.
    """
    info_path = folder / "run.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    sources = {item.get("symbol"): item.get("source") for item in info.get("data", [])}
    # headline files ([[data]] kind = "news") are listed by their config path
    headlines = {item.get("path"): item.get("source") for item in info.get("news", [])}
    funding = {item.get("symbol"): item.get("source") for item in info.get("funding", [])}
    fx_read = [item.get("source") for item in info.get("fx", [])]  # in config order
    found = []

    def add(label: str, written: str, candidates: list[Any], key: _Key) -> None:
        places = recorded_places(candidates, folder, info)
        path = next((place for place in places if place.is_file()), None)
        entry = {
            "symbol": label,
            "config_path": written,
            "read_from": str(path) if path else None,
            "sha256": file_sha256(path) if path else None,
        }
        found.append((entry, key))

    for index, source in enumerate(config.get("data", [])):
        symbol = source.get("symbol", "")
        written = source.get("path", "")
        if source.get("kind") == "news":  # what the manifest and errors show
            add(
                f"news {written}",
                written,
                [headlines.get(written), written],
                ("data", index, "path"),
            )
        else:
            add(symbol, written, [sources.get(symbol), written], ("data", index, "path"))
        if source.get("funding"):
            rates = source["funding"]
            add(
                f"funding {symbol}", rates, [funding.get(symbol), rates], ("data", index, "funding")
            )
    for index, item in enumerate(config.get("fx", [])):
        read = fx_read[index] if index < len(fx_read) else None
        written = item.get("path", "")
        add(f"fx {item.get('currency', '')}", written, [read, written], ("fx", index, "path"))
    return found


class _Members:
    """Zip entry names under one folder of the zip, unique per file read."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.by_name: dict[str, Path] = {}

    def name_for(self, path: Path) -> str:
        """Return ``<prefix>/<file name>`` for ``path`` (``X-2.csv`` when ``X.csv`` is taken).

        Raises:
            DataError: The file's name is not a plain file name.
        """
        base = path.name
        if not is_safe_name(base):
            raise DataError(
                f"data file {str(path)!r} has no usable file name; rename it "
                "or export without --include-data"
            )
        stem, dot, suffix = base.partition(".")
        name, number = base, 1
        while name in self.by_name and self.by_name[name] != path.resolve():
            number += 1  # two files of one name (a/X.csv, b/X.csv) stay two files
            name = f"{stem}-{number}{dot}{suffix}"
        self.by_name[name] = path.resolve()
        return f"{self.prefix}/{name}"


def _strategy_file(info: dict[str, Any]) -> dict[str, Any] | None:
    """Return the run's strategy source entry for the manifest (None: run.json has none)."""
    entry = info.get("strategy") or {}
    source = entry.get("source")
    if not source:
        return None
    path = Path(source)
    now = file_sha256(path) if path.is_file() else None
    return {
        "class": entry.get("class", ""),
        "source": source,
        "sha256": entry.get("sha256"),
        "unchanged": now is not None and now == entry.get("sha256"),
    }


def _check_file(info: dict[str, Any], written: str) -> Path | None:
    """Return the file of the ``[[risk.checks]]`` plugin written as ``written`` (None: a module).

    Raises:
        PluginError: The file is missing or was edited since the run.
    """
    entry = next((e for e in info.get("risk_checks", []) if e.get("path") == written), None)
    if entry is None:
        return None
    path = Path(entry["source"])
    if not path.is_file() or file_sha256(path) != entry.get("sha256"):
        raise PluginError(
            f"cannot include the risk check {written!r}: {path} is missing or was edited "
            f"since the run (its sha256 then: {entry.get('sha256')}); restore that file or "
            "run the backtest again"
        )
    return path


def export_run(folder: Path, target: Path | None = None, *, include_data: bool = False) -> Path:
    """Write the run's zip and return its path (default ``<folder>/../<run_id>.zip``).

    Raises:
        RunLookupError: ``folder`` holds no complete run (`check_complete`).
        DataError: A data file to include is missing or has no usable name.
        PluginError: The strategy file to include is missing or was edited since the run.
        InternalError: A check above let through an unsafe run id or zip entry (a bug).
    """
    run_id, files = check_complete(folder)
    if not is_safe_run_id(run_id):  # check_complete only returns safe ids; kept explicit
        raise InternalError(f"{folder}: run id {run_id!r} is not a safe file name")
    with (folder / "config.toml").open("rb") as handle:
        config = tomllib.load(handle)
    info_path = folder / "run.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    target = target if target is not None else folder.parent / f"{run_id}.zip"
    check_replaceable(target, "export", is_kestrel_zip)  # an earlier export is replaced
    data = _data_files(folder, config)
    resolved_target = target.resolve()
    members: dict[str, Path] = {
        f"{run_id}/{name}": folder / name
        for name in sorted(files)
        if (folder / name).is_file() and (folder / name).resolve() != resolved_target
    }
    rewritten_files: dict[str, bytes] = {}  # members whose zipped bytes differ from the file
    page = f"{run_id}/report.html"
    if page in members:
        embedded = embed_shared_plotly(members[page].read_text(encoding="utf-8"), folder)
        if embedded is not None:
            rewritten_files[page] = embedded.encode("utf-8")
    extra: dict[str, str] = {}
    reproduce = f"kestrel backtest {run_id}/config.toml  (data files at the paths listed)"
    strategy = _strategy_file(info)
    strategy_member = ""
    if strategy is not None and strategy["unchanged"]:
        strategy_member = f"strategy/{Path(strategy['source']).name}"
        members[f"{run_id}/{strategy_member}"] = Path(strategy["source"])
    if include_data:
        missing = [d["symbol"] for d, _ in data if d["read_from"] is None]
        if missing:
            raise DataError(
                f"cannot include data for {', '.join(missing)}: file not found; restore it "
                "or export without --include-data"
            )
        if strategy is not None and not strategy_member:
            raise PluginError(
                f"cannot include the strategy: {strategy['source']} is missing or was edited "
                f"since the run (its sha256 then: {strategy['sha256']}); restore that file or "
                "run the backtest again"
            )
        own = info.get("strategy_files") or {}
        if own:  # named by the strategy's own parameters, which reproduce.toml cannot re-point
            named = ", ".join(f"{name}: {entry.get('source')}" for name, entry in own.items())
            raise DataError(
                f"cannot include the files the strategy reads of its own ({named}); export "
                "without --include-data (run.json keeps their sha256): reproduce.toml cannot "
                "re-point a strategy's parameters at copies"
            )
        rewritten = json.loads(json.dumps(config))
        if strategy is not None and strategy_member:
            class_name = str(strategy["class"]).rpartition(":")[2]
            rewritten.setdefault("strategy", {})["path"] = f"{strategy_member}:{class_name}"
        files_in = _Members("data")
        for item, (table, index, key) in data:
            name = files_in.name_for(Path(item["read_from"]))
            members[f"{run_id}/{name}"] = Path(item["read_from"])
            rewritten[table][index][key] = name
        checks_in = _Members("checks")
        for check in rewritten.get("risk", {}).get("checks", []):
            source = _check_file(info, check.get("path", ""))
            if source is not None:
                name = checks_in.name_for(source)
                members[f"{run_id}/{name}"] = source
                check["path"] = f"{name}:{str(check['path']).rpartition(':')[2]}"
        extra[f"{run_id}/reproduce.toml"] = tomli_w.dumps(rewritten)
        reproduce = f"kestrel backtest {run_id}/reproduce.toml"
    manifest = {
        "run_id": run_id,
        "reproduce": reproduce,
        "data": [entry for entry, _ in data],
        "strategy": strategy,
        "files": {
            name: (
                hashlib.sha256(rewritten_files[name]).hexdigest()
                if name in rewritten_files
                else file_sha256(path)
            )
            for name, path in members.items()
        },
    }
    for name in [*members, *extra]:  # every entry stays inside <run_id>/ when unzipped
        parts = name.split("/")
        if parts[0] != run_id or any(part in {"", ".", ".."} for part in parts):
            raise InternalError(f"refusing to write zip entry {name!r}: not inside {run_id}/")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed when whole: a killed export leaves no zip that
    # looks complete (a hidden .partial file at worst).
    partial = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, path in members.items():
                if name in rewritten_files:  # the file's own date, as archive.write keeps
                    info = zipfile.ZipInfo.from_file(path, name)
                    archive.writestr(info, rewritten_files[name], zipfile.ZIP_DEFLATED)
                else:
                    archive.write(path, name)
            for name, text in extra.items():
                archive.writestr(name, text)
            archive.writestr(f"{run_id}/manifest.json", json.dumps(manifest, indent=2) + "\n")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
