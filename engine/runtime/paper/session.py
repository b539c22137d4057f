"""PaperSession: a `TradingNode` behind the write-ahead journal of a paper account.

In: a `RunConfig`, a `PaperJournal` and the inputs the feed delivers. Out: the node's
decisions (orders, fills, equity) in the store, and the state a console shows.

Opening an account (`open_session`): a new one is created with its config's hashes
(`engine.runtime.paper.parts`); an existing one is refused if any part changed (its journal
would replay through different rules), else rebuilt by replaying its journal through a fresh
node — the same deterministic kernel, simulated matching and strategy code — which
restores cash, positions, open orders, fills and the strategy's state exactly.
Warm-up: a new account stores the bars it was given (``warmup``, closed before its start)
as its first journal rows; every open builds the node over the stored ones
(`TradingNode`'s ``warmup``: histories filled, indicators primed, no hook called), so the
first live bar is decided with warm indicators, identically after any restart.

Processing an input (`process`): journal it (committed), hand it to the node, then queue
the outputs it produced; they are written with the next input's journal row, or alone when
the feed is idle (`flush_pending`), and always at a stop. Duplicates (a bar at or before
the last one of its symbol) are dropped before journaling, so a feed that repeats itself
cannot double anything.

Time: the node runs on a `SimClock` set from each input's ``ts_event`` — the strategy's
"now" is the time of the event it is handling, in paper as in backtests, so a replay sees
exactly what the live run saw. The clock starts at the account's start, at every open, so
the timers ``on_start`` sets count from there. Inputs are bars, trades and quotes
(`process`) and timer firings (`fire_timers`). Timer policy: a timer due at T fires before
the first input at or after T (the driver's rule, as in a backtest); when the feed is idle,
the caller may fire the timers due by a time no input still to come precedes — the row
(``timer``, that time) is journaled first, so replay fires exactly those again; a firing
not journaled before a crash happens on restart before the first input after it. Nothing
fires twice, nothing is skipped, and each timer fires at its scheduled time either way.
News (``[[data]] kind = "news"``): before each input the loop polls the headline sources
(`poll_news`; `engine.feeds.headline_source`: a ``.jsonl`` file is followed as it grows, a
``.csv`` file is read whole); what a poll returns is journaled as one ``news`` row — the
headlines and the source's position after them, committed together — and queued in the
node, which delivers each before the first bar closing at or after its time. Replay queues
them again at the same place among the inputs, so the strategy hears them exactly as
before; a restart reopens each source at the position its last ``news`` row names, so no
headline is delivered twice or skipped.
Lifecycle: ``on_start`` runs once per process (a rebuilt strategy is a new instance);
``on_stop`` is not called when a session ends — the account goes on, and a stop-time hook
that traded could not be replayed.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import tomli_w

from engine.clock import SimClock
from engine.config import RunConfig, dump_config
from engine.errors import ConfigError
from engine.feeds import BarFrame
from engine.feeds.headline_source import HeadlineSource, JsonlTailer, open_headline_source
from engine.model import Bar, CancelRequested, NewsHeadline, QuoteTick, TradeTick
from engine.portfolio.state import AccountState
from engine.report.metrics import compute_metrics
from engine.report.round_trips import Mark, TradeRecord
from engine.runtime.news import news_files
from engine.runtime.node import TradingNode
from engine.runtime.paper.journal import (
    Account,
    Entry,
    Outputs,
    PaperJournal,
    entry_event,
    event_entry,
)
from engine.runtime.paper.parts import check_parts, config_parts, config_values

__all__ = [  # config_parts and config_values: where they were (engine.runtime.paper.parts)
    "PaperSession",
    "config_parts",
    "config_values",
    "open_session",
    "run_id_of",
    "warmup_frames",
]

METRICS_EVERY = 50  # inputs between full metric recomputations (each is O(bars))
_EVENT_KINDS = ("bar", "trade", "quote")
FINAL_STATUSES = frozenset({"filled", "canceled", "rejected", "expired", "denied"})
CANCEL_REASON = "canceled at a paper stop (--cancel-on-stop)"


def run_id_of(account: str) -> str:
    """Return the run id the account's outputs are stored under."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in account)
    return f"paper-{safe}"[:96]


@dataclass(frozen=True)
class Change:
    """One output the console and the log announce (a new fill, an order's new status)."""

    kind: str
    text: str
    data: dict[str, Any]


