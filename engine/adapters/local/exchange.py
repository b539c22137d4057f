"""LocalExchange: the local exchange as an object — start it, use it, stop it.

It runs its aiohttp server and replay driver on an event loop in a background thread, so
a test (or a notebook) can point real ccxt clients at it and command it from the calling
thread::

    exchange = LocalExchange(frames, instruments, secret="s3cret", paused=True)
    urls = exchange.start()          # {"http": "http://127.0.0.1:PORT", "ws": "ws://..."}
    exchange.advance(3)              # three replay steps (bar boundaries)
    exchange.faults.not_found(2)     # the next order is "missing" for two look-ups
    exchange.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from engine.adapters.local.faults import Faults
from engine.adapters.local.futures import FuturesVenue
from engine.adapters.local.replay import Replay
from engine.adapters.local.server import ExchangeApp
from engine.adapters.local.venue import Venue
from engine.errors import ConfigError
from engine.feeds import BarFrame
from engine.model import Instrument
from engine.portfolio.accounts import FundingRates

__all__ = ["LocalExchange", "ccxt_urls"]


def ccxt_urls(http: str, ws: str) -> dict[str, Any]:
    """Return the ``exchange.urls['api']`` that sends every ccxt binance call to the server."""
    urls: dict[str, Any] = {
        "public": f"{http}/api/v3",
        "private": f"{http}/api/v3",
        "v1": f"{http}/api/v1",
        # "linear": ccxt.pro turns it into USDⓈ-M's /market/ws, /public/ws, /private/ws
        "ws": {"spot": f"{ws}/ws", "linear": f"{ws}/ws", "ws-api": {"spot": f"{ws}/ws-api/v3"}},
    }
    for version in ("", "V2", "V3"):  # USDⓈ-M futures (served by an exchange of perpetuals)
        number = version.lower() or "v1"
        urls[f"fapiPublic{version}"] = f"{http}/fapi/{number}"
        urls[f"fapiPrivate{version}"] = f"{http}/fapi/{number}"
    return urls


class LocalExchange:
    """A Binance-like spot (or USDⓈ-M perpetuals) exchange on 127.0.0.1 replaying ``frames``."""

    def __init__(
        self,
        frames: Sequence[BarFrame],
        instruments: dict[str, Instrument],
        *,
        balances: dict[str, float] | None = None,
        secret: str = "local-secret",
        speed: float | None = None,
        paused: bool = False,
        history: int = 500,
        fee_rate: float = 0.001,
        touch: bool = False,
        quote: str = "USDT",
        host: str = "127.0.0.1",
        port: int = 0,
        perpetual: bool = False,
        funding: Mapping[str, FundingRates] | None = None,
        fee_asset: str = "quote",
    ) -> None:
        """Prepare the exchange (nothing listens until `start`).

        Args:
            frames: One bar frame per symbol to replay.
            instruments: Venue rules (tick, lot, minimums) per symbol of ``frames``.
            balances: Free balance per asset at the start (default 10,000 of ``quote``).
            secret: The API secret signatures are checked with (any API key is accepted).
            speed: Replay seconds per wall second; None replays as fast as clients read.
            paused: Start with the replay clock stopped (`advance` / `resume` move it).
            history: Closed bars already there at the start.
            fee_rate: Fee as a fraction of what is traded (in the asset ``fee_asset`` says).
            touch: Resting limits fill when the price only reaches them (default: through).
            quote: The asset of the default balance (assets of symbols come from
                ``instruments``: the base before the ``/``, the quote its ``quote_currency``).
            host: Interface to listen on.
            port: TCP port (0: any free port).
            perpetual: Replay the symbols as Binance USDⓈ-M perpetuals instead of spot: a
                USDT wallet and one-way positions (`engine.adapters.local.futures`), served
                under ``/fapi`` (`engine.adapters.local.fapi`).
            funding: Funding rates per symbol (perpetuals only): the positions pay them
                at bar closes, as the backtest does.
            fee_asset: ``"quote"`` (every fee in the quote asset, the backtest's arithmetic)
                or ``"received"`` (spot only: in the asset the trade brings in, as Binance
                charges without BNB — a buy's fee in the base asset).
        """
        missing = [f.symbol for f in frames if f.symbol not in instruments]
        if missing or not frames:
            raise ConfigError(f"local exchange: no instrument for {missing or 'any symbol'}")
        if speed is not None and not speed > 0:
            raise ConfigError(f"local exchange: speed must be > 0 or max, got {speed}")
        self.faults = Faults()
        self.replay = Replay(frames, history=history)
        markets = {s: instruments[s] for s in self.replay.markets}
        wallet = balances if balances is not None else {quote: 10_000.0}
        if funding and not perpetual:
            raise ConfigError("local exchange: funding rates need perpetual=True")
        if fee_asset not in ("quote", "received"):
            raise ConfigError(
                f"local exchange: fee_asset must be 'quote' or 'received', got {fee_asset!r}"
            )
        if fee_asset == "received" and perpetual:
            raise ConfigError(
                "local exchange: fee_asset='received' is for spot (USDⓈ-M perpetuals charge "
                "fees in the margin asset)"
            )
        self.venue: Venue
        if perpetual:
            self.venue = FuturesVenue(
                self.replay, markets, wallet, self.faults, fee_rate, touch, funding
            )
        else:
            received = fee_asset == "received"
            self.venue = Venue(self.replay, markets, wallet, self.faults, fee_rate, touch, received)
        self.secret = secret
        self._options = (speed, paused, host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app: ExchangeApp | None = None
        self._stopping: asyncio.Event | None = None
        self.urls: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        """Start serving in a background thread; return ``{"http": ..., "ws": ...}``."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(ready))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="local-exchange", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise ConfigError(f"local exchange: cannot start: {failure[0]}")
        return dict(self.urls)

    async def _serve(self, ready: threading.Event) -> None:
        speed, paused, host, port = self._options
        app = ExchangeApp(self.replay, self.venue, self.faults, self.secret, speed, paused)
        self._app = app
        self._stopping = asyncio.Event()
        runner = web.AppRunner(app.app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        self.urls = {"http": f"http://{host}:{bound}", "ws": f"ws://{host}:{bound}"}
        driver = asyncio.ensure_future(app.drive())
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            driver.cancel()
            # awaited, so it is finished before the loop closes (no "Task was destroyed
            # but it is pending!" at exit when stopped mid-wait)
            with contextlib.suppress(asyncio.CancelledError):
                await driver
            await app.hub.drop_all()
            await runner.cleanup()

    def ccxt_urls(self) -> dict[str, Any]:
        """Return the ``exchange.urls['api']`` for ccxt's binance (see module `ccxt_urls`)."""
        return ccxt_urls(self.urls["http"], self.urls["ws"])

    def _call(self, coroutine: Any) -> Any:
        if self._loop is None:
            raise RuntimeError("the local exchange is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def advance(self, steps: int = 1) -> int:
        """Step the replay ``steps`` boundaries (bar opens/closes); return the new clock (ms)."""

        async def go() -> int:
            assert self._app is not None
            for _ in range(steps):
                if not await self._app.step():
                    break
            return self.replay.now_ms

        result: int = self._call(go())
        return result

    def advance_to_close(self) -> list[tuple[str, int]]:
        """Step the replay until a bar closes (or the replay ends); return the bars that closed.

        Returns:
            ``(symbol, close time in ns)`` of each bar that closed at the new clock, in
            symbol order; empty once the replay is finished (its last bar never closes).
            Boundaries where bars only open (a gap, or a shorter timeframe's open inside a
            longer one's bar) are stepped through.
        """

        async def go() -> list[tuple[str, int]]:
            assert self._app is not None
            while await self._app.step():
                closed = self.replay.closing_at(self.replay.now_ms)
                if closed:
                    return closed
            return []

        result: list[tuple[str, int]] = self._call(go())
        return result

    def pause(self) -> None:
        """Stop the replay clock."""

        async def go() -> None:
            assert self._app is not None
            self._app.running.clear()

        self._call(go())

    def resume(self) -> None:
        """Restart the replay clock."""

        async def go() -> None:
            assert self._app is not None
            self._app.running.set()

        self._call(go())

    def listening(self, streams: Sequence[str] = (), user: bool = False) -> bool:
        """Return True when each of ``streams`` (name prefixes) has a websocket listening.

        With ``user``, a user-data stream must be listening too. Thread-safe: the question
        is answered on the exchange's own loop.
        """

        async def ask() -> bool:
            assert self._app is not None
            connections = self._app.hub.connections
            if user and not any(connection.user for connection in connections):
                return False
            return all(
                any(name.startswith(stream) for c in connections for name in c.streams)
                for stream in streams
            )

        return bool(self._call(ask()))

    def connections_opened(self) -> int:
        """Return how many websockets the exchange has served since it started.

        A drop (`inject` ``ws_drop``) shows here even when the client re-dials between two
        watches and its feed never sees an error.
        """

        async def ask() -> int:
            assert self._app is not None
            return self._app.hub.opened

        return int(self._call(ask()))

    def wait_for_listener(
        self, stream: str = "", user: bool = False, timeout_s: float = 10.0
    ) -> None:
        """Block until a websocket listens to a stream starting with ``stream`` (or user data).

        Tests call it between starting a ``watch_*`` and stepping the replay, so the step's
        messages are not sent before the client has subscribed.

        Raises:
            TimeoutError: If no such listener appears within ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        while not self.listening(() if user else (stream,), user=user):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no websocket listens to {stream or 'user data'!r}")
            time.sleep(0.02)

    def inject(self, kind: str, **spec: Any) -> None:
        """Arm a fault by kind, as ``POST /_admin/fault`` does (see `faults`)."""
        assert self._app is not None
        self._call(self._app.arm({"kind": kind, **spec}))

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        if self._loop is None or self._stopping is None:
            return
        self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._loop = None

    def __enter__(self) -> LocalExchange:
        """Start on entering a ``with`` block."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving it."""
        self.stop()
