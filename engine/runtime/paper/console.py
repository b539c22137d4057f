"""What a running paper account shows: a live console view and a JSON-lines log file.

In: the `PaperSession` (its portfolio and open orders) and the changes each input caused.
Out: a compact rich view redrawn in place on a terminal (positions, cash, equity and PnL,
open orders, the last events), nothing when stdout is not a terminal; and one JSON object
per line appended to ``events.jsonl`` in the account's folder, for every start, resume,
bar, order change, fill and stop, with the wall time (``time``) and the event time
(``ts_event``, ISO-8601 UTC). A SIGKILL can cut the last line short: the next start ends
it with a newline first, so every complete line stays parseable. At the end
(`summarize`): the ``stop`` record (counts, cash, equity, positions, the feed's stats,
the gaps per symbol) and the one-line summary on stdout.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from engine.report.artifacts import iso
from engine.runtime.paper.session import Change, PaperSession

if TYPE_CHECKING:
    from engine.adapters.ccxt.feed import FeedStats

__all__ = ["JsonLog", "LiveView", "summarize"]

REDRAW_S = 0.1  # at most ten redraws a second, however fast bars come


class JsonLog:
    """Append-only JSON lines in ``path`` (folders created)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a+b")
        self._file.seek(0, 2)
        if self._file.tell() > 0:  # a line cut short by a kill: end it
            self._file.seek(-1, 2)
            if self._file.read(1) != b"\n":
                self._file.write(b"\n")

    def write(self, kind: str, ts_event: int | None = None, **data: Any) -> None:
        """Append one event (flushed at once: a kill loses at most this line)."""
        record: dict[str, Any] = {"time": datetime.now(tz=UTC).isoformat(), "kind": kind}
        if ts_event is not None:
            record["ts_event"] = iso(ts_event)
        record.update(data)
        self._file.write(json.dumps(record, default=str).encode() + b"\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class LiveView:
    """The console view; inert when ``enabled`` is False (stdout not a terminal)."""

    def __init__(self, session: PaperSession, *, enabled: bool, console: Console | None = None):
        self.session = session
        self.enabled = enabled
        self.events: deque[str] = deque(maxlen=8)
        self._live: Live | None = None
        self._drawn = 0.0  # monotonic time of the last redraw
        self._console = console or Console()

    def start(self) -> None:
        """Start redrawing (on a terminal)."""
        if self.enabled:
            self._live = Live(self.render(), console=self._console, auto_refresh=False)
            self._live.start()

    def note(self, text: str) -> None:
        """Add a line to the last events."""
        self.events.append(text)

    def update(self, changes: Iterable[Change], bar_text: str | None = None) -> None:
        """Record ``changes`` and redraw."""
        if bar_text is not None:
            self.events.append(bar_text)
        for change in changes:
            if change.kind == "fill" or change.data.get("status") not in ("accepted", "approved"):
                self.events.append(change.text)
        now = time.monotonic()
        if self._live is not None and now - self._drawn >= REDRAW_S:  # catch-up: not per bar
            self._live.update(self.render(), refresh=True)
            self._drawn = now

    def stop(self) -> None:
        """Stop redrawing (the last frame, up to date, stays on screen)."""
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
            self._live.stop()
            self._live = None

    def render(self) -> Group:
        """Return the view: headline, positions, open orders, last events."""
        session = self.session
        kernel = session.node.kernel
        portfolio = kernel.portfolio
        initial = session.config.account.initial_cash
        equity = portfolio.equity()
        pnl = equity - initial
        head = Text(
            f"paper account {session.account.name}  cash {portfolio.cash:,.2f}  "
            f"equity {equity:,.2f}  PnL {pnl:+,.2f} ({pnl / initial:+.2%})  "
            f"bars {session.replayed + session.processed:,}"
        )
        positions = Table("symbol", "quantity", "avg price", "last", title="positions")
        for symbol in session.config.symbols:
            position = portfolio.positions.get(symbol)
            if position is None or position.quantity == 0:
                continue
            last = portfolio.last_price(symbol)
            positions.add_row(
                symbol, f"{position.quantity:g}", f"{position.average_price:,.2f}", f"{last:,.2f}"
            )
        orders = Table("id", "symbol", "side", "type", "quantity", "price", title="open orders")
        for order in kernel.execution.all_open_orders():
            price = order.limit_price if order.limit_price is not None else order.stop_price
            orders.add_row(
                order.order_id,
                order.symbol,
                str(order.side),
                str(order.order_type),
                f"{order.quantity:g}",
                "" if price is None else f"{price:,.2f}",
            )
        events = Text("\n".join(self.events) or "(none yet)")
        return Group(head, positions, orders, Text("last events:"), events)


def summarize(
    session: PaperSession,
    reason: str,
    log: JsonLog,
    url: str,
    feed: FeedStats,
    late_ticks: int,
    gaps: Mapping[str, int],
) -> None:
    """Write the ``stop`` record and print the one-line summary of a session's end."""
    kernel = session.node.kernel
    portfolio = kernel.portfolio
    positions = {
        s: portfolio.positions[s].quantity
        for s in session.config.symbols
        if portfolio.positions[s].quantity
    }
    open_orders = len(kernel.execution.all_open_orders())
    log.write(
        "stop",
        reason=reason,
        bars=session.processed,
        ticks=session.ticks,
        timer_firings=session.timers,
        cash=portfolio.cash,
        equity=portfolio.equity(),
        positions=positions,
        open_orders=open_orders,
        # what the feed went through (websocket drops and stalls, bars by REST and stream)
        feed=dataclasses.asdict(feed),
        late_ticks=late_ticks,  # dropped: they came after a later event had been processed
        gaps=dict(gaps),  # runs of missing bars per symbol (`engine.runtime.paper.gaps`)
    )
    held = ", ".join(f"{s} {q:g}" for s, q in positions.items()) or "flat"
    ticks = f", {session.ticks} trades/quotes" if session.ticks else ""
    print(
        f"paper account {session.account.name} stopped ({reason}): {session.processed} new "
        f"bars{ticks}, {len(kernel.recorder.fills)} fills, cash {portfolio.cash:,.2f}, equity "
        f"{portfolio.equity():,.2f}, {held}, {open_orders} open orders; stored in {url} as "
        f"run {session.account.run_id}",
        flush=True,
    )
