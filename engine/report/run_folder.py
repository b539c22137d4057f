"""The run-folder protocol: a run's files appear complete or not at all, and only they go.

Writing (`prepare_output`, `start_partial`, `publish`):

1. Before the backtest, `prepare_output` checks the target: a missing folder is created
   by Kestrel; an empty folder or a previous run's folder is reused; a non-empty folder
   that is not a run is refused (``--force`` writes into it anyway, next to the user's
   files, replacing same-named ones).
2. Every file is written into ``.<run_id>.partial`` — next to a missing target (then one
   ``rename`` publishes it) or inside an existing one (then each file is moved in).
   ``.writer`` in it names the writing process (``host:pid``) for ``kestrel runs gc``.
3. `MANIFEST` is written last: the run id, the names of the files the run wrote, whether
   Kestrel created the folder, and ``"complete": true``. A folder is a complete run only
   when its manifest says so and lists files that exist; when a previous run is
   replaced, its manifest and ``run.json`` are removed first so the folder never looks
   complete while mixed. A folder that still holds ``.writer`` is never complete: a
   kill between the manifest and the rename (or between the rename and the mark's
   removal) leaves a full manifest in a folder no store row says is finished.

Reading: `check_complete` (``report``, ``runs compare``, ``runs export``) refuses a folder
without a complete manifest. Folders written before manifests existed (``run.json`` and
the standard artifact names only) are accepted as legacy runs.

The shared ``_assets/`` folder beside run folders (plotly.js for their reports,
`engine.report.assets`) is never a run: no run may be written as ``_assets``, and
deleting runs never touches it.

Cleaning up (``kestrel runs gc``): a ``.partial`` folder goes only when Kestrel wrote it
(its ``.writer`` mark, or a stored run of its id that never completed), its writer is gone
and it holds only files a run writes (`why_keep_partial`): never a folder that merely has
the name, never a user's file put inside one.

Deleting: `remove_run_files` removes the manifest's files and then the folder only if
Kestrel created it and it is empty — never a user's own files, never a folder given with
``--out`` that already existed. Names read from a manifest are checked to be plain file
names (no ``/``, no ``..``): files on disk are never trusted for paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import OutputPathError, RunLookupError
from engine.report.assets import ASSETS_DIR
from engine.report.ownership import is_kestrel_page

__all__ = [
    "LEGACY_FILES",
    "MANIFEST",
    "OutputPlan",
    "check_complete",
    "is_safe_name",
    "is_safe_run_id",
    "partial_folders",
    "prepare_output",
    "publish",
    "read_manifest",
    "remove_run_files",
    "start_partial",
    "why_keep_partial",
    "writer_alive",
]

MANIFEST = "run-manifest.json"
WRITER = ".writer"
PARTIAL_SUFFIX = ".partial"
#: The files a run wrote before manifests existed (what a legacy folder may hold).
LEGACY_FILES = frozenset(
    {
        "config.toml",
        "metrics.json",
        "trades.csv",
        "orders.csv",
        "fills.csv",
        "equity.csv",
        "events.csv",
        "run.json",
        "report.html",
    }
)
#: Every name a run writes into its partial folder (`start_partial`, the artifacts, the page).
PARTIAL_FILES = LEGACY_FILES | {MANIFEST, WRITER}
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,159}$")


def is_safe_run_id(text: object) -> bool:
    """Return True if ``text`` is a run id usable as one path component (no ``/``, ``..``)."""
    return isinstance(text, str) and bool(_RUN_ID.match(text)) and ".." not in text


def is_safe_name(text: object) -> bool:
    """Return True if ``text`` is a plain file name: one component, not hidden, no ``..``."""
    return (
        isinstance(text, str)
        and bool(text)
        and text == Path(text).name
        and not text.startswith(".")
        and "\\" not in text
        and "\x00" not in text
    )


@dataclass(frozen=True)
class OutputPlan:
    """Where a run's files go and what was there before.

    Attributes:
        folder: The run folder (``--out`` or ``backtests/<run_id>``).
        created: Kestrel creates the folder (it did not exist), so deleting the run may
            remove it once empty.
        previous_run: Id of the run whose folder this was (it gets replaced), or None.
        previous_files: Files the previous run wrote (removed before the new ones move in).
    """

    folder: Path
    created: bool
    previous_run: str | None = None
    previous_files: tuple[str, ...] = ()


def prepare_output(folder: Path, *, force: bool = False) -> OutputPlan:
    """Check that ``folder`` may receive a run's files; return the plan.

    Raises:
        OutputPathError: ``folder`` is a file, or a non-empty folder that is not a previous
            run's (unless ``force``).
    """
    if folder.name == ASSETS_DIR:  # the shared plotly.js folder next to run folders
        raise OutputPathError(
            f"--out {str(folder)!r}: {ASSETS_DIR!r} is where reports keep their shared "
            "plotly.js; give the run folder another name"
        )
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"--out {str(folder)!r} is a file, not a folder; give another path")
    if not folder.exists():
        return OutputPlan(folder, created=True)
    manifest = read_manifest(folder)
    if manifest is not None:
        return OutputPlan(
            folder,
            created=bool(manifest.get("created_folder")),
            previous_run=manifest["run_id"],
            previous_files=tuple(manifest["files"]),
        )
    entries = [p.name for p in folder.iterdir() if not _is_partial(p)]
    if not entries:
        return OutputPlan(folder, created=False)
    legacy = _legacy_run_id(folder)
    if legacy is not None and set(entries) <= LEGACY_FILES:
        return OutputPlan(folder, False, legacy, tuple(sorted(entries)))
    if force:
        return OutputPlan(folder, created=False)
    shown = ", ".join(sorted(entries)[:4]) + (" …" if len(entries) > 4 else "")
    raise OutputPathError(
        f"--out {str(folder)!r} is not empty ({shown}) and is not a previous run's folder; "
        "choose an empty or new folder, or pass --force to write the run's files into it"
    )


def start_partial(plan: OutputPlan, run_id: str) -> Path:
    """Create and return the temporary folder the run writes into (see the module doc)."""
    base = plan.folder if plan.folder.is_dir() else plan.folder.parent
    partial = base / f".{run_id}{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    (partial / WRITER).write_text(f"{socket.gethostname()}:{os.getpid()}\n")
    return partial


def publish(partial: Path, plan: OutputPlan, run_id: str) -> Path:
    """Move a finished partial folder's files to ``plan.folder``, manifest last.

    Raises:
        OutputPathError: The folder appeared meanwhile as a user's non-empty folder.
    """
    files = sorted(p.name for p in partial.iterdir() if p.is_file() and p.name != WRITER)
    if plan.created and plan.folder.exists():  # it appeared while the run was writing
        plan = prepare_output(plan.folder)
    if plan.created and not plan.folder.exists():
        (partial / MANIFEST).write_text(_manifest_text(plan, run_id, files))
        try:
            os.rename(partial, plan.folder)  # atomic: the folder appears complete
        except OSError:
            if not plan.folder.is_dir():
                raise
            # another run published there first: replace it as a previous run's folder
            (partial / MANIFEST).unlink()
            plan = prepare_output(plan.folder)
        else:
            (plan.folder / WRITER).unlink(missing_ok=True)  # kept until here for gc
            return plan.folder
    folder = plan.folder
    for name in (MANIFEST, "run.json"):  # the old run stops looking complete first
        (folder / name).unlink(missing_ok=True)
    for name in plan.previous_files:
        if is_safe_name(name) and name not in files and (folder / name).is_file():
            (folder / name).unlink()
    for name in [f for f in files if f != "run.json"] + ["run.json"] * ("run.json" in files):
        os.replace(partial / name, folder / name)
    temporary = partial / MANIFEST
    temporary.write_text(_manifest_text(plan, run_id, files))
    os.replace(temporary, folder / MANIFEST)
    shutil.rmtree(partial, ignore_errors=True)
    return folder


def _manifest_text(plan: OutputPlan, run_id: str, files: list[str]) -> str:
    manifest = {
        "complete": True,
        "created_folder": plan.created,
        "files": files,
        "kestrel_run_manifest": 1,
        "run_id": run_id,
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """Return ``folder``'s complete, well-formed manifest, or None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not (
        isinstance(manifest, dict)
        and manifest.get("complete") is True
        and is_safe_run_id(manifest.get("run_id"))
        and isinstance(manifest.get("files"), list)
        and all(is_safe_name(name) for name in manifest["files"])
    ):
        return None
    return manifest