class PaperSession:
    """One process's view of a paper account: node, journal and written outputs."""

    def __init__(
        self, config: RunConfig, journal: PaperJournal, account: Account, node: TradingNode
    ) -> None:
        self.config = config
        self.journal = journal
        self.account = account
        self.node = node
        self.node.start()
        # the symbols whose bars are inputs (open_session sets them): a symbol traded on
        # trades or quotes alone has none
        self.symbols = [s.symbol for s in config.data if s.kind == "bars"]
        self.last_ts: dict[str, int] = {}
        self.last_ns = account.start_ns  # the time of the last input (the node's clock)
        self.replayed = 0
        self.processed = 0  # bars processed by this process after the replay
        self.ticks = 0  # trades and quotes processed by this process after the replay
        self.timers = 0  # timer firings journaled by this process
        self.late_ticks = 0  # ticks dropped: older than the last input
        self._ticks_at_last: set[TradeTick | QuoteTick] = set()  # journaled at last_ns
        self._orders: dict[str, dict[str, Any]] = {}  # rows last written, of working orders
        self._order_count = 0  # orders of the recorder seen so far
        self._fills = 0
        self._equity = 0
        self._bars = 0  # inputs applied (the metrics' cadence)
        self._last_event: int | None = None  # the time of the last bar, trade or quote
        self._metrics_at = -1
        self._run_row: dict[str, Any] | None = None  # metrics recomputed every METRICS_EVERY
        self._pending = Outputs()  # outputs not written yet (they ride with the next input)
        # news: each source's (position, line) after its last journaled headlines, and the
        # sources (opened after the replay, from those positions: `open_news`)
        self.news_positions: dict[int, tuple[int, int]] = {}
        self.news_sources: list[HeadlineSource] = []
        self.headlines = 0  # headlines journaled by this process

    @property
    def resume_ns(self) -> int:
        """The feed's ``since_ns``: the earliest of each symbol's last journaled bar time.

        The earliest, not the latest: a stop between two symbols' bars of one time leaves
        the second one to fetch (the first one comes again and is dropped as a duplicate).
        A symbol without a journaled bar counts from the account's start; without bar
        symbols (ticks only), the time of the last input.
        """
        start = self.account.start_ns
        if not self.symbols:
            return self.last_ns
        return min(self.last_ts.get(symbol, start) for symbol in self.symbols)

    @property
    def next_timer_ns(self) -> int | None:
        """The due time of the strategy's next timer, or None without timers."""
        timers = self.node.clock.timers
        return timers[0][0] if timers else None

    def replay(self) -> int:
        """Rebuild the node from the journal; write every output once; return the count."""
        for entry in self.journal.entries():
            self._apply(entry)
            self.replayed += 1
        self._collect(full=True)
        self.flush_pending()
        return self.replayed

    def process(self, event: Bar | TradeTick | QuoteTick) -> list[Change] | None:
        """Journal a bar, trade or quote, process it, write its outputs; return what changed.

        Dropped (returns None): a bar at or before the last one of its symbol (a feed
        repeating itself), a trade or quote before the last input's time (late: the node's
        clock has moved past it, e.g. to a timer's time), or one journaled already at that
        time (a restarted feed serving it again).
        """
        if type(event) is Bar:
            if event.ts_event <= self.last_ts.get(event.symbol, self.account.start_ns):
                return None
        elif event.ts_event < self.last_ns:
            self.late_ticks += 1
            return None
        elif event.ts_event == self.last_ns and event in self._ticks_at_last:
            return None
        entry = event_entry(event)
        self._append(entry)  # durable first: a crash from here on replays it
        self._apply(entry)
        if type(event) is Bar:
            self.processed += 1
        else:
            self.ticks += 1
        return self._collect()

    def open_news(self) -> None:
        """Open the config's headline sources where the journal left them (after `replay`).

        Raises:
            DataError: A headline file is missing or malformed.
        """
        config = self.config
        self.news_sources = []
        for index, (source, file) in enumerate(zip(config.news, news_files(config), strict=True)):
            position, line = self.news_positions.get(index, (0, 0))
            self.news_sources.append(
                open_headline_source(
                    file, start=position, line=line, symbols=source.symbols or config.symbols
                )
            )

    def poll_news(self) -> list[NewsHeadline]:
        """Journal and queue the headlines the sources have read since the last poll.

        One ``news`` row per source that returned headlines: its headlines and its position
        after them, in one commit (a crash leaves either both or neither).

        Raises:
            DataError: A source's file is missing, shrank or holds a bad line.
        """
        heard: list[NewsHeadline] = []
        for index, source in enumerate(self.news_sources):
            headlines = source.poll()
            if not headlines:
                continue
            line = source.line if isinstance(source, JsonlTailer) else 0
            payload = {
                "feed": index,
                "position": source.position,
                "line": line,
                "headlines": [h._asdict() for h in headlines],
            }
            entry = Entry("news", self.last_ns, None, payload)
            self._append(entry)  # durable first, as every input
            self._apply(entry)
            self.headlines += len(headlines)
            heard.extend(headlines)
        return heard

    def fire_timers(self, now_ns: int) -> list[Change] | None:
        """Journal and fire the strategy's timers due by ``now_ns``; None if none is due.

        The caller passes a time no input still to come precedes (see `open_session`'s
        policy): the node's clock moves to it, as a backtest's does to its next event.
        """
        due = self.next_timer_ns
        if due is None or due > now_ns or now_ns < self.last_ns:
            return None
        entry = Entry("timer", now_ns, None, {})
        self._append(entry)
        self._apply(entry)
        self.timers += 1
        return self._collect()

    def flush_pending(self) -> None:
        """Write the outputs not written yet (the driver calls it when the feed is idle)."""
        if self._pending:
            self.journal.write_outputs(self.account.run_id, self._pending)
            self._pending = Outputs()

    def _append(self, entry: Entry) -> None:
        self.journal.append(entry, self.account.run_id, self._pending)
        self._pending = Outputs()

    def cancel_open_orders(self) -> list[Change]:
        """Journal and apply a cancel of every open order (a graceful stop's option)."""
        if not self.node.kernel.execution.all_open_orders():
            return []
        entry = Entry("cancel_open", self.last_ns, None, {"reason": CANCEL_REASON})
        self._append(entry)
        self._apply(entry)
        changes = self._collect()
        self.flush_pending()
        return changes

    def finish(self) -> None:
        """Snapshot the last event's equity (as a backtest's last row) and write everything."""
        curve = self.node.equity_curve
        last = self._last_event
        if last is not None and (not curve or curve[-1].ts_event != last):
            # the node snapshots a time when the next one begins; at a stop there is no
            # next one yet. A resumed node takes the same snapshot (same values) later.
            self.node.kernel.portfolio.snapshot(last)
        self._collect(full=True)
        self.flush_pending()

    def _apply(self, entry: Entry) -> None:
        if entry.kind in _EVENT_KINDS:
            event = entry_event(entry)
            self.node.on_event(event)
            if entry.kind == "bar":
                self.last_ts[event.symbol] = event.ts_event
            if event.ts_event > self.last_ns:
                self._ticks_at_last.clear()
            if entry.kind != "bar":
                self._ticks_at_last.add(event)  # type: ignore[arg-type]
            self.last_ns = max(self.last_ns, event.ts_event)
            self._last_event = event.ts_event
            self._bars += 1
        elif entry.kind == "timer":
            # the strategy's timers due by then fire, each at its own time (`Driver.idle`)
            self.node.poll(entry.ts_event)
            if entry.ts_event > self.last_ns:
                self._ticks_at_last.clear()
            self.last_ns = max(self.last_ns, entry.ts_event)
            self._bars += 1
        elif entry.kind == "news":
            p = entry.payload
            self.node.add_news(NewsHeadline(**h) for h in p["headlines"])
            self.news_positions[int(p["feed"])] = (int(p["position"]), int(p["line"]))
        elif entry.kind == "warmup":
            return  # the node was built over it (open_session): history, not an input
        elif entry.kind == "cancel_open":
            # the strategy's own path (Context.cancel): the execution engine routes it
            kernel = self.node.kernel
            reason = str(entry.payload.get("reason", CANCEL_REASON))
            ts = entry.ts_event
            for order in kernel.execution.all_open_orders():
                request = CancelRequested(order.order_id, order.strategy_id, ts, ts, reason)
                kernel.bus.publish(request)
        else:
            raise ConfigError(
                f"paper account {self.account.name!r}: its journal holds a {entry.kind!r} "
                "input this Kestrel cannot replay; upgrade Kestrel"
            )

    def _collect(self, *, full: bool = False) -> list[Change]:
        """Add the outputs that changed since the last call to the pending ones; return them."""
        kernel = self.node.kernel
        changes: list[Change] = []
        out = Outputs()
        # only new and still-working orders can have changed: a final one is dropped from
        # ``_orders`` once written (per input: O(working orders), not O(all orders))
        recorder = kernel.recorder
        new_ids = recorder.order_ids(self._order_count)
        self._order_count += len(new_ids)
        self._orders.update({key: {} for key in new_ids})
        for order_id in list(self._orders):
            row = recorder.order_row(order_id)
            if self._orders[order_id] != row:
                out.orders.append(dict(row))
                self._orders[order_id] = dict(row)
                changes.append(Change("order", _order_text(row), _plain(row)))
            if row.get("status") in FINAL_STATUSES:
                del self._orders[order_id]
        new_fills = kernel.recorder.fills[self._fills :]
        for fill in new_fills:
            row = {
                "fill_id": fill.fill_id,
                "order_id": fill.order_id,
                "symbol": fill.symbol,
                "side": str(fill.side),
                "quantity": fill.quantity,
                "price": fill.price,
                "fee": fill.fee,
                "liquidity": fill.liquidity,
                "ts_event": fill.ts_event,
            }
            out.fills.append(row)
            text = f"fill {row['side']} {fill.quantity:g} {fill.symbol} @ {fill.price:g}"
            changes.append(Change("fill", text, row))
        self._fills += len(new_fills)
        curve = self.node.equity_curve
        out.equity = [
            {"ts_event": s.ts_event, "cash": s.cash, "equity": s.equity,
             "gross_exposure": s.gross_exposure}
            for s in curve[self._equity :]
        ]  # fmt: skip
        self._equity = len(curve)
        due = self._bars - self._metrics_at >= METRICS_EVERY or self._metrics_at < 0
        if full or due or self._run_row is None:
            self._run_row = self.run_row()
            self._metrics_at = self._bars
        # the runs row goes with every write: child rows need it (foreign key), also after
        # a `kestrel runs delete` of the account's run (the account goes on: it comes back)
        out.run_row = self._run_row
        self._pending.merge(out)
        return changes

    def run_row(self) -> dict[str, Any]:
        """Return the ``runs`` row of the account: headline numbers and full metrics."""
        kernel = self.node.kernel
        curve = self.node.equity_curve
        still_open = self._marked_open_trades()
        metrics = compute_metrics(
            initial_cash=self.config.account.initial_cash,
            start_ns=self.account.start_ns,
            ts=np.array([s.ts_event for s in curve], dtype=np.int64),
            equity=np.array([s.equity for s in curve], dtype=np.float64),
            gross_exposure=np.array([s.gross_exposure for s in curve], dtype=np.float64),
            trades=kernel.recorder.trades,
            fees_paid=kernel.portfolio.fees_paid,
            fills=kernel.recorder.fills,
            open_trades=still_open,
        )
        metrics["mode"] = "paper"
        metrics["account"] = self.account.name
        return {
            "name": f"paper:{self.account.name}",
            "strategy": self.config.strategy.path,
            "symbols": ",".join(self.config.symbols),
            "created_at": self.account.created_at,
            "start_ns": metrics["start"],
            "end_ns": metrics["end"],
            "bars": metrics["bars"],
            "initial_cash": self.config.account.initial_cash,
            "final_equity": metrics["final_equity"],
            "total_return": metrics["total_return"],
            "sharpe": metrics["sharpe"],
            "max_drawdown": metrics["max_drawdown"],
            "num_trades": metrics["num_trades"],
            "artifacts_dir": None,
            "config_toml": self.account.config_toml,
            "metrics_json": json.dumps(metrics, sort_keys=True, default=str),
            "status": "complete",
            "writer": None,
        }

    def _marked_open_trades(self) -> list[TradeRecord]:
        """The positions still open, marked as a backtest marks them at its end.

        Each at its symbol's last price (the last bar's close, or last tick), at the time of
        the curve's last row and the rate then: the mark that row's equity holds. Without
        them the stored metrics said a paper account holding a position was flat.
        """
        kernel, curve = self.node.kernel, self.node.equity_curve
        held = kernel.recorder.open_trades
        if not held or not curve:
            return []
        end = curve[-1].ts_event
        account = AccountState.of(kernel.portfolio)
        marks = {}
        for symbol in held:
            price = kernel.cache.last.get(symbol, math.nan)
            if not math.isfinite(price):
                continue  # no price yet: nothing to mark it at (left out, as a live report)
            rate = self.node.fx.rate(symbol, end) if symbol in self.node.fx.series else 1.0
            unrealized = account.positions[symbol].unrealized_pnl(price, rate)
            marks[symbol] = Mark(end, price, rate, unrealized)
        return kernel.recorder.marked_open_trades(marks)


