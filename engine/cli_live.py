"""``kestrel live``: the strategy on live bars with real orders through ccxt; ``live-kill``.

In: a run config with ``[live] mode = "live"``, the ``--live`` flag (both are required: one
alone refuses), the keys of the config's ``[live] exchange`` — ``$KESTREL_API_KEY`` /
``$KESTREL_API_SECRET``, else the OS keyring's (``kestrel keys set EXCHANGE``; never a file:
`engine.adapters.ccxt.keys`) — a run store, and a market: that exchange (its testnet while
``sandbox = true``), ``--exchange-url`` (a Binance-compatible server) or ``--replay
DATA_OR_CONFIG`` (the local exchange in-process, whose secret is then the keys' secret:
practice offline). The keys are looked up under ``[live] exchange`` with these two as well.
Out: orders at the exchange, the account's orders, fills, equity after each bar, strategy
state and timers in the store (tables ``live_orders`` / ``live_fills`` / ``live_equity`` /
``live_strategy_state`` / ``live_timers`` / ``live_bars``; the config each session runs with
in ``live_accounts``), ``live/<account>/events.jsonl`` under the project root and one
line on exit.

Flow: before anything connects or is written, refuse (exit 2) a config whose strategy,
instruments or ``[account]`` differ from the config the account's latest session stored
(`engine.runtime.live.restore.check_same_config`: its cash is ``initial_cash`` plus its
fills). Fetch the warm-up (``--warmup-bars N``, else ``[live] warmup_bars``, else what the
strategy's indicators need: `engine.runtime.live.warmup`) and build a `TradingNode` over it
whose venue is the order manager (`engine.runtime.live.venue.live_mode`): its indicators
are primed, no hook runs. Restore the node from the store (`engine.runtime.live.restore`:
the portfolio replayed from the node's own fills, the strategy's open, partially filled and
UNKNOWN orders adopted, other strategies' working orders cancelled with a reason, order
numbering continued); a new account whose ``initial_cash`` exceeds the wallet's free
balance is refused, exit 2, before its baseline is written (`engine.runtime.live.holdings`);
then reconcile the account with the exchange (`engine.runtime.live.reconcile`; a wallet it
cannot explain, or coins or cash of the node's the wallet no longer holds, refuse to trade,
exit 5).
Then ``on_start`` runs and, if the strategy defines ``on_load`` and a state was saved, the
strategy gets its own state back (`engine.runtime.live.state`: ``on_load`` runs after
``on_start``, so it overrides what ``on_start`` set); then what happened while the node was
down is published (fills of the adopted orders reach the portfolio and the strategy once);
the restored positions must equal the store's (`check_agrees`, else exit 5). Then feed it
closed bars. On start, after ``on_start`` and ``on_load``, the timers ``on_start`` set again
are put back on their stored schedule (`engine.runtime.live.timers`: the first stored due
time + k intervals after now; occurrences while the node was down are not fired, timers not
set again are not resurrected). After each bar (its ``on_bar`` ran, the orders it placed are
written) one transaction (`engine.runtime.live.checkpoint`) commits the account's equity row
(table ``live_equity``: cash, equity and gross exposure at the bar's close, appended across
restarts; a non-finite equity, as a position restored without warm-up has before its first
bar, writes no row), the bar itself (``live_bars``: the report's price chart and benchmark),
the state of a strategy that defines ``on_save`` when it changed (``live_strategy_state``)
and its timers when one's phase changed (``live_timers``); a clean stop commits the last
two. A state JSON cannot hold stops the node with a one-line error naming the key. ``kestrel
live-report CONFIG`` (`engine.cli_live_report`) turns the stored curve, fills and bars into
equity.csv, trades.csv, metrics.json and report.html; ``kestrel runs list`` lists the
account. Beside the bars the account's user-data websocket runs
(`engine.runtime.live.stream.UserDataMonitor`): fills and cancels reach the order manager
and the strategy as they happen, between bars; the REST poll of the working orders at each
bar stays as the fallback (a fill seen on both counts once: fills are keyed by the
exchange's trade id). Every ``--user-check-every`` seconds (default 30) the account's trades
and open orders are read over REST: one the stream has not delivered ``--user-grace``
seconds (default 5) later makes it stale — it is logged, resubscribed and the account
reconciled. After every reconnect, of the user-data stream or of the market data
(`FeedStats.recovered`), the start's reconciliation runs again and adopts what happened
meanwhile; a wallet it cannot explain halts the order manager and stops the node with the
report (exit 5), as on start. Before every bar, and every second while none comes, it looks
for the kill request that ``kestrel live-kill ACCOUNT`` leaves in the account's folder
(``KILL``, `engine.cli_live_kill`): then it cancels the node's orders, sells what the node
bought (`engine.runtime.live.kill`), brings the sale into the portfolio and writes the
account after it as the last equity row (`Checkpoint.killed`), halts and exits 0. Ctrl-C
or SIGTERM stops it after the event in hand — the stop is awaited beside the next bar, so
it is prompt however closely bars follow — open orders kept at the exchange, exit 0;
SIGKILL loses nothing either (every order's row is written before it is sent; the next
start restores and reconciles).
A restarted node trades from the exchange's clock on: bars that closed while it was down are
not replayed (no ``on_bar`` for them; the warm-up covers them for the indicators). With
``--replay`` the local exchange's address is printed and logged (``exchange_url`` of the
``start`` record), and it starts the warm-up's bars in: faults can be injected there; the
node's clock is the replay's (`engine.runtime.live.lockstep.replay_clock_ns`), else the
exchange's server time (`engine.runtime.live.serverclock`: a replay's at an exchange URL).
``--speed lockstep`` (with ``--replay`` only) keeps that exchange paused and steps it to
the next bar close only once the node has handled every bar it closed (orders sent and
answered, checkpoint committed: `engine.runtime.live.lockstep`), so a practice run fills
as the backtest does, as fast as the machine goes. A replay's candle stream silent past
`engine.cli_live_replay.replay_stale_after_s` (5 s at max) is stale: reconnected, REST
backfilled. The ``start`` record holds the session,
the warm-up bars per symbol, the fills replayed, the orders adopted and cancelled, cash
and positions, the outside trades the reconciliation recorded (``outside_trades``), and
``state_loaded`` / ``state_saved_at`` (whether ``on_load`` got a saved
state, and when that was saved) and ``timers_realigned`` (their names); the ``stop`` record
counts ``state_saves``, ``equity_rows`` and ``equity_skipped``. Once the ``start`` record is
written, every run ends with a ``stop`` record, one that ends on an error too (``reason``
``error: <its one line>``, ``error`` its class, ``exit_code``; `engine.runtime.live.
eventlog.stop_record`). Each order the venue refuses before sending (``order_refused``),
cuts to what the wallet holds (``order_cut``: asked, sent, why) and each rejection coming
back (``order_rejected``) is a record too, the refused ones a ``live_orders`` row besides
(`engine.runtime.live.refusals`), and so is each order the risk engine denies
(``order_denied``: its check and reason).

What this version does not do yet (README "Live trading"): restore the strategy object's
own attributes unless it implements ``on_save`` / ``on_load`` (``on_start`` runs afresh;
the portfolio, the orders, the timers' schedule, the equity curve and, through the
warm-up, the indicators come back), fire what fell while it was down (bars, timer
occurrences), Binance's native trailing stops (trailing stops are node-managed and OCO
groups are exchange order lists: `engine.runtime.live.trailing`, `.groups`), on perpetuals
hedge mode, isolated margin and coin-margined contracts (refused at start), stop, trailing
stop and OCO orders (rejected with a reason) and a comparison of cash with the futures
wallet; other exchanges' user-data streams are untested (ccxt.pro's ``watch_orders``).

Perpetuals: a config whose ``[[data]]`` names a ``funding`` series trades USDⓈ-M linear
perpetuals (`engine.runtime.live.perpetuals`; all symbols or none): the ccxt clients are
the swap account's (``sandbox = true``: Binance's demo trading), hedge mode, isolated
margin and symbols with no linear swap are refused and ``[account] leverage`` set before
anything else, bars come from the swap market's klines (``/fapi/v1/klines``, the USDⓈ-M
kline websocket), the user-data stream is the listenKey's (``ORDER_TRADE_UPDATE``), closes
go out reduce-only and reconciliation compares positions and the futures wallet
(`engine.runtime.live.perpcash`). Funding is the exchange's record, not the rates file's
(`ExchangeFunding`: once a bar closes past the exchange's next funding time its payments
are read and booked before the bar); a restart adds what it booked since the baseline
(`engine.runtime.live.restore`), each time the node's own position's share
(`perpcash.FundingShare`). With ``--replay`` of such a config the local exchange replays
perpetuals paying its funding file. The ``start`` record adds ``perpetuals``, ``leverage``
and ``restored_funding``, the ``stop`` record ``funding_payments`` and ``funding_booked``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli_exchange import check_exchange_urls
from engine.cli_live_kill import KILL_FILE, live_kill
from engine.config import MAX_WARMUP_BARS, RunConfig, load_config
from engine.errors import ConfigError, exit_code
from engine.paths import account_name, project_root

if TYPE_CHECKING:
    from engine.feeds import BarFrame
    from engine.runtime.live.stream import UserDataMonitor

__all__ = [
    "KILL_FILE",
    "account_folder",
    "config_text",
    "live",
    "live_kill",
    "refuse_unless_live",
    "register",
    "store_url",
]

AccountOption = Annotated[
    str | None, typer.Option("--account", help="Account name (default: the run name).")
]
StoreOption = Annotated[
    str | None,
    typer.Option("--db", help="Run store URL (default: $KESTREL_DB_URL or the project's)."),
]


def refuse_unless_live(config: RunConfig, flag: bool) -> None:
    """Raise `ConfigError` unless both ``--live`` and ``[live] mode = "live"`` are given."""
    missing = []
    if not flag:
        missing.append("the --live flag")
    if config.live.mode != "live":
        missing.append('[live] mode = "live" in the config')
    if missing:
        raise ConfigError(
            "kestrel live sends real orders and needs both --live and "
            f'[live] mode = "live"; missing: {" and ".join(missing)} '
            "(practise with `kestrel paper` first)"
        )


def account_folder(config: RunConfig, account: str, log_dir: Path | None = None) -> Path:
    """Return the account's folder (events.jsonl, KILL): ``log_dir`` or <root>/live/<account>."""
    return log_dir if log_dir is not None else project_root(config.base_dir) / "live" / account


