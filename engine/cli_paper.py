"""``kestrel paper``: a strategy on live bars with simulated fills, in a crash-safe account.

In: a run config, a market data source (``--exchange-url`` of a Binance-compatible server
such as ``kestrel exchange serve``, ``--exchange ID`` for a real exchange's public data
through ccxt, or ``--replay DATA_OR_CONFIG``: the local exchange started in-process) and a
run store. Bars come from `engine.adapters.ccxt.CcxtFeed`: ccxt.pro websockets where the
exchange has them (reconnects, staleness, REST backfill), REST polling with ``--poll``.
Out: the account's journal and outputs in the store (`engine.runtime.paper`), a live
console view on a terminal, ``paper/<account>/events.jsonl`` under the project root (or in
``--log-dir``), and a summary line on exit.

Policies (README "Paper trading"):
- the account is ``--account`` (default: the config's ``[run] name``); an existing one is
  resumed (its journal replayed), a new one starts at the exchange's clock; ``--resume``
  refuses to create one (for supervisors restarting a crashed run);
- warm-up (``--warmup-bars N``, else the config's ``[paper] warmup_bars``, else 0): a new
  account reads each symbol's last N closed bars before its start — from the catalog file
  its ``[[data]]`` path names (``catalog://``), topped up over REST, else over REST
  (`engine.runtime.paper.warmup`) — stores them with the account and builds the node over
  them (indicators warm at the first live bar); a restart uses the stored ones, whatever
  ``--warmup-bars`` says then. With ``--replay`` the local exchange starts N bars into its
  data so those bars exist. The default stays 0, not live's automatic count: an account
  starting cold decides as a backtest starting at its start does (a ``--replay`` of the
  config reproduces that backtest's bars and fills), and stored warm-up is asked for, not
  implied. A new account whose N is below what the strategy's indicators need (live's
  `default_warmup_bars`) says so in one ``warning:`` line (`warmup_warnings`);
- trades and quotes: a config's ``kind = "trades"`` / ``"quotes"`` source makes its
  symbol a live trade / best bid-ask stream (websockets), its bars followed but not
  delivered (`tick_options`); ticks are journaled like bars, not caught up after a stop;
- timers: when the feed is idle and a strategy timer is due by the feed's watermark, the
  exchange clock is read every `TIMER_POLL_S` and the due timers fire at the smaller of
  the two, journaled first (`engine.runtime.paper.session` has the policy);
- catch-up: bars closed while the account was down are processed first, in order, as live;
- Ctrl-C / SIGTERM: the input being processed is finished and committed, open orders are
  kept (default, ``--keep-orders-on-stop``) or canceled (``--cancel-on-stop``, journaled),
  then exit 130 (Ctrl-C) or 0 (SIGTERM, a requested stop); SIGKILL loses nothing either;
- the stream ends at the data's end with ``--replay``, or after ``--max-bars`` new bars;
- ``--replay`` starts its clock once the account's websocket streams listen (candles, and
  trades / order books of tick symbols: `replay_streams`), or after `REPLAY_LISTEN_S`:
  a tick is not caught up, so a stream subscribing late on a busy machine would otherwise
  lose the replay's first ticks (bars are caught up over REST either way);
- ``--replay``/``--exchange-url`` use the local exchange's capabilities; ``--replay``'s
  staleness bound follows ``--speed`` (`replay_stale_after_s`). Intervals are ≤ a day.
Bad input: one line, exit 2; an exchange that cannot be reached: exit 4 after the retries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.config import MAX_WARMUP_BARS, load_config
from engine.errors import ConfigError, Interrupted, warn
from engine.paths import account_name, project_root

if TYPE_CHECKING:  # the feed, asyncio, pandas and SQLAlchemy load when `kestrel paper` runs
    import asyncio
    from collections.abc import Mapping

    from engine.adapters.ccxt.errors import RetryPolicy
    from engine.adapters.ccxt.feed import FeedOptions
    from engine.config import RunConfig
    from engine.feeds import BarFrame
    from engine.model import Bar
    from engine.runtime.paper.gaps import GapWatch

__all__ = [
    "bar_timeframes",
    "feed_options",
    "paper",
    "register",
    "replay_stale_after_s",
    "replay_streams",
]

EXIT_INTERRUPTED = 130
REPLAY_MAX_STALE_S = 5.0  # --speed max: silence this long is a stall
REPLAY_MIN_STALE_S = 1.0
TICK_TIMEFRAME = "1m"  # the candles a trade/quote-only symbol follows (merge order, clock)
TIMER_POLL_S = 1.0  # while a timer is due and the feed idle: read the exchange clock this often
REPLAY_LISTEN_S = 10.0  # --replay: the clock starts without the streams after this long


def paper(
    config: Annotated[Path, typer.Argument(help="Run config (TOML).")],
    account: Annotated[
        str | None, typer.Option("--account", help="Account name (default: the config's run name).")
    ] = None,
    exchange_url: Annotated[
        str | None,
        typer.Option("--exchange-url", help="A Binance-compatible server, e.g. the local one."),
    ] = None,
    exchange: Annotated[
        str | None, typer.Option("--exchange", help="ccxt exchange id for live public data.")
    ] = None,
    replay: Annotated[
        str | None,
        typer.Option("--replay", help="Start the local exchange replaying this config or file."),
    ] = None,
    speed: Annotated[
        str, typer.Option("--speed", help="Replay seconds per second, or max (with --replay).")
    ] = "60",
    db: Annotated[
        str | None,
        typer.Option("--db", help="Run store URL (default: $KESTREL_DB_URL or the project's)."),
    ] = None,
    cancel_on_stop: Annotated[
        bool,
        typer.Option(
            "--cancel-on-stop/--keep-orders-on-stop",
            help="At a graceful stop, cancel the open orders (default: keep them).",
        ),
    ] = False,
    max_bars: Annotated[
        int | None, typer.Option("--max-bars", help="Stop after this many new bars.", min=1)
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Only resume an existing account.")
    ] = False,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            help="Poll candles over REST every SECONDS, at most a day (default: websockets).",
            min=0.01,
            max=86_400.0,
        ),
    ] = None,
    stale_after: Annotated[
        float | None,
        typer.Option(
            "--stale-after",
            help="Seconds of websocket silence before a reconnect and REST backfill (≤ a "
            "day; default: the exchange's capabilities; --replay: scaled by --speed).",
            min=0.05,
            max=86_400.0,
        ),
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Folder of events.jsonl (default <root>/paper/<account>)."),
    ] = None,
    warmup_bars: Annotated[
        int | None,
        typer.Option(
            "--warmup-bars",
            help="A new account warms its indicators with this many closed bars per symbol "
            "before its start, read once and stored with it (default: the config's "
            "\\[paper] warmup_bars, else 0: none).",  # \\[: rich markup would eat [paper]
            min=0,
            max=MAX_WARMUP_BARS,  # as [paper] warmup_bars and `kestrel live --warmup-bars`
        ),
    ] = None,
    retries: Annotated[int, typer.Option("--retries", hidden=True)] = 5,
    backoff: Annotated[float, typer.Option("--retry-backoff", hidden=True)] = 1.0,
) -> None:
    """Paper-trade a strategy on live bars in a persistent, crash-safe account."""
    run_config = load_config(config)
    if warmup_bars is None:
        warmup_bars = run_config.paper.warmup_bars
    if sum(x is not None for x in (exchange_url, exchange, replay)) != 1:
        raise ConfigError(
            "give one market data source: --replay DATA_OR_CONFIG (the local exchange, "
            "in-process), --exchange-url URL (e.g. `kestrel exchange serve`) or --exchange ID"
        )
    if replay is None:  # before anything connects: a bad URL is not an exchange's trouble
        from engine.cli_exchange import check_exchange_urls

        check_exchange_urls(exchange_url)
    name = account_name(
        account if account is not None else run_config.run.name, account is not None
    )
    if not name.strip():
        raise ConfigError("--account is empty; name the paper account")
    root = project_root(run_config.base_dir)
    if db is None and not os.environ.get("KESTREL_DB_URL"):
        db = f"sqlite:///{root / 'backtests' / 'kestrel.db'}"
    # imported once the inputs above are known good, so that a mistake is reported fast
    import asyncio

    from engine.adapters.ccxt.errors import RetryPolicy
    from engine.cli_exchange import replay_speed
    from engine.persistence import resolve_db_url
    from engine.persistence.store import check_db_url

    url = check_db_url(resolve_db_url(db))
    retry = RetryPolicy(attempts=retries, backoff_s=backoff)
    local = None
    if replay is not None:
        rate = replay_speed(speed)
        local, frames = _start_local(replay, rate, warmup_bars, run_config)
        exchange_url = local.urls["http"]
        timeframes = {f.symbol: f.timeframe_ns for f in frames}
        calendars = {f.symbol: f.calendar for f in frames if f.calendar}
        until_ns: int | None = local.replay.boundaries[-1] * 1_000_000
        if stale_after is None:
            stale_after = replay_stale_after_s(max(timeframes.values()), rate)
    else:
        timeframes = _timeframes(run_config)
        until_ns = None
        calendars = {}
    # a gap is counted on the calendar a backtest counts it on: the config's, else the data's
    calendars |= {s.symbol: s.calendar for s in run_config.data if s.calendar}
    options = dataclasses.replace(
        feed_options(poll, stale_after, until_ns, retry), **tick_options(run_config, timeframes)
    )
    try:
        code = asyncio.run(
            _run(
                run_config,
                name,
                url,
                exchange or "binance",
                exchange_url,
                timeframes,
                options,
                calendars,
                local=local,
                cancel_on_stop=cancel_on_stop,
                max_bars=max_bars,
                resume=resume,
                warmup_bars=warmup_bars,
                folder=log_dir if log_dir is not None else root / "paper" / name,
            )
        )
    finally:
        if local is not None:
            local.stop()
    if code == EXIT_INTERRUPTED:  # one line, printed by the CLI's main like any Ctrl-C
        raise Interrupted(
            f"paper account {name} stopped; everything is stored, run the same command to resume"
        )
    if code:
        raise typer.Exit(code)


def feed_options(
    poll: float | None, stale_after: float | None, until_ns: int | None, retry: RetryPolicy
) -> FeedOptions:
    """Return the `FeedOptions` of ``kestrel paper``: ``--poll`` selects REST polling."""
    from engine.adapters.ccxt.feed import FeedOptions

    return FeedOptions(
        mode="auto" if poll is None else "poll",
        poll_interval_s=poll,
        stale_after_s=stale_after,
        retry=retry,
        until_ns=until_ns,
    )


def replay_stale_after_s(timeframe_ns: int, speed: float | None) -> float:
    """Return the staleness bound (wall s) of a candle stream of the in-process replay.

    The local exchange speaks only when a candle opens or closes, so its capability bound
    is a timeframe and a tenth of *market* time; a replay at ``speed`` passes that in
    ``1/speed`` of the wall time (a stall is seen in about a bar's wall time, not an hour).
    ``--speed max`` steps as fast as the feed reads, so any silence past `REPLAY_MAX_STALE_S`
    is a stall. Never below `REPLAY_MIN_STALE_S`: a busy machine's pause is no stall.
    """
    if speed is None:
        return REPLAY_MAX_STALE_S
    from engine.adapters.ccxt.capabilities import capabilities
    from engine.adapters.ccxt.watch import default_stale_after_s

    market_s = default_stale_after_s(timeframe_ns // 1_000_000, capabilities("local"))
    return max(REPLAY_MIN_STALE_S, market_s / speed)


def replay_streams(timeframes: Mapping[str, int], options: FeedOptions) -> list[str]:
    """Return the local exchange's streams (name prefixes) a paper feed subscribes to.

    Each symbol's candles, and the trades or order book of a tick symbol; none in polling
    mode. The names are the local exchange's (Binance's): ``ethusdt@kline_1h``,
    ``ethusdt@trade``, ``ethusdt@depth``.
    """
    from engine.adapters.ccxt.watch import wants

    if options.mode == "poll":
        return []
    streams = []
    for symbol in timeframes:
        name = symbol.replace("/", "").lower()
        streams.append(f"{name}@kline_")
        if wants(options.trades, symbol):
            streams.append(f"{name}@trade")
        if wants(options.quotes, symbol):
            streams.append(f"{name}@depth")
    return streams


async def _resume_when_listening(local: Any, streams: list[str]) -> None:
    """Start the local exchange's clock once ``streams`` listen, or after `REPLAY_LISTEN_S`."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLAY_LISTEN_S
    while not local.listening(streams) and loop.time() < deadline:
        await asyncio.sleep(0.01)
    local.resume()