def open_session(
    config: RunConfig,
    journal: PaperJournal,
    *,
    resume_only: bool,
    start_ns: Callable[[], int],
    url: str,
    timeframes: Mapping[str, int] | None = None,
    warmup: Sequence[Bar] = (),
) -> PaperSession:
    """Create or resume the account ``journal.name``; return its session, replayed.

    Args:
        config: The run config the account trades.
        journal: The account's store side.
        resume_only: Refuse to create a new account (``--resume``).
        start_ns: The exchange's clock, asked only when the account is new.
        url: The store URL as shown in messages (password masked).
        timeframes: The feed's timeframe per symbol (a part of the config's identity).
        warmup: A new account's warm-up bars (closed at or before its start), stored with
            it; ignored for an existing account, which is rebuilt over its stored ones.

    Raises:
        ConfigError: ``resume_only`` and no such account; the config changed; the account
            is running elsewhere.
    """
    from engine.runtime.paper.journal import missing_account

    found = journal.load()
    node = TradingNode(config)  # builds the strategy: its module file (and own files) hashed
    if found is None:
        parts = config_parts(config, node, timeframes)
        if resume_only:
            raise missing_account(journal.name, journal.names(), url)
        created = datetime.now(tz=UTC).isoformat()
        toml = tomli_w.dumps(dump_config(config))
        found = journal.create(
            run_id_of(journal.name), created, start_ns(), toml, parts, list(warmup)
        )
    else:
        stored = tomllib.loads(found.config_toml).get("data", [])  # its symbols: named if changed
        started = [str(d["symbol"]) for d in stored if "symbol" in d]
        journal.claim(check_parts(journal.name, found.parts, config, node, timeframes, started))
    # a fresh node over the stored history (the first one only hashed the code), its clock
    # at the account's start: timers set in on_start count from there at every open
    frames = warmup_frames(journal.warmup())
    node = TradingNode(config, clock=SimClock(found.start_ns), warmup=frames)
    session = PaperSession(config, journal, found, node)
    if timeframes:
        ticks_only = {s.symbol for s in config.data if s.kind != "bars"}
        session.symbols = [symbol for symbol in timeframes if symbol not in ticks_only]
    session.replay()
    session.open_news()
    return session