def _legacy_run_id(folder: Path, *, strict: bool = False) -> str | None:
    """Return the id ``run.json`` names if it is safe; with ``strict``, refuse an unsafe one."""
    try:
        run_id = json.loads((folder / "run.json").read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None
    if strict and run_id is not None and not is_safe_run_id(run_id):
        raise RunLookupError(
            f"{folder}/run.json names run id {str(run_id)[:80]!r}, which is not a safe file "
            "name; refusing to use it (was the folder tampered with?)"
        )
    return run_id if is_safe_run_id(run_id) else None


def check_complete(folder: Path, run_id: str | None = None) -> tuple[str, list[str]]:
    """Return ``(run id, files)`` of the complete run in ``folder``.

    Args:
        folder: A run folder.
        run_id: The run the caller expects there (a stored run's id), or None.

    Raises:
        RunLookupError: No complete run there (still being written, interrupted, not a run
            folder), a listed file other than ``report.html`` is missing, or it holds a
            different run.
    """
    # A `.writer` mark means its writer has not finished: a new folder's partial holds
    # its manifest just before the rename that publishes it, and the mark is removed
    # after that rename; a kill in either gap leaves a manifest that says complete.
    # Nor is such a folder a legacy run before its manifest: it holds run.json and
    # config.toml, the legacy run's files, from early in the write.
    writing = (folder / WRITER).exists()
    manifest = None if writing else read_manifest(folder)
    if manifest is not None:
        found, files = str(manifest["run_id"]), list(manifest["files"])
    else:
        legacy = _legacy_run_id(folder, strict=True) if (folder / "config.toml").is_file() else None
        if legacy is None or writing or (folder / MANIFEST).exists():
            what = f"run {run_id}'s folder" if run_id else "folder"
            raise RunLookupError(
                f"{what} {str(folder)!r} holds no complete run (interrupted, still being "
                "written, moved or deleted?); `kestrel runs list --all` shows incomplete runs"
            )
        found = legacy
        files = sorted(p.name for p in folder.iterdir() if p.name in LEGACY_FILES)
    if run_id is not None and found != run_id:
        raise RunLookupError(
            f"folder {str(folder)!r} now holds run {found}, not {run_id} (its files were "
            "replaced by a later run written there)"
        )
    # report.html is a view `kestrel report` re-renders; the other files are the run.
    missing = [n for n in files if n != "report.html" and not (folder / n).is_file()]
    if missing:
        raise RunLookupError(
            f"run {found}'s folder {str(folder)!r} is missing {', '.join(missing[:3])}; "
            "restore the files or run the backtest again"
        )
    return found, files


def remove_run_files(folder: Path, run_id: str) -> list[str]:
    """Delete the files ``run_id`` wrote in ``folder``; return what was removed.

    Only files the run's manifest lists (legacy: the standard artifact names when
    ``run.json`` names this run) are removed, then the manifest, then the folder if
    Kestrel created it (manifest; legacy: it is named after the run) and it is empty.
    A folder holding another run, or no run, is left untouched.
    """
    if not folder.is_dir():
        return []
    manifest = read_manifest(folder)
    if manifest is not None:
        if manifest["run_id"] != run_id:
            return []
        names, created = list(manifest["files"]), bool(manifest.get("created_folder"))
    elif _legacy_run_id(folder) == run_id and not (folder / MANIFEST).exists():
        names = sorted(p.name for p in folder.iterdir() if p.name in LEGACY_FILES)
        created = folder.name == run_id
    else:
        return []
    # the page `kestrel report RUN` re-renders beside the run's own (never in the manifest:
    # written after it), removed when it is a Kestrel page
    rerender = folder / "report-rerender.html"
    if rerender.is_file() and is_kestrel_page(rerender):
        names.append(rerender.name)
    removed = []
    for name in [*names, MANIFEST, WRITER]:
        path = folder / name
        # WRITER is hidden, so `is_safe_name` (for names read from a manifest) refuses it;
        # it is our own constant, and a kill just after publishing leaves it inside.
        plain = is_safe_name(name) or name == WRITER
        if plain and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(name)
        elif path.is_symlink():
            path.unlink()  # the link, never its target
            removed.append(name)
    if created and not any(folder.iterdir()):
        folder.rmdir()
        removed.append(str(folder))
    return removed


def partial_folders(root: Path) -> list[Path]:
    """Return the ``.<run_id>.partial`` folders directly inside ``root``."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if _is_partial(p))


def why_keep_partial(partial: Path, stored_ids: Collection[str] = ()) -> str | None:
    """Return why ``kestrel runs gc`` must keep a ``.partial`` folder, or None to remove it.

    Kept: a folder Kestrel did not write — no ``.writer`` mark (the file `start_partial`
    writes first) and no stored run of its id in ``stored_ids``; the name alone proves
    nothing (``.my-notes.partial``) — and one holding anything a run does not write (a
    user's file, a folder, a link). An empty one is removed: nothing in it can be lost.
    Whether its writer is still alive is `writer_alive`'s question, asked separately.
    """
    mark = partial / WRITER  # empty if the writer was killed while writing it
    run_id = partial.name[1 : -len(PARTIAL_SUFFIX)]
    try:
        empty = next(partial.iterdir(), None) is None
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    # Empty: a run killed between creating it and writing the mark (`start_partial`);
    # nothing in it can be lost, and `writer_alive` still spares one younger than a minute.
    if empty:
        return None
    if not (mark.is_file() and not mark.is_symlink()) and run_id not in stored_ids:
        return "no run wrote it (no writer mark, no stored run of that id)"
    try:
        foreign = sorted(
            p.name
            for p in partial.iterdir()
            if p.name not in PARTIAL_FILES or p.is_symlink() or not p.is_file()
        )
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if foreign:
        shown = ", ".join(foreign[:3]) + (" …" if len(foreign) > 3 else "")
        return f"it holds files no run writes ({shown}); remove it yourself"
    return None


def writer_alive(partial_or_writer: Path | str | None) -> bool:
    """Return True unless the writer (``host:pid``) is known to be gone.

    A writer on another host, or one that cannot be read, counts as alive: cleaning
    up must never remove a run another machine is still writing.
    """
    if isinstance(partial_or_writer, Path):
        partial = partial_or_writer
        try:
            partial_or_writer = (partial / WRITER).read_text().strip()
        except OSError:  # not written yet (just created) or the folder is half removed
            try:
                return time.time() - partial.stat().st_mtime < 60
            except OSError:
                return False
    if not partial_or_writer:
        return False
    host, _, pid_text = str(partial_or_writer).rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_partial(path: Path) -> bool:
    name = path.name
    run_id = name[1 : -len(PARTIAL_SUFFIX)]
    return (
        name.startswith(".")
        and name.endswith(PARTIAL_SUFFIX)
        and is_safe_run_id(run_id)
        and (path.is_dir() and not path.is_symlink())
    )