def _start_local(
    replay: str, rate: float | None, history: int, config: RunConfig
) -> tuple[Any, list[BarFrame]]:
    """Start the local exchange on a free port, ``history`` closed bars in (the warm-up's).

    Raises:
        ConfigError: The replay's bars are not the config's symbols or declared timeframes
            (checked before the exchange starts: nothing is written).
    """
    from engine.adapters.local import LocalExchange
    from engine.cli_exchange import replay_source
    from engine.runtime.paper.replay_check import check_replay_symbols, check_replay_timeframes

    source = replay_source(replay, None, "USDT", config.symbols)
    frames, instruments, balances, fee_rate, touch = source
    check_replay_symbols(config.symbols, [frame.symbol for frame in frames], replay)
    check_replay_timeframes(config, {f.symbol: f.timeframe_ns for f in frames}, replay)
    # paused: resumed once the account has read the clock (its start)
    local = LocalExchange(frames, instruments, balances=balances, speed=rate, history=history,
                          paused=True, fee_rate=fee_rate, touch=touch)  # fmt: skip
    # the data's last bar closes too (the README: "runs to the end of the data"), so the
    # account ends on the backtest's bars; left open, the replay stopped one bar short
    local.replay.end_at_last_close()
    local.start()
    return local, frames


def tick_options(config: RunConfig, timeframes: dict[str, int]) -> dict[str, Any]:
    """Return the `FeedOptions` fields a config's trade and quote sources ask for.

    A ``kind = "trades"`` (``"quotes"``) ``[[data]]`` source makes its symbol a live
    ``watch_trades`` (best bid/ask of ``watch_order_book``) stream; its candles are still
    followed, to keep the merge in time order, but not delivered (``hidden_bars``): the
    node sees what a backtest of that config sees. Each must have a timeframe to follow.

    Raises:
        ConfigError: A tick symbol the data source does not serve (no timeframe for it).
    """
    kinds = {source.symbol: source.kind for source in config.data}
    trades = frozenset(s for s, kind in kinds.items() if kind == "trades")
    quotes = frozenset(s for s, kind in kinds.items() if kind == "quotes")
    missing = sorted((trades | quotes) - set(timeframes))
    if missing:
        raise ConfigError(
            f"paper: the market data source does not serve {missing} (the config's trade or "
            "quote source); replay a config or file that has their bars"
        )
    return {"trades": trades, "quotes": quotes, "hidden_bars": trades | quotes}