def config_text(config: RunConfig) -> str:
    """Return ``config`` as the TOML text a session records (``live_accounts.config_toml``).

    No secret is in it: keys are never read from a config (`LiveSection`).
    """
    import tomli_w

    from engine.config import dump_config

    return tomli_w.dumps(dump_config(config))


def store_url(config: RunConfig, db: str | None) -> str:
    """Return the run store's URL: ``db``, else ``$KESTREL_DB_URL``, else the project's.

    Raises:
        StoreOpenError: The URL is not one a store can be opened at.
    """
    from engine.persistence import resolve_db_url
    from engine.persistence.store import check_db_url

    if db is None and not os.environ.get("KESTREL_DB_URL"):
        db = f"sqlite:///{project_root(config.base_dir) / 'backtests' / 'kestrel.db'}"
    return check_db_url(resolve_db_url(db))


def live(
    config: Annotated[Path, typer.Argument(help="Run config (TOML) with \\[live] mode = 'live'.")],
    live_flag: Annotated[
        bool, typer.Option("--live", help="Send real orders (required, with the config's mode).")
    ] = False,
    account: AccountOption = None,
    exchange_url: Annotated[
        str | None,
        typer.Option("--exchange-url", help="A Binance-compatible server instead of \\[live]."),
    ] = None,
    replay: Annotated[
        str | None,
        typer.Option("--replay", help="Practise on the local exchange replaying this data."),
    ] = None,
    speed: Annotated[
        str,
        typer.Option(
            "--speed",
            help="Replay seconds per second, max, or lockstep: the exchange waits for the "
            "node after each bar (with --replay).",
        ),
    ] = "60",
    db: StoreOption = None,
    max_bars: Annotated[
        int | None, typer.Option("--max-bars", help="Stop after this many new bars.", min=1)
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Folder of events.jsonl and KILL (<root>/live/<account>)."),
    ] = None,
    user_check_every: Annotated[
        float,
        typer.Option(
            "--user-check-every",
            help="Seconds between REST cross-checks of the user-data stream (≤ a day).",
            min=0.05,
            max=86_400.0,
        ),
    ] = 30.0,
    user_grace: Annotated[
        float,
        typer.Option(
            "--user-grace",
            help="Seconds the stream may lag behind REST before it is stale (≤ a day).",
            min=0.0,
            max=86_400.0,
        ),
    ] = 5.0,
    warmup_bars: Annotated[
        int | None,
        typer.Option(
            "--warmup-bars",
            help="Closed bars per symbol the indicators are warmed with before the first "
            "live bar, on every start (default: \\[live] warmup_bars, else what the "
            "strategy's indicators need).",
            min=0,
            max=MAX_WARMUP_BARS,
        ),
    ] = None,
) -> None:
    """Trade a strategy with real orders (needs --live and [live] mode = "live")."""
    from engine.adapters.ccxt.keys import load_credentials
    from engine.runtime.live.perpetuals import perpetual_symbols

    run_config = load_config(config)
    refuse_unless_live(run_config, live_flag)
    perpetuals = perpetual_symbols(run_config)  # all or none: one wallet per node
    keys = load_credentials(run_config.live.exchange)  # the same id with --replay / --exchange-url
    if exchange_url is not None and replay is not None:
        raise ConfigError("give at most one of --exchange-url and --replay")
    if replay is None:  # checked before anything connects; orders go where bars come from
        exchange_url = check_exchange_urls(exchange_url)
    if speed == "lockstep" and replay is None:
        raise ConfigError(
            "--speed lockstep needs --replay: only the local exchange this command starts "
            "can wait for the node (a real venue or --exchange-url keeps its own clock)"
        )
    name = account_name(
        account if account is not None else run_config.run.name, account is not None
    )
    if not name.strip():
        raise ConfigError("--account is empty; name the live account")
    url = store_url(run_config, db)
    from engine.cli_live_replay import start_local
    from engine.runtime.live.restore import check_same_config
    from engine.runtime.live.warmup import warmup_count

    count = warmup_count(run_config, warmup_bars)
    check_same_config(run_config, name, url)  # a changed money config: before anything connects
    local = None
    frames: list[BarFrame] = []
    if replay is not None:
        local, frames = start_local(replay, speed, keys.secret, count, bool(perpetuals), run_config)
        exchange_url = local.urls["http"]
    folder = account_folder(run_config, name, log_dir)
    try:
        code = asyncio.run(
            _stopping_on_signals(
                lambda stop: _session(
                    run_config,
                    name,
                    url,
                    keys,
                    exchange_url,
                    local,
                    frames,
                    max_bars,
                    folder,
                    (user_check_every, user_grace),
                    count,
                    perpetuals,
                    speed,
                    stop,
                )
            )
        )
    finally:
        if local is not None:
            local.stop()
    if code:
        raise typer.Exit(code)


