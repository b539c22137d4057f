"""CLI commands for exchanges: ``exchange serve``, ``data download``, ``data list``.

ccxt and aiohttp, and pandas (the feeds, the catalog, a config's inputs), are imported
inside the commands that use them, so ``kestrel backtest`` and ``kestrel --help`` do not
pay for them at start-up. Errors are `KestrelError`s (one line, their group's exit
code); Ctrl-C during a download is `Interrupted` (exit 130), saying how to resume.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.cli_console import stdout_console
from engine.config import load_config
from engine.errors import ConfigError, DataError, Interrupted
from engine.model import Instrument
from engine.paths import file_problem, project_root

if TYPE_CHECKING:  # the modules load inside the commands (ccxt, pandas)
    from engine.adapters.ccxt import Download, SymbolResult
    from engine.feeds import BarFrame

__all__ = ["check_exchange_urls", "check_symbol", "register"]

# The variable that sends every ccxt call to a local exchange when no URL option is given
# (`engine.adapters.ccxt.download.LOCAL_URL_ENV`, not imported here: it loads pyarrow).
LOCAL_URL_ENV = "KESTREL_EXCHANGE_URL"
_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")

# The secret is never printed (audit F9): the snippet reads it from the variable a node
# reads its own from (`engine.adapters.ccxt.keys.API_SECRET_ENV`, not imported: ccxt).
SECRET_ENV = "KESTREL_API_SECRET"
DEFAULT_SECRET = "local-secret"  # public (--help shows it): no secret to hide
CONNECT_SNIPPET = """\
import os, ccxt
exchange = ccxt.binance({{"apiKey": "any", "secret": os.environ["KESTREL_API_SECRET"], "options": {{
    "fetchMarkets": {{"types": ["spot"]}}, "fetchCurrencies": False, "fetchMargins": False}}}})
exchange.urls["api"] = {{"public": "{http}/api/v3", "private": "{http}/api/v3",
    "v1": "{http}/api/v1", "ws": {{"spot": "{ws}/ws", "ws-api": {{"spot": "{ws}/ws-api/v3"}}}}}}