def _timeframes(config: RunConfig) -> dict[str, int]:
    """Return each symbol's timeframe: ``resample``, else ``timeframe``, else its data's.

    A trade or quote symbol follows the exchange's 1-minute candles (`TICK_TIMEFRAME`).
    """
    from engine.feeds import BarFrame, parse_timeframe

    found: dict[str, int] = {}
    undeclared = False
    for source in config.data:
        if source.kind != "bars":
            found[source.symbol] = parse_timeframe(TICK_TIMEFRAME)
            continue
        declared = source.resample or source.timeframe
        if declared:
            found[source.symbol] = parse_timeframe(declared)
        else:
            undeclared = True
    if undeclared:
        from engine.runtime.inputs import load_frames

        for frame in load_frames(config):
            if isinstance(frame, BarFrame) and frame.symbol not in found:
                found[frame.symbol] = frame.timeframe_ns
    if not found:
        raise ConfigError("paper trading needs market data: the config has no [[data]] source")
    return {symbol: found[symbol] for symbol in config.symbols if symbol in found}


bar_timeframes = _timeframes  # for `kestrel live`, which reads the same [[data]] rule


async def _run(
    config: RunConfig,
    name: str,
    url: str,
    exchange_id: str,
    exchange_url: str | None,
    timeframes: dict[str, int],
    options: FeedOptions,
    calendars: dict[str, str],
    *,
    local: Any,
    cancel_on_stop: bool,
    max_bars: int | None,
    resume: bool,
    warmup_bars: int,
    folder: Path,
) -> int:
    import asyncio

    from engine.adapters.ccxt.feed import open_feed
    from engine.feeds import format_timeframe, format_timestamp
    from engine.persistence import RunStore
    from engine.runtime.live.warmup import default_warmup_bars
    from engine.runtime.paper.console import JsonLog, LiveView, summarize
    from engine.runtime.paper.gaps import GapWatch, warmup_gap_lines
    from engine.runtime.paper.journal import PaperJournal
    from engine.runtime.paper.session import open_session
    from engine.runtime.paper.warmup import fetch_warmup, warmup_text, warmup_warnings

    names = {symbol: format_timeframe(ns) for symbol, ns in timeframes.items()}
    # With a URL the local exchange's capabilities apply, not those of the id it speaks as.
    feed = open_feed(exchange_id, list(timeframes), names, options, local_url=exchange_url)
    try:
        await feed.check()  # unknown symbol, unreachable exchange: before any account
        now_ns = await feed.now_ns()
        store = RunStore(url)
        journal = PaperJournal(store, name)
        warmup: list[Bar] = []
        existed = journal.load() is not None
        bar_symbols = [s.symbol for s in config.data if s.kind == "bars"]
        if not resume and not existed:  # new: read once, stored
            if warmup_bars:
                warmup = await fetch_warmup(config, feed, warmup_bars, now_ns, timeframes)
            needed = default_warmup_bars(config)  # live's count: the strategy's indicators
            for line in warmup_warnings(needed, warmup_bars, warmup, bar_symbols):
                warn(line)
            for line in warmup_gap_lines(warmup, timeframes, calendars):
                warn(line)
        session = open_session(
            config,
            journal,
            resume_only=resume,
            start_ns=lambda: now_ns,
            url=store.display_url,
            timeframes=timeframes,
            warmup=warmup,
        )
        stored = journal.warmup() if existed else warmup  # in time order: the last one wins
        last = {bar.symbol: bar.ts_event for bar in stored} | session.last_ts
        gaps = GapWatch(timeframes, calendars, last)
        starting = None
        if local is not None:  # the clock starts as the feed's streams listen
            starting = asyncio.ensure_future(
                _resume_when_listening(local, replay_streams(timeframes, options))
            )
        log = JsonLog(folder / "events.jsonl")
        how = f"resumed ({session.replayed} inputs replayed)" if existed else "new"
        how += f" ({warmup_text(warmup, bar_symbols)})" if warmup else ""
        since = format_timestamp(session.resume_ns)
        log.write("start", account=name, state=how, since=since, pid=os.getpid())
        print(f"paper account {name}: {how}; bars after {since}", flush=True)
        view = LiveView(session, enabled=sys.stdout.isatty())
        stop = asyncio.Event()
        signals: list[signal.Signals] = []
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            signals.append(sig)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        view.start()
        try:
            reason = await _loop(session, feed, view, log, stop, max_bars, gaps)
            if signals:
                reason = "Ctrl-C" if signals[0] == signal.SIGINT else "SIGTERM"
            if cancel_on_stop:
                changes = session.cancel_open_orders()
                for change in changes:
                    log.write(change.kind, **change.data)
            session.finish()
            journal.release()
        finally:
            if starting is not None:
                starting.cancel()  # a feed that failed before listening: no clock to start
            view.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        late = feed.late_ticks + session.late_ticks
        summarize(session, reason, log, store.display_url, feed.stats, late, gaps.gaps)
        log.close()
        return EXIT_INTERRUPTED if signals and signals[0] == signal.SIGINT else 0
    finally:
        await feed.close()


