"""Where a config's relative paths point, whatever folder the command runs from.

A run must not depend on the working directory: ``kestrel backtest configs/x.toml`` run from
the project and ``kestrel backtest /abs/project/configs/x.toml`` run from ``/tmp`` read the
same files and write to the same places. Two folders anchor everything:

* the **config folder**: the folder of the TOML file (the working directory for a config
  built in Python with `engine.config.parse_config` and no ``base_dir``);
* the **project root**: the nearest folder at or above the config folder that holds a
  ``pyproject.toml``, a ``.git`` or a ``backtests`` folder (the shipped configs live in
  ``configs/`` and name ``data/...`` relative to the root); the config folder itself when no
  folder above it is marked.

A relative file in a config (``[[data]] path``, ``funding``, ``[[fx]] path``, a strategy's
``file.py``) is looked up beside the config first, then under the project root; the error
for a missing file names both places. The default artifacts folder (``backtests/<run_id>``)
and the default SQLite store (``backtests/kestrel.db``) are under the project root.
Explicit ``--out`` and ``--db`` values are the user's own words: they stay relative to the
working directory, as every command-line path does.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import ConfigError

__all__ = [
    "PROJECT_MARKERS",
    "account_name",
    "candidates",
    "find_relative",
    "folder_name",
    "nearby_hint",
    "new_folder",
    "places_text",
    "project_root",
]

PROJECT_MARKERS = ("pyproject.toml", ".git", "backtests")
# a paper or live account is a folder under paper/ or live/: one plain path component
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def account_name(name: str, given: bool, source: str = "--account") -> str:
    """Return ``name`` if it can name a paper or live account, else raise `ConfigError`.

    An account is a folder (``paper/<account>``, ``live/<account>``) and a key in the run
    store, so its name is one path component: letters, digits, ``_``, ``.`` and ``-``,
    starting with a letter or digit, no ``..`` (``../x`` would write outside the project's
    folders). ``given``: the name came from ``source`` (``--account``, or ``live-kill``'s
    argument), else from ``[run] name``; the message names where it came from.
    """
    if _ACCOUNT.match(name) and ".." not in name:
        return name
    where = source if given else "[run] name (or give --account)"
    hint = ""
    if given and name.endswith(".toml"):  # `live-kill configs/x.toml`: a config, not a name
        hint = (
            f"; that is a config file: give the account's name (its [run] name or --account), "
            f"e.g. {Path(name).stem!r}, and the config with --config"
        )
    raise ConfigError(
        f"account name {name!r} from {where}: use letters, digits, '_', '.' and '-', "
        f"starting with a letter or digit (it names a folder){hint}"
    )


def folder_name(name: str) -> str:
    """Return ``name`` as one safe folder name: ``"BTC/USDT 1h"`` → ``"BTC-USDT-1h"``.

    Runs of characters other than letters, digits, ``_``, ``.`` and ``-`` become ``-``
    (as in a backtest's run id, `engine.runtime.runs.new_run_id`), then leading and
    trailing ``-`` and ``.`` go, so no ``..`` or ``/`` can lead out of the folder it is
    joined to (``../../x`` → ``x``); at most 60 characters; ``"run"`` when nothing is left.
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:60] or "run"


@contextmanager
def new_folder(path: str | Path, exist_ok: bool = True) -> Iterator[Path]:
    """Create ``path`` and its missing parents; remove what was created if the block fails.

    Yields the folder with ``..`` resolved lexically (write there). A command that fails
    after making its output folder leaves nothing behind: the topmost folder this call
    created goes, with what the block wrote into it. A folder that existed before stays
    (with ``exist_ok=False`` its existing is an error).
    """
    folder = Path(os.path.normpath(path))  # x/../y is y: never make x on the way
    top = None
    for place in (folder, *folder.parents):
        if place.exists():
            break
        top = place
    folder.mkdir(parents=True, exist_ok=exist_ok)
    try:
        yield folder
    except BaseException:
        if top is not None:
            shutil.rmtree(top, ignore_errors=True)
        raise


def project_root(config_dir: str | Path) -> Path:
    """Return the nearest folder at or above ``config_dir`` holding a project marker.

    Args:
        config_dir: The config file's folder (relative to the working directory or absolute).

    Returns:
        An absolute path: the marked folder, else ``config_dir`` itself.
    """
    start = Path(config_dir).resolve()
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return start


def candidates(path: str | Path, config_dir: str | Path) -> list[Path]:
    """Return the places a config's ``path`` may name, in lookup order (no duplicates).

    An absolute path is only itself; a relative one is beside the config, then under the
    project root.
    """
    given = Path(path).expanduser()
    if given.is_absolute():
        return [given]
    beside = Path(config_dir) / given
    under_root = project_root(config_dir) / given
    if under_root.resolve() == beside.resolve():
        return [beside]
    return [beside, under_root]


def find_relative(path: str | Path, config_dir: str | Path) -> tuple[Path | None, list[Path]]:
    """Return ``(the first existing candidate or None, every candidate tried)``."""
    tried = candidates(path, config_dir)
    found = next((place for place in tried if place.exists()), None)
    return found, tried


def places_text(tried: list[Path]) -> str:
    """Return ``"A does not exist"`` or ``"neither A nor B exists"`` for an error message."""
    if len(tried) == 1:
        return f"{tried[0]} does not exist"
    return "neither " + " nor ".join(str(place) for place in tried) + " exists"


def nearby_hint(tried: list[Path]) -> str:
    """Return ``" (did you mean '<folder>/GOOG.csv'?)"`` for a file beside a place tried.

    Only a close match to the file name is offered (a typo); "" when there is none.
    """
    for place in tried:
        folder = place.parent
        if folder.is_dir():
            names = [entry.name for entry in folder.iterdir() if entry.is_file()]
            close = difflib.get_close_matches(place.name, names, n=1, cutoff=0.6)
            if close:
                return f" (did you mean '{folder / close[0]}'?)"
    return ""


def file_problem(given: str | Path, what: str) -> str | None:
    """Return why ``given`` names no file, as a message starting with ``what``; None if it does.

    Three answers, each saying what the name is: ``"<what>: the path is empty; …"`` (no name,
    not the current folder it would resolve to), ``"<what> 'x' is a folder, not a file; …"``
    and ``"<what> 'x' does not exist"`` with a "did you mean" for a close file name.
    """
    text = str(given)
    if not text.strip():
        return f"{what}: the path is empty; give the path of a file"
    path = Path(text)
    if path.is_dir():
        return f"{what} {text!r} is a folder, not a file; give the path of a file in it"
    if not path.is_file():
        return f"{what} {text!r} does not exist{nearby_hint([path])}"
    return None