print(exchange.fetch_ohlcv("{symbol}", "{timeframe}", limit=3))"""


def _symbol_from_name(path: str) -> str | None:
    """Guess ``BTC/USDT`` from a file name such as ``binance_BTC_USDT_1h_2020.csv``."""
    match = re.search(r"(?:^|_)([A-Z0-9]{2,10})_([A-Z]{3,5})(?:_|\.|$)", Path(path).name)
    return f"{match.group(1)}/{match.group(2)}" if match else None


LOCKSTEP = "lockstep"


def check_symbol(symbol: str, option: str = "--symbol") -> str:
    """Return ``symbol`` if it is ``BASE/QUOTE`` with both parts named, else refuse it.

    ``"/"``, ``"X/"`` or ``"XUSD"`` made a market with an empty base or quote, or the
    whole word as base and USDT as quote.

    Raises:
        ConfigError: Not ``BASE/QUOTE`` (one line, exit 2).
    """
    if _SYMBOL.fullmatch(symbol) is None:
        raise ConfigError(f"{option} {symbol!r}: use BASE/QUOTE, e.g. BTC/USDT")
    return symbol


def _is_http_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is no number, or out of range, raises here
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and (port is None or port > 0)
        and not (parts.query or parts.fragment)  # the API's paths are appended to it
        and not any(c.isspace() for c in url)
    )


def check_exchange_urls(option: str | None, name: str = "--exchange-url") -> str | None:
    """Return the exchange URL the command uses; refuse one that is not http(s).

    ``option`` (the command's URL option, named ``name``), or when it is not given
    ``$KESTREL_EXCHANGE_URL``, which then sends the calls instead; None: the exchange's
    own. The caller hands the URL returned to every client (market data, orders, user
    data): the feed used to read the variable and the order client not, so ``kestrel
    live`` traded on the local server's prices at the real exchange. Checked before
    anything connects: ``notaurl`` or ``ftp://x`` failed only when the markets were
    loaded, as exit 5 ("outcome unknown, a human looks at the account"), though nothing
    had been sent.

    Raises:
        ConfigError: Not ``http://HOST[:PORT][/PATH]`` or https (one line, exit 2).
    """
    # an empty variable is not used (ccxt then calls the real exchange); an empty option is
    # refused: it would have fallen back to the variable or to the real exchange, unseen
    url = option if option is not None else os.environ.get(LOCAL_URL_ENV) or None
    if url is None or _is_http_url(url):
        return url
    what = name if option is not None else f"${LOCAL_URL_ENV}"
    raise ConfigError(
        f"{what} {url!r} is not an http(s) URL: give e.g. http://127.0.0.1:8765 (the address "
        "`kestrel exchange serve` prints)"
    )


def check_history(frames: Sequence[BarFrame], history: int) -> None:
    """Refuse a ``--history`` that leaves the replay no bar to close (one line, exit 2).

    The replay starts at bar ``history`` of its earliest market and the last bar stays in
    progress, so ``history`` must be below that market's bar count less one: otherwise the
    server would wait for ever with nothing to replay (configs/live_btc.toml's 336 hours
    under the default 500 did).
    """
    if history < 0:
        raise ConfigError(f"--history must be >= 0, got {history}")
    first = min((f for f in frames if len(f)), key=lambda f: int(f.ts_close_ns[0]))
    if history >= len(first) - 1:
        raise ConfigError(
            f"--history {history} leaves nothing to replay: {first.symbol} has {len(first)} "
            f"bars (pass --history {max(len(first) // 2, 0)}, or another data range)"
        )


def replay_speed(speed: str, *, lockstep: bool = False) -> float | None:
    """Return a ``--speed`` option as replay seconds per wall second (None: as fast as read).

    The one parser of ``kestrel exchange serve``, ``paper`` and ``live``'s ``--speed``: a
    word that is not a number, 0 and an infinite number are each a one-line `ConfigError`
    (``max`` is the one way to say "as fast as read"); a negative or NaN rate is refused by
    `engine.adapters.local.LocalExchange`. ``lockstep`` (`LOCKSTEP`) is accepted only where
    the caller says so (``lockstep=True``: ``kestrel live --replay``, whose node drives the
    paused exchange, `engine.runtime.live.lockstep`) and answers None; elsewhere it is
    refused in one line, since no node there sends orders to the exchange.
    """
    if speed == "max" or (lockstep and speed == LOCKSTEP):
        return None
    if speed == LOCKSTEP:
        raise ConfigError(
            "--speed lockstep is for kestrel live --replay (its node drives the exchange's "
            "clock); here give a number or max"
        )
    try:
        rate = float(speed)
    except ValueError:
        words = "a number, max or lockstep" if lockstep else "a number or max"
        raise ConfigError(f"--speed must be {words}, got {speed!r}") from None
    # 0 meant max while 0.0 was refused, and inf (or 1e400) ran as a number: one rule now
    if rate == 0.0 or math.isinf(rate):
        raise ConfigError(
            f"--speed must be a positive number of replay seconds per second or max, got {speed!r}"
        )
    return rate  # negative and NaN: the local exchange's own check (> 0)


def replay_source(
    replay: str, symbol: str | None, quote: str, symbols: list[str] | None = None
) -> tuple[list[BarFrame], dict[str, Instrument], dict[str, float], float, bool]:
    """Return frames, instruments, balances, fee rate and touch from a config or a data file.

    A data file's symbol: ``symbol`` (``exchange serve --symbol``), else its name's
    (``binance_BTC_USDT_1h.csv``), else — for ``paper``/``live``, whose run config trades
    ``symbols`` — the config's symbol when it trades one (the file is its market).
    """
    from engine.feeds import BarFrame, load_bars
    from engine.feeds.catalog import CATALOG_SCHEME, parse_catalog_uri
    from engine.runtime.inputs import load_frames, make_instruments, resolve_data_path

    if replay.endswith(".toml"):
        config = load_config(replay)
        frames = [f for f in load_frames(config) if isinstance(f, BarFrame)]
        if not frames:
            raise ConfigError(f"{replay}: no bar data to replay (the exchange replays bars)")
        instruments = make_instruments(config)
        balances = {config.account.currency: config.account.initial_cash}
        touch = config.execution.limit_fill == "touch"
        return frames, instruments, balances, config.execution.fee_rate, touch
    # a file named on the command line is taken as typed; a catalog:// one is looked up
    # from here as a config's would be (this folder, then the project root)
    path = resolve_data_path(replay, ".") if replay.startswith(CATALOG_SCHEME) else Path(replay)
    problem = file_problem(path if replay.startswith(CATALOG_SCHEME) else replay, "replay source")
    if problem:
        hinted = "did you mean" in problem  # else: say what a replay source can be
        raise ConfigError(problem if hinted else f"{problem} (a .toml config or a data file)")
    if replay.startswith(CATALOG_SCHEME):
        symbol = symbol or parse_catalog_uri(replay)[1]
    symbol = symbol or _symbol_from_name(replay)
    if symbol is None and symbols is not None and len(symbols) == 1:
        symbol = symbols[0]
    if symbol is None and symbols is not None:
        raise ConfigError(
            f"cannot tell the symbol of {replay!r}: its name says none (as in "
            f"binance_BTC_USDT_1h.csv) and the config trades {', '.join(symbols)}; give "
            "--replay the run config (.toml) or a file named after its symbol"
        )
    if symbol is None:
        raise ConfigError(f"cannot tell the symbol of {replay!r}; pass --symbol BASE/QUOTE")
    frame = load_bars(path, symbol=symbol)
    quote_asset = symbol.partition("/")[2] or quote
    instrument = Instrument(symbol, quote_currency=quote_asset, lot_size=1e-8)
    return [frame], {symbol: instrument}, {quote_asset: 10_000.0}, 0.001, False


def serve_secret(option: str | None) -> tuple[str, str]:
    """Return the secret ``exchange serve`` checks signatures with, and how to name it.

    ``--secret``, else ``$KESTREL_API_SECRET`` (not empty), else `DEFAULT_SECRET`. The name
    is what the connect snippet's reader must put in ``$KESTREL_API_SECRET``: a secret
    given is named by where it came from, never written out; only the public default is.
    """
    if option is not None:
        return option, f"{SECRET_ENV}=<the --secret you gave>"
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env, f"{SECRET_ENV} (the one this server was started with)"
    return DEFAULT_SECRET, f"{SECRET_ENV}={DEFAULT_SECRET} (the default --secret)"


def exchange_serve(
    replay: Annotated[str, typer.Argument(help="Run config (.toml) or bar file to replay.")],
    speed: Annotated[
        str, typer.Option("--speed", help="Replay seconds per second, or max: as fast as read.")
    ] = "60",
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1.")] = 8765,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="API secret that signatures are checked with (default: $KESTREL_API_SECRET, "
            "else local-secret). Never printed.",
        ),
    ] = None,
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol of a data file (BASE/QUOTE).")
    ] = None,
    history: Annotated[
        int, typer.Option("--history", help="Closed bars already there at the start.")
    ] = 500,
    paused: Annotated[
        bool, typer.Option("--paused", help="Start with the clock stopped (POST /_admin/advance).")
    ] = False,
    fee_asset: Annotated[
        str,
        typer.Option(
            "--fee-asset",
            help="quote: every fee in the quote asset (the backtest's); received: in the asset "
            "a trade brings in, as Binance (a buy's in the base asset).",
        ),
    ] = "quote",
) -> None:
    """Serve a local Binance-like exchange replaying history; runs until Ctrl-C."""
    from engine.adapters.local import LocalExchange
    from engine.feeds import format_timeframe

    if symbol is not None:
        check_symbol(symbol)
    secret, secret_from = serve_secret(secret)
    if fee_asset not in ("quote", "received"):
        raise ConfigError(f"--fee-asset must be quote or received, got {fee_asset!r}")
    rate = replay_speed(speed)
    frames, instruments, balances, fee_rate, touch = replay_source(replay, symbol, "USDT")
    check_history(frames, history)
    exchange = LocalExchange(
        frames,
        instruments,
        balances=balances,
        secret=secret,
        speed=rate,
        history=history,
        paused=paused,
        fee_rate=fee_rate,
        touch=touch,
        port=port,
        fee_asset=fee_asset,
    )
    urls = exchange.start()
    # Plain prints: the URLs and the snippet must not be wrapped (they are copied as is).
    print(f"local exchange: REST {urls['http']}/api/v3  websockets {urls['ws']}/ws")
    print(f"admin: POST {urls['http']}/_admin/fault | advance | pause | resume")
    first = frames[0]
    snippet = CONNECT_SNIPPET.format(
        http=urls["http"],
        ws=urls["ws"],
        symbol=first.symbol,
        timeframe=format_timeframe(first.timeframe_ns),
    )
    print(f"connect with ccxt ({secret_from}):\n" + snippet + "\nstop with Ctrl-C", flush=True)
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        exchange.stop()


def data_download(
    exchange: Annotated[str, typer.Option("--exchange", help="ccxt exchange id, e.g. binance.")],
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated: BTC/USDT,ETH/USDT.")],
    timeframe: Annotated[str, typer.Option("--timeframe", help="Candle timeframe, e.g. 1h.")],
    since: Annotated[str, typer.Option("--since", help="First candle, ISO-8601 (UTC).")],
    until: Annotated[
        str | None, typer.Option("--until", help="Stop before this time (exclusive).")
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Catalog folder (default <project root>/data/catalog)."),
    ] = None,
    trades: Annotated[bool, typer.Option("--trades", help="Also download trades.")] = False,
    local_url: Annotated[
        str | None,
        typer.Option("--local-url", help="Download from a local exchange (exchange serve) URL."),
    ] = None,
    page_limit: Annotated[int | None, typer.Option("--page-limit", hidden=True)] = None,
    retries: Annotated[int, typer.Option("--retries", hidden=True)] = 5,
    backoff: Annotated[float, typer.Option("--retry-backoff", hidden=True)] = 1.0,
) -> None:
    """Download candles into the Parquet catalog (resumable; only closed candles)."""
    from engine.adapters.ccxt import Download, RetryPolicy
    from engine.feeds import parse_timestamp

    catalog = catalog or default_catalog()
    names = [s.strip() for s in symbols.split(",") if s.strip()]
    if not names:
        raise ConfigError("--symbols is empty; write e.g. --symbols BTC/USDT,ETH/USDT")
    check_exchange_urls(local_url, "--local-url")
    since_ms = parse_timestamp(since, what="--since") // 1_000_000
    until_ms = None if until is None else parse_timestamp(until, what="--until") // 1_000_000
    if until_ms is not None and until_ms <= since_ms:
        raise ConfigError(f"--until {until} is not after --since {since}; nothing to download")
    request = Download(
        exchange=exchange,
        symbols=names,
        timeframe=timeframe,
        since_ms=since_ms,
        until_ms=until_ms,
        catalog=catalog,
        trades=trades,
        page_limit=page_limit,
        local_url=local_url,
        retry=RetryPolicy(attempts=retries, backoff_s=backoff),
    )
    try:
        results = _download_with_progress(request)
    except KeyboardInterrupt:
        raise Interrupted(
            f"download stopped; every page fetched so far is stored in {catalog}: "
            "run the same command again to resume"
        ) from None
    for result in results:
        for note in result.notes:
            print(f"note: {result.symbol}: {note}", file=sys.stderr)
        for gap in result.gaps:
            print(f"gap: {result.symbol}: {gap.sentence()}", file=sys.stderr)
        gaps = f", {len(result.gaps)} gap(s)" if result.gaps else ""
        print(f"{result.symbol}: {result.added} new, {result.total} stored in {result.path}{gaps}")


def default_catalog() -> Path:
    """Return the project's catalog folder, where its configs' ``catalog://`` paths look.

    That is ``data/catalog`` under the project root found from the working directory
    (`engine.paths`), so downloads land in the same place from any subfolder.
    """
    from engine.feeds.catalog import DEFAULT_CATALOG

    return project_root(Path.cwd()) / DEFAULT_CATALOG


def _download_with_progress(request: Download) -> list[SymbolResult]:
    """Run the download with a rich progress bar on a terminal, silently otherwise."""
    from engine.adapters.ccxt import download

    if not sys.stderr.isatty():
        return download(request)
    from rich.progress import BarColumn, Progress, TaskID, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), console=Console(stderr=True)
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, description=f"{label} {done:,}")

        return download(request, report)


def data_list(
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Catalog folder (default <project root>/data/catalog)."),
    ] = None,
) -> None:
    """Show what the catalog holds: exchange, symbol, timeframe, rows and time range."""
    from engine.feeds import format_timestamp
    from engine.feeds.catalog import list_catalog

    catalog = catalog or default_catalog()
    if not catalog.is_dir():
        raise DataError(f"no catalog at {catalog}; fill it with `kestrel data download`")
    table = Table("exchange", "symbol", "file", "rows", "first", "last", "path")
    for entry in list_catalog(catalog):
        first = "—" if entry.first_ms is None else format_timestamp(entry.first_ms * 1_000_000)
        last = "—" if entry.last_ms is None else format_timestamp(entry.last_ms * 1_000_000)
        symbol = entry.symbol_folder.replace("_", "/")
        table.add_row(
            entry.exchange, symbol, entry.name, f"{entry.rows:,}", first, last, str(entry.path)
        )
    stdout_console().print(table)


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add ``exchange serve`` to ``app`` and ``download``/``list`` to ``data``."""
    exchange_app = typer.Typer(
        help="The local exchange (practice and tests).", no_args_is_help=True
    )
    exchange_app.command("serve")(exchange_serve)
    app.add_typer(exchange_app, name="exchange")
    data_app.command("download")(data_download)
    data_app.command("list")(data_list)
