"""Where an HTML page gets plotly.js: one shared copy per runs folder, or embedded.

In: plotly.js's text (`plotly_js`, from the installed ``plotly`` package) and a
`PlotlyLink` saying where the page finds it. Out: the page's ``<script>`` element, and
the shared file written when missing or different. Used by `engine.report.html`
(``report.html``), `engine.report.compare` (``compare.html``) and `engine.report.export`
(the zip's page embeds the library it used).

plotly.js is 4.8 MB, the demo run's page 944 kB (a 1,000,000-bar run's 2.1 MB;
README's table, measured by benchmarks/report_page_sizes.py), so by default pages share one copy:
``_assets/plotly-<version>-<sha256[:12]>.min.js``. The name is content-addressed: two
plotly versions coexist, and a file is never replaced by different bytes under the same
name (a damaged copy is rewritten). It is written to a temporary file in the same folder
and renamed into place (atomic: a concurrent run or a crash never leaves a torn copy that
a page loads). The page refers to it by a relative ``<script src>``, so a folder opened
from disk (``file://``) or served over HTTP works alike, and the page's bytes do not
depend on where the project lives (reports stay byte-identical).

The rule for the folder (`PlotlyLink.for_run`, `PlotlyLink.beside`):

- a run's ``report.html`` (``kestrel backtest``, ``kestrel report RUN``): the run
  folder's parent, ``<runs>/_assets/``, reached as ``../_assets/``. Default runs share
  ``backtests/_assets/``; runs written with ``--out DIR`` share ``DIR/../_assets/``;
- any other page (``kestrel report RUN --out FILE`` outside the run folder,
  ``runs compare --html FILE``, ``result.report(FILE)``): ``_assets/`` beside the page.

`INLINE` (``--self-contained``) embeds plotly.js in the page instead: one file that
opens anywhere. A shared copy that cannot be written (a read-only parent folder) falls
back to embedding, so a report is never left without charts for that reason.
Kestrel never deletes ``_assets`` or a shared copy (``runs delete`` and ``runs gc`` leave
them): pages it does not track, such as a ``compare.html``, may refer to one. ``runs gc``
removes only temporary copies a killed writer left (`stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSETS_DIR",
    "INLINE",
    "PlotlyLink",
    "asset_name",
    "embed_shared_plotly",
    "plotly_js",
    "plotly_script",
    "stale_temporaries",
    "write_asset",
]

ASSETS_DIR = "_assets"
_VERSION = re.compile(r"plotly\.js v([0-9][0-9A-Za-z.+-]{0,40})")
# The element `plotly_script` writes for a shared copy (what `embed_shared_plotly` finds).
_TEMPORARY = re.compile(r"^\.plotly-[0-9A-Za-z.+-]+\.min\.js\.[0-9]+\.tmp$")
STALE_AFTER_S = 3600.0
"""A temporary copy this old was left by a killed writer (writing one takes milliseconds)."""
_SHARED_SCRIPT = re.compile(
    r'<script src="((?:\.\./)?' + ASSETS_DIR + r'/(plotly-[0-9A-Za-z.+-]+\.min\.js))"></script>'
)


@dataclass(frozen=True)
class PlotlyLink:
    """Where a page gets plotly.js.

    Attributes:
        folder: The shared-assets folder the file is written to; None embeds plotly.js.
        href: ``folder`` as the page's ``<script src>`` reaches it (relative, ``/``).
    """

    folder: Path | None
    href: str = ""

    @classmethod
    def for_run(cls, run_folder: Path) -> PlotlyLink:
        """Return the link of a page inside ``run_folder``: ``<parent>/_assets``."""
        return cls(run_folder.absolute().parent / ASSETS_DIR, f"../{ASSETS_DIR}")

    @classmethod
    def beside(cls, page: Path) -> PlotlyLink:
        """Return the link of a page outside run folders: ``_assets`` next to it."""
        return cls(page.absolute().parent / ASSETS_DIR, ASSETS_DIR)


INLINE = PlotlyLink(None)
"""Embed plotly.js in the page (``--self-contained``)."""


def plotly_js() -> str | None:
    """Return plotly.js (minified) from the installed ``plotly`` package, None without it."""
    spec = importlib.util.find_spec("plotly")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "package_data" / "plotly.min.js"
        if path.is_file():
            stat = path.stat()
            return _read(str(path), stat.st_mtime_ns, stat.st_size)
    return None


@functools.lru_cache(maxsize=2)
def _read(path: str, mtime_ns: int, size: int) -> str:
    # keyed on the file's stat: a process rendering many reports reads 4.8 MB once, and
    # the same str object comes back (its hash is then cached for `_encoded`)
    del mtime_ns, size
    return Path(path).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=2)
def _encoded(js: str) -> tuple[str, bytes]:
    data = js.encode("utf-8")
    return _name(data), data


def _name(data: bytes) -> str:
    found = _VERSION.search(data[:400].decode("utf-8", errors="replace"))
    version = found.group(1) if found else "unknown"
    return f"plotly-{version}-{hashlib.sha256(data).hexdigest()[:12]}.min.js"


def asset_name(js: str) -> str:
    """Return the shared file's name: ``plotly-<version>-<sha256[:12]>.min.js``."""
    return _encoded(js)[0]


def write_asset(folder: Path, name: str, data: bytes) -> bool:
    """Write ``folder/name`` unless it already holds ``data``; return True if written.

    Raises:
        OSError: The folder or file cannot be written.
    """
    path = folder / name
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True


def stale_temporaries(folder: Path, now: float) -> list[Path]:
    """Return the temporary copies in ``folder`` a killed writer left (for ``runs gc``).

    Only Kestrel's own names (``.plotly-….min.js.<pid>.tmp``), regular files, older than
    `STALE_AFTER_S`; the shared copies themselves are never returned.
    """
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if _TEMPORARY.match(path.name) and path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):  # gone meanwhile: renamed into place
                if now - path.stat().st_mtime > STALE_AFTER_S:
                    found.append(path)
    return found


def plotly_script(js: str | None, link: PlotlyLink) -> str:
    """Return the ``<script>`` element loading ``js`` per ``link`` ("" without plotly).

    A shared copy is written first (`write_asset`); if it cannot be, ``js`` is embedded.
    """
    if js is None:
        return ""
    if link.folder is not None:
        name, data = _encoded(js)
        try:
            write_asset(link.folder, name, data)
        except OSError:
            pass  # embedded below: the page still draws its charts
        else:
            return f'<script src="{html.escape(f"{link.href}/{name}")}"></script>'
    return f"<script>{js}</script>"


def embed_shared_plotly(page: str, page_folder: Path) -> str | None:
    """Return ``page`` with its shared plotly.js embedded, None if it has no such link.

    The file the link names is used when it is there and intact (its content hash
    matches its name); otherwise the installed plotly.js. With neither, the page is
    returned as it is (its charts need the shared file).
    """
    found = _SHARED_SCRIPT.search(page)
    if found is None:
        return None
    js: str | None = None
    path = page_folder / found.group(1)
    if path.is_file():
        data = path.read_bytes()
        js = data.decode("utf-8", errors="replace") if _name(data) == found.group(2) else None
    js = js if js is not None else plotly_js()
    if js is None:
        return page
    return page[: found.start()] + f"<script>{js}</script>" + page[found.end() :]