async def _loop(
    session: Any,
    feed: Any,
    view: Any,
    log: Any,
    stop: asyncio.Event,
    max_bars: int | None,
    gaps: GapWatch | None = None,
) -> str:
    """Process the feed's events until it ends, ``max_bars`` or a stop; return why it ended.

    While the feed is idle and a strategy timer is due by the feed's watermark, the
    exchange clock is read every `TIMER_POLL_S` and the timers due by the smaller of the
    two are fired (journaled first: `PaperSession.fire_timers`).
    """
    import asyncio

    from engine.feeds import format_timestamp
    from engine.model import Bar, TradeTick
    from engine.runtime.paper.gaps import GapWatch

    watch = gaps if gaps is not None else GapWatch({}, {}, {})  # none: nothing is a gap
    events = feed.stream(session.resume_ns).__aiter__()
    while not stop.is_set():
        following = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0)  # an event the feed already holds arrives in this one step
        if not following.done():
            session.flush_pending()  # idle: write the last input's outputs now
        stopped = asyncio.ensure_future(stop.wait())
        while True:
            due = session.next_timer_ns
            wait = TIMER_POLL_S if due is not None and due <= feed.watermark_ns() else None
            done, _ = await asyncio.wait(
                {following, stopped}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                break
            now_ns = min(await feed.now_ns(), feed.watermark_ns())
            fired = session.fire_timers(now_ns)
            if fired is not None:
                log.write("timers", now_ns)
                _announce(fired, log, view, f"{format_timestamp(now_ns)} timers")
                session.flush_pending()
        if following not in done:  # nothing journaled: the event comes again on resume
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await following
            return "stopped"
        stopped.cancel()
        try:
            event = following.result()
        except StopAsyncIteration:
            return "end of the replay"
        # headlines read since the last input, journaled before it: each is delivered
        # before the first bar closing at or after its time (engine.runtime.news)
        for headline in session.poll_news():
            log.write("news", headline.ts_event, symbol=headline.symbol,
                      id=headline.headline_id, text=headline.text)  # fmt: skip
        changes = session.process(event)
        if changes is None:
            continue  # a duplicate or a late tick, dropped
        if type(event) is Bar:
            log.write("bar", event.ts_event, symbol=event.symbol, close=event.close)
            gap = watch.see(event)  # a backtest's data warning, once per gap
            if gap is not None:
                log.write("gap", event.ts_event, symbol=gap.symbol, missing_bars=gap.missing_bars,
                          since=format_timestamp(gap.from_ns))  # fmt: skip
                view.note(gap.text)  # on a terminal: among the view's last events too
                for line in watch.lines(gap):
                    warn(line)
            what = f"{event.symbol} close {event.close:g}"
        elif type(event) is TradeTick:
            log.write("trade", event.ts_event, symbol=event.symbol, price=event.price)
            what = f"{event.symbol} trade {event.size:g} @ {event.price:g}"
        else:
            log.write("quote", event.ts_event, symbol=event.symbol, bid=event.bid_price,
                      ask=event.ask_price)  # fmt: skip
            what = f"{event.symbol} bid {event.bid_price:g} ask {event.ask_price:g}"
        _announce(changes, log, view, f"{format_timestamp(event.ts_event)} {what}")
        if max_bars is not None and session.processed >= max_bars:
            return f"--max-bars {max_bars}"
    return "stopped"


def _announce(changes: list[Any], log: Any, view: Any, what: str) -> None:
    for change in changes:
        log.write(change.kind, **change.data)
    view.update(changes, what)


def register(app: typer.Typer) -> None:
    """Add ``paper`` to ``app``."""
    app.command("paper")(paper)
