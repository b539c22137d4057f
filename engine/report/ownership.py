"""Never overwrite what Kestrel did not write: checks for files and folders given by a user.

In: a path a command is about to write (``report --out``, ``runs compare --html``,
``optimize --html``, ``runs export --out``, ``walkforward --out``, ``ml evaluate --out``).
Out: nothing when writing is safe; `OutputPathError` (one line, exit 2, nothing written)
when the path holds something Kestrel cannot recognise as its own.

How Kestrel recognises its own files, without a database:

* HTML pages carry `GENERATOR_META` in their ``<head>`` (`is_kestrel_page` looks in the
  first `SNIFF_BYTES`). Pages written before the mark existed are recognised by their
  ``<title>`` starting with one of Kestrel's titles (`LEGACY_TITLES`).
* Export zips hold ``<run_id>/manifest.json`` and nothing outside ``<run_id>/``.
* Output folders (`check_output_folder`): missing, empty, or holding only the names that
  command writes with its marker file recognised (``walkforward.json`` with Kestrel's
  keys, for instance). Anything else in the folder and the command refuses it.

A file Kestrel wrote may be replaced by the same command: re-rendering a report, re-running
an analysis into its folder. The run folders themselves follow `engine.report.run_folder`
(manifests).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path

from engine.errors import OutputPathError

__all__ = [
    "GENERATOR_META",
    "check_output_folder",
    "check_replaceable",
    "is_kestrel_json",
    "is_kestrel_page",
    "is_kestrel_zip",
]

GENERATOR_META = '<meta name="generator" content="Kestrel">'
SNIFF_BYTES = 4096
LEGACY_TITLES = ("<title>Kestrel", "<title>Backtest ", "<title>ML evaluation")


def is_kestrel_page(path: Path) -> bool:
    """Return whether the file at ``path`` is an HTML page Kestrel wrote."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    if not head.lstrip().lower().startswith("<!doctype html>"):
        return False
    return GENERATOR_META in head or any(title in head for title in LEGACY_TITLES)


def is_kestrel_zip(path: Path) -> bool:
    """Return whether ``path`` is a run export (``runs export``): one folder with its manifest."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    tops = {name.split("/", 1)[0] for name in names}
    return len(tops) == 1 and f"{next(iter(tops))}/manifest.json" in names


def is_kestrel_json(keys: Collection[str]) -> Callable[[Path], bool]:
    """Return a test: the file is a JSON object with every one of ``keys``."""

    def test(path: Path) -> bool:
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(found, dict) and set(keys) <= set(found)

    return test


def check_replaceable(path: Path, option: str, is_ours: Callable[[Path], bool]) -> None:
    """Refuse to write ``path`` when it exists and ``is_ours`` does not recognise it.

    Raises:
        OutputPathError: ``path`` is a folder, or a file Kestrel did not write.
    """
    if path.is_dir():
        raise OutputPathError(f"{option} {str(path)!r} is a folder; give a file name")
    if path.exists() and not is_ours(path):
        raise OutputPathError(
            f"{option} {str(path)!r} exists and was not written by Kestrel; give a new file "
            "name (nothing was overwritten)"
        )


def check_output_folder(
    folder: Path, writes: Collection[str], marker: str, is_ours: Callable[[Path], bool], option: str
) -> None:
    """Refuse a folder holding anything but a previous output of the same command.

    ``writes`` are the names the command writes into ``folder``; ``marker`` is the one of
    them that ``is_ours`` recognises.

    Raises:
        OutputPathError: ``folder`` is a file, or holds a file it did not write.
    """
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{option} {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        return
    entries = sorted(p.name for p in folder.iterdir())
    if not entries:
        return
    foreign = [name for name in entries if name not in writes]
    ours = (folder / marker).is_file() and is_ours(folder / marker)
    if foreign or not ours:
        shown = ", ".join((foreign or entries)[:4]) + (" …" if len(foreign or entries) > 4 else "")
        raise OutputPathError(
            f"{option} {str(folder)!r} holds files Kestrel did not write there ({shown}); "
            "give a new or empty folder (nothing was overwritten)"
        )