def warmup_frames(bars: Sequence[Bar], source: str = "paper warm-up") -> dict[str, BarFrame]:
    """Return ``bars`` as one `BarFrame` per symbol (the node's ``warmup``), in time order.

    ``source`` names where they came from (the frames' ``source``). Also the live report's
    stored bars (`engine.runtime.live.report`).
    """
    by_symbol: dict[str, list[Bar]] = {}
    for bar in bars:
        by_symbol.setdefault(bar.symbol, []).append(bar)
    frames = {}
    for symbol, rows in by_symbol.items():
        rows.sort(key=lambda bar: bar.ts_event)
        tf = rows[0].timeframe_ns
        frames[symbol] = BarFrame(
            symbol,
            tf,
            np.array([bar.ts_event - tf for bar in rows], dtype=np.int64),
            np.array([bar.open for bar in rows]),
            np.array([bar.high for bar in rows]),
            np.array([bar.low for bar in rows]),
            np.array([bar.close for bar in rows]),
            np.array([bar.volume for bar in rows]),
            source=source,
        )
    return frames


def _order_text(row: dict[str, Any]) -> str:
    price = row.get("limit_price") or row.get("stop_price")
    at = f" @ {price:g}" if isinstance(price, float) else ""
    side, qty, symbol = row.get("side"), row.get("quantity"), row.get("symbol")
    amount = f"{qty:g}" if isinstance(qty, float | int) else "?"
    return f"order {row.get('order_id')} {side} {amount} {symbol}{at}: {row.get('status')}"


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, int | float | str | None) else str(v)) for k, v in row.items()}