async def _stopping_on_signals(session: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run ``session(stop)`` with SIGINT/SIGTERM setting ``stop``; return its exit code."""
    # Signals are caught from the first moment: a stop asked while the node starts up (its
    # warm-up, restore and reconciliation can take seconds) ends it cleanly at the loop's
    # head, exit 0, instead of killing it in the middle of a write.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await session(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _session(
    config: RunConfig,
    name: str,
    url: str,
    keys: Any,
    exchange_url: str | None,
    local: Any,
    frames: list[BarFrame],
    max_bars: int | None,
    folder: Path,
    user_check: tuple[float, float],
    warmup_bars: int,
    perpetuals: frozenset[str],
    speed: str,
    stop: asyncio.Event,
) -> int:
    from engine.adapters.ccxt.algo import AlgoExchange
    from engine.adapters.ccxt.feed import FeedOptions, open_feed
    from engine.adapters.ccxt.user import UserStream, open_user_exchange
    from engine.adapters.ccxt.venue import open_trading_exchange, wall_clock_ms
    from engine.cli_exchange import LOCKSTEP
    from engine.cli_live_replay import replay_stale_after_s
    from engine.clock import WallClock
    from engine.feeds import format_timeframe, format_timestamp
    from engine.persistence import RunStore, mask_url
    from engine.runtime.live import LiveLedger, OrderManager, Update
    from engine.runtime.live.checkpoint import Checkpoint
    from engine.runtime.live.eventlog import EventLog, stop_record
    from engine.runtime.live.holdings import check_initial_cash, outside_records
    from engine.runtime.live.kill import flatten_and_halt
    from engine.runtime.live.lockstep import Lockstep, replay_clock_ns
    from engine.runtime.live.perpcash import FundingShare
    from engine.runtime.live.perpetuals import ExchangeFunding, book_funding, prepare_perpetuals
    from engine.runtime.live.reconcile import reconcile
    from engine.runtime.live.restore import absorb, check_agrees, restore
    from engine.runtime.live.serverclock import ServerClock
    from engine.runtime.live.stream import StreamOptions, UserDataMonitor
    from engine.runtime.live.venue import LiveVenue, live_mode
    from engine.runtime.live.warmup import fetch_live_warmup
    from engine.runtime.news import open_live_news
    from engine.runtime.node import TradingNode

    perpetual = bool(perpetuals)
    client = open_trading_exchange(config.live.exchange, keys, sandbox=config.live.sandbox,
                                   local_url=exchange_url, perpetual=perpetual)  # fmt: skip
    exchange = AlgoExchange(client, server_clock=wall_clock_ms if exchange_url else None,
                            perpetuals=perpetuals)  # fmt: skip  # perpetuals' stops: algo orders
    leverage = prepare_perpetuals(exchange, config)  # hedge mode refused, leverage set
    instruments = exchange.instruments(config.symbols)
    manager = OrderManager(exchange, LiveLedger(RunStore(url), name))
    from engine.cli_paper import bar_timeframes  # the paper command's rule: one place

    found = {f.symbol: f.timeframe_ns for f in frames} or bar_timeframes(config)
    timeframes = {symbol: format_timeframe(ns) for symbol, ns in found.items()}
    until = local.replay.boundaries[-1] * 1_000_000 if local is not None else None
    # --replay: the paper replay's stall bound (5 s at max), not the venue's 66 min
    stale = replay_stale_after_s(speed, found.values()) if local is not None else None
    feed = open_feed(exchange.exchange_id, list(timeframes), timeframes,
                     FeedOptions(until_ns=until, stale_after_s=stale), local_url=exchange_url,
                     perpetuals=perpetuals)  # fmt: skip
    try:
        await feed.check()  # unknown symbol or timeframe: before the warm-up reads bars
        since = await feed.now_ns()
        warm = await fetch_live_warmup(config, feed, warmup_bars, since, found)
        server = ServerClock(exchange.server_time_ms) if local is None else None  # "now"
        clock = WallClock(replay_clock_ns(local) if server is None else server)
        node = TradingNode(config, clock=clock, mode=live_mode(manager), warmup=warm)
        venue = node.kernel.venue
        assert isinstance(venue, LiveVenue)
        restored = restore(node, manager, instruments)  # the store's account and orders
        if restored.new:  # before its baseline is written: cash the wallet does not hold
            check_initial_cash(config.account, name, exchange.exchange_id, exchange.balances())
        # refuses (exit 5) on an unexplained wallet, or coins or cash the wallet lacks
        result = reconcile(manager, instruments, initial_cash=config.account.initial_cash)
        manager.session = manager.ledger.begin_session(config_text(config))
        node.start()  # on_start, then on_load over what it set, before the fills while down
        checkpoint = Checkpoint(node, manager.ledger, manager.session)
        saved, loaded, realigned = checkpoint.start()  # the timers back on their schedule
        node.deliver(lambda: venue.report(result.updates))  # what happened while it was down
        share = FundingShare(manager.ledger, {s: exchange.market_symbol(s) for s in perpetuals})
        funding = ExchangeFunding(exchange, perpetuals, restored.funding_until_ms or since // 10**6,
                                  share)  # fmt: skip
        if perpetuals and node.kernel.account_rules is not None:
            node.kernel.account_rules.leave_funding()  # the exchange's, not the rates file's
        absorb(node, result.updates, instruments)  # fills of orders the kernel never held
        positions = check_agrees(node, manager, instruments)
    except BaseException:
        await feed.close()
        raise
    log = EventLog(folder / "events.jsonl")
    # With --replay the local exchange's address is logged: faults can be injected there
    # (POST <url>/_admin/fault, see engine.adapters.local.faults) to practise recoveries.
    where = {"exchange_url": exchange_url} if local is not None else {}
    log.write("start", account=name, exchange=exchange.exchange_id, sandbox=config.live.sandbox,
              adopted=result.adopted, external=result.external, wallet=result.actual,
              outside_trades=outside_records(result.outside),
              session=manager.session, warmup_bars={s: len(f) for s, f in warm.items()},
              restored_fills=restored.fills, restored_funding=restored.funding,
              restored_orders=restored.adopted,
              canceled=restored.canceled, cash=node.kernel.portfolio.cash,
              positions=positions, state_loaded=loaded,
              state_saved_at=saved.saved_at if saved else None,
              timers_realigned=realigned, perpetuals=sorted(perpetuals),
              leverage=leverage, clock="replay" if server is None else "exchange",
              **where)  # fmt: skip
    venue.notify = log.write  # orders denied, refused, rejected or cut (audit F5)
    bars = 0
    reason = "end of the data"
    user: UserStream | None = None
    monitor: UserDataMonitor | None = None
    stopped: asyncio.Future[Any] | None = None
    watching: asyncio.Future[Any] | None = None
    following: asyncio.Future[Any] | None = None  # the pending read of the feed's stream
    try:
        print(f"live account {name}: {result.summary()}", flush=True)
        print(f"live account {name}: {restored.summary()}", flush=True)
        if loaded and saved is not None:
            print(
                f"live account {name}: strategy state loaded (saved {saved.saved_at})", flush=True
            )
        if local is not None:
            print(f"local exchange at {exchange_url} (faults: POST /_admin/fault)", flush=True)
        # [[data]] kind = "news": each .jsonl file followed from its end (engine.runtime.news)
        news = open_live_news(config, time.time_ns)
        if news:
            log.write("news_start", files=[str(t.path) for t in news],
                      positions=[t.position for t in news])  # fmt: skip

        def publish(updates: list[Update]) -> None:  # between bars: the stream, a reconciliation
            node.deliver(lambda: venue.report(updates))

        user = UserStream(
            open_user_exchange(config.live.exchange, keys, sandbox=config.live.sandbox,
                               local_url=exchange_url, perpetual=perpetual),
            perpetuals,
        )  # fmt: skip
        checks = StreamOptions(check_every_s=user_check[0], grace_s=user_check[1])
        monitor = UserDataMonitor(user, manager, instruments, publish, log.write, checks,
                                  initial_cash=config.account.initial_cash)  # fmt: skip
        kill = folder / KILL_FILE
        stopped = asyncio.ensure_future(stop.wait())
        watching = asyncio.ensure_future(monitor.run())  # the user-data stream, its own task
        recovered = 0  # market-data recoveries reconciled after
        from engine.cli_paper import replay_streams

        lockstep = speed == LOCKSTEP
        pacer = Lockstep(local, replay_streams(found, FeedOptions())) if lockstep else None
        if local is not None and pacer is None:
            local.resume()  # in lockstep the exchange moves only when the node asks
        stream = feed.stream(since).__aiter__()
        # The stop is awaited beside the next bar (not only looked at when bars pause for a
        # second): bars that follow each other closely, as after a reconnect's backfill,
        # would otherwise keep a stopped node trading.
        while not stop.is_set():
            if watching.done():
                watching.result()  # the user-data stream's monitor raised: stop on it
            if feed.stats.recovered > recovered:  # the market-data websocket came back
                recovered = feed.stats.recovered
                monitor.reconcile("the market-data websocket reconnected")
            if kill.exists():
                dust: list[str] = []  # positions too small for the exchange to take
                updates = flatten_and_halt(manager, instruments, dust.append)
                kill.unlink()
                log.write("kill", updates=[(u.kind, u.order.order_id) for u in updates], dust=dust)
                for line in dust:
                    print(f"live account {name}: {line}", flush=True)
                checkpoint.killed(updates, instruments)  # the sale: in the last equity row
                reason = "killed: orders canceled, positions sold, halted"
                break
            if following is None:  # else still pending across a reconciliation: kept
                following = asyncio.ensure_future(stream.__anext__())
                if pacer is not None:  # the feed is reading: the exchange may close the next bar
                    await pacer.next_bar()
            while True:
                done, _ = await asyncio.wait(
                    {following, stopped, watching}, timeout=1.0,
                    return_when=asyncio.FIRST_COMPLETED,
                )  # fmt: skip
                if following in done or stop.is_set() or kill.exists() or watching.done():
                    break
                if feed.stats.recovered > recovered:
                    break  # reconcile before the backfilled bars are delivered
                node.poll()
            if following not in done:
                # the monitor, a reconnect, the kill or the stop; the read stays pending (a
                # cancel closed the feed's stream: a run ended at 3 bars after a ws drop)
                continue
            read, following = following, None
            try:
                bar = read.result()
            except StopAsyncIteration:
                break
            if feed.stats.recovered > recovered:
                recovered = feed.stats.recovered
                monitor.reconcile("the market-data websocket reconnected")
            for tailer in news:  # headlines appended since the last bar, before this one
                headlines = tailer.poll()
                node.add_news(headlines)
                for h in headlines:
                    log.write("news", symbol=h.symbol, ts=format_timestamp(h.ts_event),
                              id=h.headline_id, text=h.text)  # fmt: skip
            if server is not None:  # the bar's orders and expiries at the exchange's time
                server.refresh()
            # the exchange's funding up to the bar's close, before the strategy sees it (a
            # backtest pays it at the close, before the strategy's on_bar)
            payments = funding.due(bar.ts_event // 10**6)
            if payments:
                node.deliver(functools.partial(book_funding, node.kernel.portfolio, payments))
            node.on_event(bar)
            checkpoint.after_bar(bar)  # equity, the bar, state, timers: one commit (orders are in)
            if pacer is not None:
                pacer.handled(bar)
            bars += 1
            log.write("event", symbol=bar.symbol, ts=format_timestamp(bar.ts_event))
            if max_bars is not None and bars >= max_bars:
                reason = f"--max-bars {max_bars}"
                break
        else:
            reason = "stopped by a signal"
    except BaseException as exc:  # ended on an error: the stop record says which (audit F10)
        why = " ".join(str(exc).split()) or type(exc).__name__
        error = {"error": type(exc).__name__, "exit_code": exit_code(exc)}
        stop_record(log, f"error: {why}", bars, manager, checkpoint, feed, monitor, server,
                     funding, **error)  # fmt: skip
        raise
    finally:
        for task in (stopped, watching, following):
            if task is not None:
                task.cancel()
        if watching is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        if following is not None:  # a read pending at the stop: the stream closes with it
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await following  # leaving already: what it raised is not the run's error
        await feed.close()
        if user is not None:
            await user.close()
    checkpoint.stop()  # a clean stop: fills since the last bar may have changed the state
    stop_record(log, reason, bars, manager, checkpoint, feed, monitor, server, funding)
    shown = mask_url(url)  # the password never reaches the terminal
    print(f"live account {name} stopped ({reason}): {bars} bars; orders in {shown}", flush=True)
    return 0


def register(app: typer.Typer) -> None:
    """Add ``live`` and ``live-kill`` to ``app``."""
    # help= rather than the docstring: rich markup would eat "[live]" ("\\[" keeps it)
    app.command(
        "live", help='Trade a strategy with real orders (needs --live and \\[live] mode = "live").'
    )(live)
    app.command("live-kill")(live_kill)
